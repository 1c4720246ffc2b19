#include "providers/openai_compat.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <vector>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace sy::providers {

namespace {

using codec::JsonMember;
using codec::JsonType;

// OpenAI's own wording for a body that is not JSON (the SDKs and clients match on its start).
constexpr std::string_view kUnparsable =
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The API expects a JSON payload, but what was sent was "
    "not valid JSON: ";

// How OpenAI names a JSON type in "expected X, but got Y instead".
std::string_view type_phrase(const JsonMember& m, std::string_view body) {
  switch (m.type) {
    case JsonType::Object: return "an object";
    case JsonType::Array: return "an array";
    case JsonType::String: return "a string";
    case JsonType::True:
    case JsonType::False: return "a boolean";
    case JsonType::Null: return "null";
    case JsonType::Number:
      return m.raw(body).find_first_of(".eE") == std::string_view::npos ? "an integer"
                                                                         : "a decimal";
  }
  return "a value";
}

Error invalid_type(std::string_view param, std::string_view expected, const JsonMember& m,
                   std::string_view body) {
  return make_error(ErrorKind::InvalidRequest,
                    "Invalid type for '" + std::string(param) + "': expected " +
                        std::string(expected) + ", but got " +
                        std::string(type_phrase(m, body)) + " instead.",
                    "invalid_type", std::string(param));
}

Error missing_parameter(std::string_view param, std::string message) {
  return make_error(ErrorKind::InvalidRequest, std::move(message), "missing_required_parameter",
                    std::string(param));
}

// A body that is not a JSON object: either not JSON at all, or JSON of another type.
Error unparsable_body(std::string_view body, const Error& scan_error) {
  if (const auto valid = codec::validate_json(body); valid) {
    static constexpr std::array<std::string_view, 7> kNames = {
        "an object", "an array", "a string", "a number", "a boolean", "a boolean", "null"};
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid type for the request body: expected an object, but got " +
                          std::string(kNames[static_cast<std::size_t>(valid.value())]) +
                          " instead.",
                      "invalid_type");
  }
  Error e = make_error(ErrorKind::InvalidRequest,
                       std::string(kUnparsable) + scan_error.public_message + ".)",
                       "invalid_json");
  e.detail = scan_error.public_message;
  return e;
}

// "[ ]" and "{}" (a validated container's raw bytes) have nothing but whitespace inside.
bool is_empty_container(std::string_view raw) {
  return raw.size() >= 2 &&
         raw.substr(1, raw.size() - 2).find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A key the gateway acts on must appear once: with two "model" members the gateway would route
// on one while an upstream whose parser keeps the first duplicate served the other (and with two
// include_usage members it could skip the usage chunk the ledger relies on).
std::optional<Error> reject_duplicates(const codec::JsonObjectScan& scan,
                                       std::initializer_list<std::string_view> keys,
                                       std::string_view prefix) {
  for (const std::string_view key : keys) {
    const auto n = std::count_if(scan.members.begin(), scan.members.end(),
                                 [&](const JsonMember& m) { return m.key == key; });
    if (n > 1) {
      const std::string param = std::string(prefix) + std::string(key);
      return make_error(ErrorKind::InvalidRequest,
                        "Duplicate parameter '" + param + "': it may appear only once.",
                        "duplicate_parameter", param);
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> token_count(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64() && v->get_int64() >= 0) {
    return v->get_int64();
  }
  if (v->is_uint64() && v->get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;  // negative, fractional or not a number: not a usable count
}

std::optional<std::int64_t> nested_count(const boost::json::object& obj, std::string_view outer,
                                         std::string_view key) {
  const boost::json::value* v = obj.if_contains(outer);
  if (v == nullptr || !v->is_object()) {
    return std::nullopt;
  }
  return token_count(v->get_object(), key);
}

// `raw` is a validated JSON object: the "usage" member's bytes.
ir::Usage read_usage(std::string_view raw) {
  // The usage object is small: parse it into a stack buffer rather than the heap.
  std::array<unsigned char, 2048> buffer{};
  boost::json::monotonic_resource mr(buffer.data(), buffer.size());
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(raw, ec, &mr);
  ir::Usage usage;
  if (ec || !v.is_object()) {
    return usage;
  }
  const boost::json::object& obj = v.get_object();
  usage.input_tokens = token_count(obj, "prompt_tokens");  // includes cached tokens
  usage.output_tokens = token_count(obj, "completion_tokens");  // includes reasoning tokens
  usage.cached_input_tokens = nested_count(obj, "prompt_tokens_details", "cached_tokens");
  usage.reasoning_tokens = nested_count(obj, "completion_tokens_details", "reasoning_tokens");
  return usage;
}

// glibc's memmem is several times faster than string_view::find here, whose first-character
// scan stops at every '"' of a JSON text. This runs on every stream chunk.
std::size_t find_bytes(std::string_view haystack, std::string_view needle, std::size_t from) {
  if (from >= haystack.size()) {
    return std::string_view::npos;
  }
  const void* hit =
      ::memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  return hit == nullptr ? std::string_view::npos
                        : static_cast<std::size_t>(static_cast<const char*>(hit) - haystack.data());
}

// Whether `"key"` occurs in `data` as a member name whose value starts with '{'. A match of the
// quoted key cannot come from inside a string (its quotes would be escaped), so ordinary delta
// chunks, including the `"usage":null` that include_usage puts on every chunk, are ruled out
// without a parse.
bool mentions_object_member(std::string_view data, std::string_view quoted_key) {
  constexpr std::string_view kWs = " \t\r\n";
  for (std::size_t at = find_bytes(data, quoted_key, 0); at != std::string_view::npos;
       at = find_bytes(data, quoted_key, at + 1)) {
    std::size_t i = data.find_first_not_of(kWs, at + quoted_key.size());
    if (i == std::string_view::npos || data[i] != ':') {
      continue;
    }
    i = data.find_first_not_of(kWs, i + 1);
    if (i != std::string_view::npos && data[i] == '{') {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<ChatRequestInfo> inspect_chat_request(std::string_view body) {
  auto scanned = codec::scan_object(body);
  if (!scanned) {
    return unparsable_body(body, scanned.error());
  }
  ChatRequestInfo info;
  info.scan = std::move(scanned.value());
  const codec::JsonObjectScan& scan = info.scan;

  if (auto dup = reject_duplicates(scan, {"model", "messages", "stream", "stream_options"}, "")) {
    return *dup;
  }

  const JsonMember* model = scan.find("model");
  if (model == nullptr) {
    return missing_parameter("model", "Missing required parameter: 'model'.");
  }
  if (model->type != JsonType::String) {
    return invalid_type("model", "a string", *model, body);
  }
  info.model = codec::json_unescape(model->raw(body));
  if (info.model.empty()) {
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid 'model': empty string. Expected a string with minimum length 1, "
                      "but got an empty string instead.",
                      "empty_string", "model");
  }

  const JsonMember* messages = scan.find("messages");
  if (messages == nullptr) {
    return missing_parameter("messages", "'messages' is a required property");
  }
  if (messages->type != JsonType::Array) {
    return invalid_type("messages", "an array of objects", *messages, body);
  }
  if (is_empty_container(messages->raw(body))) {
    // Verbatim from OpenAI (fixtures/openai/chat-no-messages.response.json).
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                      "but got an empty array instead.",
                      "empty_array", "messages");
  }

  // Optional parameters may be null, which OpenAI treats as absent.
  if (const JsonMember* stream = scan.find("stream"); stream != nullptr) {
    if (stream->type != JsonType::True && stream->type != JsonType::False &&
        stream->type != JsonType::Null) {
      return invalid_type("stream", "a boolean", *stream, body);
    }
    info.stream = stream->type == JsonType::True;
  }

  if (const JsonMember* opts = scan.find("stream_options"); opts != nullptr) {
    if (opts->type == JsonType::Object) {
      const std::string_view raw = opts->raw(body);
      const auto inner = codec::scan_object(raw);
      if (!inner) {
        return unparsable_body(body, inner.error());  // unreachable: validated above
      }
      if (auto dup = reject_duplicates(*inner, {"include_usage"}, "stream_options.")) {
        return *dup;
      }
      if (const JsonMember* iu = inner->find("include_usage"); iu != nullptr) {
        if (iu->type != JsonType::True && iu->type != JsonType::False &&
            iu->type != JsonType::Null) {
          return invalid_type("stream_options.include_usage", "a boolean", *iu, raw);
        }
        info.include_usage = iu->type == JsonType::True;
      }
    } else if (opts->type != JsonType::Null) {
      return invalid_type("stream_options", "an object", *opts, body);
    }
  }

  if (const JsonMember* tools = scan.find("tools"); tools != nullptr) {
    info.has_tools = tools->type == JsonType::Array && !is_empty_container(tools->raw(body));
  }
  return info;
}

std::string rewrite_chat_request(std::string_view body, const ChatRequestInfo& info,
                                 std::string_view upstream_model, bool force_include_usage) {
  struct Edit {
    std::size_t offset;  // in body
    std::size_t length;  // bytes of body replaced (0 = insertion)
    std::string text;
  };
  std::vector<Edit> edits;
  edits.reserve(2);

  if (const JsonMember* model = info.scan.find("model"); model != nullptr) {
    edits.push_back({model->value_offset, model->value_length, codec::json_quote(upstream_model)});
  }

  if (force_include_usage && info.stream && !info.include_usage) {
    const JsonMember* opts = info.scan.find("stream_options");
    if (opts != nullptr && opts->type == JsonType::Object) {
      const auto inner = codec::scan_object(opts->raw(body));
      if (inner) {
        if (const JsonMember* iu = inner->find("include_usage"); iu != nullptr) {
          // false or null: flip the value in place.
          edits.push_back({opts->value_offset + iu->value_offset, iu->value_length, "true"});
        } else {
          // Add it as the first member so no other byte of the object moves.
          const std::size_t after_brace = opts->value_offset + inner->open_brace + 1;
          edits.push_back({after_brace, 0,
                           inner->members.empty() ? "\"include_usage\":true"
                                                  : "\"include_usage\":true,"});
        }
      }
    } else if (opts != nullptr) {
      edits.push_back({opts->value_offset, opts->value_length, "{\"include_usage\":true}"});
    } else if (!info.scan.members.empty()) {
      // Append after the last member's value, leaving the whitespace before '}' in place.
      const JsonMember& last = info.scan.members.back();
      edits.push_back({last.value_offset + last.value_length, 0,
                       ",\"stream_options\":{\"include_usage\":true}"});
    }
  }

  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
  std::size_t extra = 0;
  for (const Edit& e : edits) {
    extra += e.text.size();
  }
  std::string out;
  out.reserve(body.size() + extra);
  std::size_t cursor = 0;
  for (const Edit& e : edits) {
    // `info` must come from inspect_chat_request(body); skip an edit that does not fit rather
    // than read out of bounds if a caller mixes bodies up.
    if (e.offset < cursor || e.offset + e.length > body.size()) {
      continue;
    }
    out.append(body.substr(cursor, e.offset - cursor));
    out.append(e.text);
    cursor = e.offset + e.length;
  }
  out.append(body.substr(cursor));
  return out;
}

std::optional<ir::Usage> usage_from_openai(std::string_view json) {
  const auto scan = codec::scan_object(json);
  if (!scan) {
    return std::nullopt;
  }
  const JsonMember* usage = scan->find("usage");
  if (usage == nullptr || usage->type != JsonType::Object) {
    return std::nullopt;
  }
  return read_usage(usage->raw(json));
}

ChunkInfo inspect_chunk(std::string_view data) {
  ChunkInfo info;
  constexpr std::string_view kWs = " \t\r\n";
  const std::size_t first = data.find_first_not_of(kWs);
  if (first == std::string_view::npos) {
    return info;
  }
  data = data.substr(first, data.find_last_not_of(kWs) - first + 1);
  if (data == "[DONE]") {
    info.done = true;
    return info;
  }
  const bool maybe_usage = mentions_object_member(data, "\"usage\"");
  const bool maybe_error = mentions_object_member(data, "\"error\"");
  if (!maybe_usage && !maybe_error) {
    return info;  // an ordinary delta chunk: no parse
  }
  // Confirm at the top level (a nested "usage" or "error" object does not count).
  const auto scan = codec::scan_object(data);
  if (!scan) {
    return info;
  }
  if (const JsonMember* error = scan->find("error");
      error != nullptr && error->type == JsonType::Object) {
    info.is_error = true;
  }
  if (const JsonMember* usage = scan->find("usage");
      usage != nullptr && usage->type == JsonType::Object) {
    info.usage = read_usage(usage->raw(data));
    const JsonMember* choices = scan->find("choices");
    info.usage_only = choices != nullptr && choices->type == JsonType::Array &&
                      is_empty_container(choices->raw(data));
  }
  return info;
}

}  // namespace sy::providers

namespace sy::providers {

namespace {

bool raw_is_true(std::string_view raw) { return raw == "true"; }

bool messages_have_image(std::string_view messages_raw) {
  if (messages_raw.find("image_url") == std::string_view::npos) {
    return false;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(messages_raw, ec);
  if (ec || !v.is_array()) {
    return false;
  }
  for (const auto& m : v.as_array()) {
    const auto* mo = m.if_object();
    const auto* content = mo ? mo->if_contains("content") : nullptr;
    if (!content || !content->is_array()) {
      continue;
    }
    for (const auto& part : content->as_array()) {
      const auto* po = part.if_object();
      const auto* type = po ? po->if_contains("type") : nullptr;
      if (type && type->is_string() && type->as_string() == "image_url") {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::vector<ir::Feature> required_features_fast(std::string_view body,
                                                const ChatRequestInfo& info) {
  std::vector<ir::Feature> out;
  const auto& scan = info.scan;
  if (info.has_tools) {
    out.push_back(ir::Feature::Tools);
    if (const auto* m = scan.find("parallel_tool_calls"); m && raw_is_true(m->raw(body))) {
      out.push_back(ir::Feature::ParallelToolCalls);
    }
  }
  if (const auto* m = scan.find("messages"); m && messages_have_image(m->raw(body))) {
    out.push_back(ir::Feature::Vision);
  }
  if (const auto* m = scan.find("response_format"); m && m->type == codec::JsonType::Object) {
    const auto raw = m->raw(body);
    if (raw.find("\"json_schema\"") != std::string_view::npos) {
      out.push_back(ir::Feature::JsonSchema);
    } else if (raw.find("\"json_object\"") != std::string_view::npos) {
      out.push_back(ir::Feature::JsonObject);
    }
  }
  const auto* logprobs = scan.find("logprobs");
  const auto* top_logprobs = scan.find("top_logprobs");
  if ((logprobs && raw_is_true(logprobs->raw(body))) ||
      (top_logprobs && top_logprobs->type == codec::JsonType::Number)) {
    out.push_back(ir::Feature::Logprobs);
  }
  if (const auto* m = scan.find("n"); m && m->type == codec::JsonType::Number) {
    const auto raw = m->raw(body);
    if (raw != "1" && raw != "0" && raw.front() != '-' && raw.substr(0, 2) != "1." &&
        raw.substr(0, 2) != "0.") {
      out.push_back(ir::Feature::MultipleChoices);
    }
  }
  if (const auto* m = scan.find("reasoning_effort"); m && m->type == codec::JsonType::String) {
    out.push_back(ir::Feature::Reasoning);
  }
  return out;
}

}  // namespace sy::providers
