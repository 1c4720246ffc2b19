#include "providers/gemini.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "codec/json_scan.h"
#include "codec/json_util.h"
#include "codec/sse.h"

namespace sy::providers {

namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// JSON helpers

// Compact JSON text. Unlike boost::json::serialize, doubles are written in their shortest
// round-trip decimal form ("21.5", not "2.15E1") and keep a fraction ("0.0"), so tool arguments
// reach clients as the model wrote them and 0.0 stays a float on the wire. That ".0" is why this
// writer is not codec::write_json, which writes 0.0 as "0".
void write_json(std::string& out, const json::value& v);

void write_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN/Inf; only reachable from a hand-built IR value
    return;
  }
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  const std::string_view text(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) {
    out += ".0";
  }
}

void write_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) {
          out += ',';
        }
        first = false;
        out += codec::json_quote(kv.key());
        out += ':';
        write_json(out, kv.value());
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) {
          out += ',';
        }
        first = false;
        write_json(out, e);
      }
      out += ']';
      return;
    }
    case json::kind::string: out += codec::json_quote(v.get_string()); return;
    case json::kind::int64: out += std::to_string(v.get_int64()); return;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); return;
    case json::kind::double_: write_double(out, v.get_double()); return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::null: out += "null"; return;
  }
}

std::string to_text(const json::value& v) {
  std::string out;
  write_json(out, v);
  return out;
}

using codec::array_at;
using codec::count_at;
using codec::object_at;
using codec::parse_json;
using codec::string_or_empty;

std::optional<json::object> parse_object(std::string_view text) {
  auto v = parse_json(text);
  if (!v || !v->is_object()) {
    return std::nullopt;
  }
  return std::move(v->get_object());
}

bool member_true(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

Error invalid(std::string message, std::string param) {
  return make_error(ErrorKind::InvalidRequest, std::move(message), {}, std::move(param));
}

std::string at(std::string_view prefix, std::size_t i) {
  return std::string(prefix) + "[" + std::to_string(i) + "]";
}

// ---------------------------------------------------------------------------------------------
// Request: ChatRequest -> GenerateContentRequest (https://ai.google.dev/api/generate-content)

// RFC 3986 unreserved characters plus '/', which separates "tunedModels/x" segments.
std::string percent_encode_path(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                       c == '/';
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// "models/{model}:generateContent". A target may name the resource itself ("models/x",
// "tunedModels/x"); a bare id means models/{id}.
std::string request_path(std::string_view model, bool stream) {
  std::string resource;
  if (model.starts_with("models/") || model.starts_with("tunedModels/")) {
    resource = percent_encode_path(model);
  } else {
    resource = "models/" + percent_encode_path(model);
  }
  return "/v1beta/" + resource +
         (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
}

// Gemini reads fileData.mimeType when given; a URL whose extension names a supported image
// (or PDF) type gets it, other URLs are left for Google to sniff.
std::string mime_from_url(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const auto dot = url.rfind('.');
  if (dot == std::string_view::npos || url.find('/', dot) != std::string_view::npos) {
    return {};
  }
  std::string ext(url.substr(dot + 1));
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"png", "image/png"},   {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
      {"webp", "image/webp"}, {"gif", "image/gif"},  {"heic", "image/heic"},
      {"heif", "image/heif"}, {"pdf", "application/pdf"}};
  const auto it = kTypes.find(ext);
  return it == kTypes.end() ? std::string() : it->second;
}

// Part.inlineData (Blob) for inline bytes and data: URLs, Part.fileData for other URLs
// (https://ai.google.dev/api/caching#Part). The gateway never downloads a URL itself.
Result<json::object> image_part(const ir::ImagePart& img, const std::string& param) {
  if (!img.data.empty()) {
    if (img.media_type.empty()) {
      return invalid("An inline image needs its media type.", param);
    }
    return json::object{{"inlineData", json::object{{"mimeType", img.media_type},
                                                    {"data", img.data}}}};
  }
  const std::string_view url = img.url;
  if (url.starts_with("data:")) {
    const auto comma = url.find(',');
    const std::string_view meta = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
    if (comma == std::string_view::npos || !meta.ends_with(";base64")) {
      return invalid("An image data: URL must be base64 (data:<type>;base64,<data>).", param);
    }
    std::string mime(meta.substr(0, meta.size() - 7));
    if (mime.empty()) {
      mime = img.media_type;
    }
    return json::object{{"inlineData", json::object{{"mimeType", mime},
                                                    {"data", url.substr(comma + 1)}}}};
  }
  if (url.empty()) {
    return invalid("An image needs a URL or inline data.", param);
  }
  json::object file;
  std::string mime = img.media_type.empty() ? mime_from_url(url) : img.media_type;
  if (!mime.empty()) {
    file["mimeType"] = mime;
  }
  file["fileUri"] = url;
  return json::object{{"fileData", std::move(file)}};
}

// FunctionResponse.response must be an object: a result that is a JSON object is sent as is,
// anything else is wrapped as {"result": text}, or {"error": text} for a failed call (the
// documented key for error details, https://ai.google.dev/api/caching#FunctionResponse).
json::object function_response_body(const ir::ToolResultPart& r) {
  if (auto o = parse_object(r.content)) {
    return std::move(*o);
  }
  return json::object{{r.is_error ? "error" : "result", r.content}};
}

class ContentsBuilder {
 public:
  // Appends one turn. Empty turns are dropped (Gemini rejects a Content without parts), and a
  // turn with the same role as the previous one is merged into it: parallel function results
  // arrive as one Tool message each but belong in one Content.
  void add(std::string_view role, json::array parts) {
    if (parts.empty()) {
      return;
    }
    if (!contents_.empty()) {
      auto& last = contents_.back().get_object();
      if (last.at("role").get_string() == role) {
        auto& last_parts = last.at("parts").get_array();
        for (auto& p : parts) {
          last_parts.push_back(std::move(p));
        }
        return;
      }
    }
    contents_.push_back(json::object{{"parts", std::move(parts)}, {"role", role}});
  }
  json::array take() { return std::move(contents_); }

 private:
  json::array contents_;
};

class RequestEncoder {
 public:
  explicit RequestEncoder(const ir::ChatRequest& req) : req_(req) {}

  Result<json::object> body() {
    json::object body;
    ContentsBuilder contents;
    json::array system;
    for (const auto& s : req_.system) {
      system.push_back(json::object{{"text", s}});
    }
    for (std::size_t i = 0; i < req_.messages.size(); ++i) {
      const ir::Message& m = req_.messages[i];
      const std::string param = at("messages", i);
      if (m.role == ir::Role::System) {
        for (const auto& p : m.content) {
          if (const auto* t = std::get_if<ir::TextPart>(&p)) {
            system.push_back(json::object{{"text", t->text}});
          }
        }
        continue;
      }
      auto parts = m.role == ir::Role::Assistant ? model_parts(m, param) : user_parts(m, param);
      if (!parts) {
        return parts.error();
      }
      contents.add(m.role == ir::Role::Assistant ? "model" : "user", std::move(*parts));
    }
    body["contents"] = contents.take();
    if (!system.empty()) {
      body["systemInstruction"] = json::object{{"parts", std::move(system)}};
    }
    if (auto r = tools(body); !r) {
      return r.error();
    }
    auto config = generation_config();
    if (!config) {
      return config.error();
    }
    if (!config->empty()) {
      body["generationConfig"] = std::move(*config);
    }
    return body;
  }

 private:
  // A user or tool turn: text, images and functionResponse parts.
  Result<json::array> user_parts(const ir::Message& m, const std::string& param) {
    json::array parts;
    for (std::size_t j = 0; j < m.content.size(); ++j) {
      const ir::Part& p = m.content[j];
      const std::string pparam = at(param + ".content", j);
      if (const auto* t = std::get_if<ir::TextPart>(&p)) {
        parts.push_back(json::object{{"text", t->text}});
      } else if (const auto* img = std::get_if<ir::ImagePart>(&p)) {
        auto part = image_part(*img, pparam);
        if (!part) {
          return part.error();
        }
        parts.push_back(std::move(*part));
      } else if (const auto* r = std::get_if<ir::ToolResultPart>(&p)) {
        // Gemini matches a result to its call by function name (and id when sent), so the
        // name comes from the assistant turn that made the call.
        const auto it = call_names_.find(r->tool_call_id);
        if (it == call_names_.end()) {
          return invalid("Tool result '" + r->tool_call_id +
                             "' does not answer a tool call of an earlier assistant message.",
                         pparam + ".tool_call_id");
        }
        json::object fr;
        if (!r->tool_call_id.empty()) {
          fr["id"] = r->tool_call_id;
        }
        fr["name"] = it->second;
        fr["response"] = function_response_body(*r);
        parts.push_back(json::object{{"functionResponse", std::move(fr)}});
      } else if (std::holds_alternative<ir::ToolCallPart>(p)) {
        return invalid("Only assistant messages can contain tool calls.", pparam);
      }
      // ReasoningPart in a user turn: nothing Gemini could read; dropped.
    }
    return parts;
  }

  // A model turn. Gemini does not take thought text back, but every thoughtSignature must be
  // returned on the part that carried it (https://ai.google.dev/gemini-api/docs/thinking
  // #signatures). Decoding puts a text part's signature on a ReasoningPart right before its
  // TextPart, so a signature is attached to an immediately following TextPart; otherwise it is
  // sent as an empty text part carrying the signature (how Gemini itself streams a trailing one).
  Result<json::array> model_parts(const ir::Message& m, const std::string& param) {
    json::array parts;
    std::string pending;
    const auto flush = [&] {
      if (!pending.empty()) {
        parts.push_back(json::object{{"text", ""}, {"thoughtSignature", pending}});
        pending.clear();
      }
    };
    for (std::size_t j = 0; j < m.content.size(); ++j) {
      const ir::Part& p = m.content[j];
      const std::string pparam = at(param + ".content", j);
      if (const auto* t = std::get_if<ir::TextPart>(&p)) {
        json::object part{{"text", t->text}};
        if (!pending.empty()) {
          part["thoughtSignature"] = std::move(pending);
          pending.clear();
        }
        parts.push_back(std::move(part));
      } else if (const auto* z = std::get_if<ir::ReasoningPart>(&p)) {
        flush();
        pending = z->signature;
      } else if (const auto* c = std::get_if<ir::ToolCallPart>(&p)) {
        flush();
        auto call = function_call(*c, pparam);
        if (!call) {
          return call.error();
        }
        parts.push_back(std::move(*call));
      } else if (const auto* img = std::get_if<ir::ImagePart>(&p)) {
        flush();
        auto part = image_part(*img, pparam);
        if (!part) {
          return part.error();
        }
        parts.push_back(std::move(*part));
      } else {
        return invalid("Tool results belong in tool messages, not assistant messages.", pparam);
      }
    }
    flush();
    return parts;
  }

  // {"functionCall":{"id","name","args"},"thoughtSignature"}: the signature is a sibling of
  // functionCall in the Part, as Gemini sent it.
  Result<json::object> function_call(const ir::ToolCallPart& c, const std::string& param) {
    json::object args;
    if (!c.arguments.empty()) {
      auto parsed = parse_object(c.arguments);
      if (!parsed) {
        return invalid("Tool call arguments must be a JSON object.", param + ".arguments");
      }
      args = std::move(*parsed);
    }
    call_names_[c.id] = c.name;
    json::object fc;
    if (!c.id.empty()) {
      fc["id"] = c.id;  // FunctionCall.id: echoed back on the FunctionResponse
    }
    fc["name"] = c.name;
    fc["args"] = std::move(args);
    json::object part{{"functionCall", std::move(fc)}};
    if (!c.signature.empty()) {
      part["thoughtSignature"] = c.signature;
    }
    return part;
  }

  // tools[].functionDeclarations with parametersJsonSchema (plain JSON Schema, as
  // @google/genai sends it) and toolConfig.functionCallingConfig
  // (https://ai.google.dev/api/caching#Tool, #ToolConfig).
  Result<void> tools(json::object& body) {
    if (req_.tools.empty()) {
      return {};
    }
    json::array decls;
    for (std::size_t i = 0; i < req_.tools.size(); ++i) {
      const ir::Tool& t = req_.tools[i];
      json::object d;
      d["name"] = t.name;
      if (!t.description.empty()) {
        d["description"] = t.description;
      }
      if (!t.parameters.empty()) {
        auto schema = parse_object(t.parameters);
        if (!schema) {
          return invalid("Tool parameters must be a JSON Schema object.",
                         at("tools", i) + ".parameters");
        }
        d["parametersJsonSchema"] = std::move(*schema);
      }
      decls.push_back(std::move(d));
    }
    body["tools"] = json::array{json::object{{"functionDeclarations", std::move(decls)}}};
    if (req_.tool_choice) {
      json::object fcc;
      switch (req_.tool_choice->mode) {
        case ir::ToolChoiceMode::Auto: fcc["mode"] = "AUTO"; break;
        case ir::ToolChoiceMode::None: fcc["mode"] = "NONE"; break;
        case ir::ToolChoiceMode::Required: fcc["mode"] = "ANY"; break;
        case ir::ToolChoiceMode::Function:
          if (req_.tool_choice->function.empty()) {
            return invalid("tool_choice names no function.", "tool_choice");
          }
          fcc["mode"] = "ANY";
          fcc["allowedFunctionNames"] = json::array{json::string(req_.tool_choice->function)};
          break;
      }
      body["toolConfig"] = json::object{{"functionCallingConfig", std::move(fcc)}};
    }
    return {};
  }

  // GenerationConfig (https://ai.google.dev/api/generate-content#generationconfig).
  Result<json::object> generation_config() const {
    json::object g;
    if (!req_.stop.empty()) {
      json::array stops;
      for (const auto& s : req_.stop) {
        stops.push_back(json::string(s));
      }
      g["stopSequences"] = std::move(stops);
    }
    if (req_.max_tokens) {
      g["maxOutputTokens"] = *req_.max_tokens;
    }
    if (req_.temperature) {
      g["temperature"] = *req_.temperature;
    }
    if (req_.top_p) {
      g["topP"] = *req_.top_p;
    }
    if (req_.top_k) {
      g["topK"] = *req_.top_k;
    }
    if (req_.n) {
      g["candidateCount"] = *req_.n;
    }
    if (req_.presence_penalty) {
      g["presencePenalty"] = *req_.presence_penalty;
    }
    if (req_.frequency_penalty) {
      g["frequencyPenalty"] = *req_.frequency_penalty;
    }
    if (req_.seed) {
      g["seed"] = *req_.seed;
    }
    if (const auto& rf = req_.response_format; rf && rf->type != ir::ResponseFormatType::Text) {
      g["responseMimeType"] = "application/json";
      if (rf->type == ir::ResponseFormatType::JsonSchema && !rf->schema.empty()) {
        auto schema = parse_object(rf->schema);
        if (!schema) {
          return invalid("response_format schema must be a JSON Schema object.",
                         "response_format.schema");
        }
        // responseJsonSchema takes plain JSON Schema; responseSchema wants the OpenAPI
        // subset with upper-case types.
        g["responseJsonSchema"] = std::move(*schema);
      }
    }
    if (req_.reasoning) {
      g["thinkingConfig"] = thinking_config(*req_.reasoning);
    }
    return g;
  }

  // ThinkingConfig: an explicit budget wins; an effort maps onto a budget within every Gemini
  // 2.5 model's range (https://ai.google.dev/gemini-api/docs/thinking#set-budget); an unknown
  // effort leaves the model's dynamic default. "none" turns thinking off (budget 0).
  static json::object thinking_config(const ir::ReasoningConfig& r) {
    json::object t;
    std::optional<std::int64_t> budget = r.budget_tokens;
    if (!budget) {
      if (r.effort == "none") {
        budget = 0;
      } else if (r.effort == "minimal" || r.effort == "low") {
        budget = 1024;
      } else if (r.effort == "medium") {
        budget = 8192;
      } else if (r.effort == "high") {
        budget = 24576;
      }
    }
    if (budget) {
      t["thinkingBudget"] = *budget;
    }
    if (!budget || *budget != 0) {
      t["includeThoughts"] = true;
    }
    return t;
  }

  const ir::ChatRequest& req_;
  std::map<std::string, std::string> call_names_;  // tool_call_id -> function name
};

// ---------------------------------------------------------------------------------------------
// Response: GenerateContentResponse -> IR

// Gemini API function calls carry no id, so one is made up from the response id and the call's
// position: stable for a given response, unique within it and, through responseId, across turns.
// A result comes back by id; encode finds the function name through the id in the history.
std::string call_id(const json::object& fc, std::string_view response_id, int index,
                    std::string_view name) {
  if (std::string id = string_or_empty(fc, "id"); !id.empty()) {
    return id;
  }
  if (!response_id.empty()) {
    return "call_" + std::string(response_id) + "_" + std::to_string(index);
  }
  return "call_" + std::to_string(index) + "_" + std::string(name);
}

// The candidate Gemini numbers 0 (index is omitted when 0). With candidateCount > 1 the others
// are not decoded: the IR answer has one choice.
const json::object* first_candidate(const json::object& resp) {
  const json::array* cands = array_at(resp, "candidates");
  if (cands == nullptr) {
    return nullptr;
  }
  for (const auto& c : *cands) {
    if (c.is_object() && count_at(c.get_object(), "index").value_or(0) == 0) {
      return &c.get_object();
    }
  }
  return nullptr;
}

const json::array* candidate_parts(const json::object* cand) {
  if (cand == nullptr) {
    return nullptr;
  }
  const json::object* content = object_at(*cand, "content");
  return content == nullptr ? nullptr : array_at(*content, "parts");
}

// Candidate.finishReason (https://ai.google.dev/api/generate-content#FinishReason).
ir::FinishReason finish_from(std::string_view raw, bool had_calls) {
  if (raw == "STOP") {
    return had_calls ? ir::FinishReason::ToolCalls : ir::FinishReason::Stop;
  }
  if (raw == "MAX_TOKENS") {
    return ir::FinishReason::Length;
  }
  if (raw == "SAFETY" || raw == "RECITATION" || raw == "BLOCKLIST" ||
      raw == "PROHIBITED_CONTENT" || raw == "SPII" || raw == "IMAGE_SAFETY") {
    return ir::FinishReason::ContentFilter;
  }
  return ir::FinishReason::Other;
}

// UsageMetadata (https://ai.google.dev/api/generate-content#UsageMetadata).
// totalTokenCount = prompt + toolUsePrompt + candidates + thoughts, and thinking is billed as
// output, so output = candidates + thoughts (reasoning is the thoughts share of it, as with
// OpenAI). promptTokenCount already includes cachedContentTokenCount.
ir::Usage usage_from(const json::object& m) {
  ir::Usage u;
  const auto prompt = count_at(m, "promptTokenCount");
  const auto tool_prompt = count_at(m, "toolUsePromptTokenCount");
  const auto candidates = count_at(m, "candidatesTokenCount");
  const auto thoughts = count_at(m, "thoughtsTokenCount");
  if (prompt || tool_prompt) {
    u.input_tokens = prompt.value_or(0) + tool_prompt.value_or(0);
  }
  if (candidates || thoughts) {
    u.output_tokens = candidates.value_or(0) + thoughts.value_or(0);
  }
  u.cached_input_tokens = count_at(m, "cachedContentTokenCount");
  u.reasoning_tokens = thoughts;
  return u;
}

std::string block_reason(const json::object& resp) {
  const json::object* fb = object_at(resp, "promptFeedback");
  return fb == nullptr ? std::string() : string_or_empty(*fb, "blockReason");
}

// ---------------------------------------------------------------------------------------------
// Errors: google.rpc.Status envelope {"error":{"code","message","status","details"}}
// (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes)

// google.rpc.RetryInfo.retryDelay is a JSON Duration ("34.4s"): whole seconds, rounded up.
std::string retry_after_from(const json::object& err) {
  const json::array* details = array_at(err, "details");
  if (details == nullptr) {
    return {};
  }
  for (const auto& d : *details) {
    if (!d.is_object() || !string_or_empty(d.get_object(), "@type").ends_with("RetryInfo")) {
      continue;
    }
    std::string delay = string_or_empty(d.get_object(), "retryDelay");
    if (!delay.ends_with('s')) {
      continue;
    }
    delay.pop_back();
    double seconds = 0;
    const auto res = std::from_chars(delay.data(), delay.data() + delay.size(), seconds);
    if (res.ec != std::errc() || res.ptr != delay.data() + delay.size() || !(seconds >= 0) ||
        seconds > 1e9) {
      continue;
    }
    return std::to_string(static_cast<std::int64_t>(std::ceil(seconds)));
  }
  return {};
}

// An invalid key is answered 400 INVALID_ARGUMENT with ErrorInfo.reason API_KEY_INVALID.
bool api_key_invalid(const json::object& err) {
  const json::array* details = array_at(err, "details");
  if (details == nullptr) {
    return false;
  }
  for (const auto& d : *details) {
    if (d.is_object() && string_or_empty(d.get_object(), "reason") == "API_KEY_INVALID") {
      return true;
    }
  }
  return false;
}

// `http` is the reply's status (0 or 2xx for an error object inside a stream, where the
// envelope's own code decides).
Error error_from(unsigned http, const json::object* err, const std::string& retry_header) {
  static const json::object kEmpty;
  const json::object& e = err != nullptr ? *err : kEmpty;
  const std::string status = string_or_empty(e, "status");
  const std::string message = string_or_empty(e, "message");
  std::int64_t code = http >= 400 ? http : count_at(e, "code").value_or(0);
  Error out;
  out.detail = "gemini: HTTP " + std::to_string(code) + " " + status + ": " + message;
  out.public_message =
      message.empty() ? "Gemini returned HTTP " + std::to_string(code) + "." : message;
  if (code == 401 || code == 403 || status == "UNAUTHENTICATED" ||
      status == "PERMISSION_DENIED" || api_key_invalid(e)) {
    // The gateway's own credential: never pass Google's wording (or the key) to the client.
    out.kind = ErrorKind::UpstreamAuth;
    out.public_message = "The upstream provider rejected the gateway's credentials.";
  } else if (code == 429 || status == "RESOURCE_EXHAUSTED") {
    out.kind = ErrorKind::RateLimited;
    out.retry_after = retry_after_from(e);
    if (out.retry_after.empty()) {
      out.retry_after = retry_header;
    }
  } else if (code == 504 || status == "DEADLINE_EXCEEDED") {
    out.kind = ErrorKind::UpstreamTimeout;
  } else if (code >= 500 || status == "UNAVAILABLE" || status == "INTERNAL") {
    out.kind = ErrorKind::UpstreamUnavailable;
  } else if (code == 404 || status == "NOT_FOUND") {
    out.kind = ErrorKind::NotFound;
    out.status = 404;
  } else if (code >= 400 || status == "INVALID_ARGUMENT" || status == "FAILED_PRECONDITION") {
    out.kind = ErrorKind::InvalidRequest;
    out.status = code >= 400 ? static_cast<int>(code) : 400;
  } else {
    out.kind = ErrorKind::UpstreamUnavailable;
  }
  return out;
}

// The error object of a body: {"error":{...}}, or [{"error":{...}}] as the non-SSE stream
// endpoint wraps it.
const json::object* error_object(const json::value& body) {
  const json::value* v = &body;
  if (v->is_array() && !v->get_array().empty()) {
    v = &v->get_array().front();
  }
  return v->is_object() ? object_at(v->get_object(), "error") : nullptr;
}

Error malformed(std::string what) {
  Error e =
      make_error(ErrorKind::UpstreamUnavailable, "The upstream provider sent a malformed reply.");
  e.detail = "gemini: " + std::move(what);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Streaming: SSE events (CRLF separated, no [DONE]), each a whole GenerateContentResponse with
// cumulative usageMetadata; functionCall parts arrive whole.

class GeminiStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<ir::StreamEvent>& out) override {
    events_.clear();
    parser_.feed(bytes, events_);
    return handle(out);
  }

  Result<void> finish(std::vector<ir::StreamEvent>& out) override {
    events_.clear();
    parser_.finish(events_);
    return handle(out);
  }

 private:
  Result<void> handle(std::vector<ir::StreamEvent>& out) {
    for (const auto& ev : events_) {
      if (failed_ || !ev.has_data || ev.data == "[DONE]") {
        continue;
      }
      if (auto r = on_chunk(ev.data, out); !r) {
        return r;
      }
    }
    return {};
  }

  Result<void> on_chunk(std::string_view data, std::vector<ir::StreamEvent>& out) {
    auto parsed = parse_json(data);
    if (!parsed) {
      return malformed("stream event is not JSON");
    }
    if (const json::object* err = error_object(*parsed)) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Error;
      e.error = error_from(0, err, {});
      out.push_back(std::move(e));
      failed_ = true;
      return {};
    }
    if (!parsed->is_object()) {
      return malformed("stream event is not an object");
    }
    const json::object& resp = parsed->get_object();
    if (!started_) {
      started_ = true;
      response_id_ = string_or_empty(resp, "responseId");
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::Start;
      e.id = response_id_;
      e.model = string_or_empty(resp, "modelVersion");
      out.push_back(std::move(e));
    }
    const json::object* cand = first_candidate(resp);
    if (!finished_) {
      if (const json::array* parts = candidate_parts(cand)) {
        for (const auto& p : *parts) {
          if (p.is_object()) {
            on_part(p.get_object(), out);
          }
        }
      }
    }
    if (const json::object* um = object_at(resp, "usageMetadata")) {
      // Absolute values: emitted whenever they change, so usage is known mid-stream (a client
      // that leaves early is still billed for what was generated).
      ir::Usage u = usage_from(*um);
      if (u.any() && (!last_usage_ || *last_usage_ != u)) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::Usage;
        e.usage = u;
        out.push_back(std::move(e));
        last_usage_ = u;
      }
    }
    if (!finished_) {
      std::string raw = cand != nullptr ? string_or_empty(*cand, "finishReason") : std::string();
      ir::FinishReason reason = finish_from(raw, tool_calls_ > 0);
      if (raw.empty() && cand == nullptr) {
        raw = block_reason(resp);  // the prompt itself was blocked: no candidate at all
        reason = ir::FinishReason::ContentFilter;
      }
      if (!raw.empty()) {
        finished_ = true;
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::Finish;
        e.finish = reason;
        e.finish_raw = std::move(raw);
        out.push_back(std::move(e));
      }
    }
    return {};
  }

  void on_part(const json::object& part, std::vector<ir::StreamEvent>& out) {
    const std::string signature = string_or_empty(part, "thoughtSignature");
    if (const json::object* fc = object_at(part, "functionCall")) {
      const int index = tool_calls_++;
      ir::StreamEvent start;
      start.type = ir::StreamEvent::Type::ToolCallStart;
      start.index = index;
      start.name = string_or_empty(*fc, "name");
      start.id = call_id(*fc, response_id_, index, start.name);
      start.signature = signature;
      out.push_back(std::move(start));
      ir::StreamEvent args;
      args.type = ir::StreamEvent::Type::ToolCallDelta;
      args.index = index;
      const json::value* a = fc->if_contains("args");
      args.text = a != nullptr && a->is_object() ? to_text(*a) : "{}";
      out.push_back(std::move(args));
      return;
    }
    const json::value* text = part.if_contains("text");
    const std::string t = text != nullptr && text->is_string() ? std::string(text->get_string())
                                                              : std::string();
    if (member_true(part, "thought")) {
      if (!t.empty() || !signature.empty()) {
        ir::StreamEvent e;
        e.type = ir::StreamEvent::Type::ReasoningDelta;
        e.text = t;
        e.signature = signature;
        out.push_back(std::move(e));
      }
      return;
    }
    if (!signature.empty()) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::ReasoningDelta;
      e.signature = signature;
      out.push_back(std::move(e));
    }
    if (!t.empty()) {
      ir::StreamEvent e;
      e.type = ir::StreamEvent::Type::TextDelta;
      e.text = t;
      out.push_back(std::move(e));
    }
  }

  codec::SseParser parser_;
  std::vector<codec::SseEvent> events_;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;  // an error object ended the stream; later bytes are ignored
  int tool_calls_ = 0;
  std::string response_id_;
  std::optional<ir::Usage> last_usage_;
};

// ---------------------------------------------------------------------------------------------

class GeminiAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "gemini"; }

  Result<UpstreamRequest> encode(const ir::ChatRequest& req, const Target& target) const override {
    if (target.model.empty()) {
      return make_error(ErrorKind::Internal, "No upstream model configured for the target.");
    }
    RequestEncoder encoder(req);
    auto body = encoder.body();
    if (!body) {
      return body.error();
    }
    UpstreamRequest out;
    out.path = request_path(target.model, req.stream);
    out.headers = {{"content-type", "application/json"}};
    out.body = to_text(*body);
    out.stream = req.stream;
    return out;
  }

  Result<ir::ChatResponse> decode(const UpstreamReply& reply) const override {
    auto parsed = parse_json(reply.body);
    if (!parsed) {
      return malformed("response body is not JSON");
    }
    if (error_object(*parsed) != nullptr) {
      return map_error(reply);
    }
    if (!parsed->is_object()) {
      return malformed("response body is not an object");
    }
    const json::object& resp = parsed->get_object();
    ir::ChatResponse r;
    r.id = string_or_empty(resp, "responseId");
    r.model = string_or_empty(resp, "modelVersion");
    const json::object* cand = first_candidate(resp);
    int calls = 0;
    if (const json::array* parts = candidate_parts(cand)) {
      for (const auto& pv : *parts) {
        if (pv.is_object()) {
          add_part(pv.get_object(), r.id, calls, r.content);
        }
      }
    }
    if (cand != nullptr) {
      r.finish_raw = string_or_empty(*cand, "finishReason");
      if (!r.finish_raw.empty()) {
        r.finish = finish_from(r.finish_raw, calls > 0);
      }
    } else if (std::string blocked = block_reason(resp); !blocked.empty()) {
      r.finish = ir::FinishReason::ContentFilter;
      r.finish_raw = std::move(blocked);
    }
    if (const json::object* um = object_at(resp, "usageMetadata")) {
      r.usage = usage_from(*um);
    }
    return r;
  }

  std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest& /*req*/) const override {
    return std::make_unique<GeminiStreamDecoder>();
  }

  Error map_error(const UpstreamReply& reply) const override {
    const auto parsed = parse_json(reply.body);
    const json::object* err = parsed ? error_object(*parsed) : nullptr;
    return error_from(reply.status, err, reply.retry_after);
  }

  ir::Capabilities capabilities(const Target& /*target*/) const override {
    ir::Capabilities c;
    c.tools = true;
    c.parallel_tool_calls = true;
    c.vision = true;
    c.json_object = true;
    c.json_schema = true;
    c.reasoning = true;
    // Gemini can return several candidates, but the IR answer holds one: claiming the
    // capability would silently drop the others, so requests with n > 1 are refused instead.
    c.multiple_choices = false;
    c.logprobs = false;
    return c;
  }

 private:
  // Part -> IR: thought text -> ReasoningPart; a thoughtSignature on a text part -> a
  // ReasoningPart with only the signature, right before the TextPart (encode puts it back on
  // that text part); functionCall -> ToolCallPart with the signature; inlineData -> ImagePart.
  static void add_part(const json::object& part, const std::string& response_id, int& calls,
                       std::vector<ir::Part>& out) {
    const std::string signature = string_or_empty(part, "thoughtSignature");
    if (const json::object* fc = object_at(part, "functionCall")) {
      ir::ToolCallPart c;
      c.name = string_or_empty(*fc, "name");
      c.id = call_id(*fc, response_id, calls++, c.name);
      const json::value* a = fc->if_contains("args");
      c.arguments = a != nullptr && a->is_object() ? to_text(*a) : "{}";
      c.signature = signature;
      out.emplace_back(std::move(c));
      return;
    }
    if (const json::object* blob = object_at(part, "inlineData")) {
      ir::ImagePart img;
      img.media_type = string_or_empty(*blob, "mimeType");
      img.data = string_or_empty(*blob, "data");
      out.emplace_back(std::move(img));
      return;
    }
    const std::string text = string_or_empty(part, "text");
    if (member_true(part, "thought")) {
      if (!text.empty() || !signature.empty()) {
        out.emplace_back(ir::ReasoningPart{text, signature, {}});
      }
      return;
    }
    if (!signature.empty()) {
      out.emplace_back(ir::ReasoningPart{{}, signature, {}});
    }
    if (text.empty()) {
      return;
    }
    if (!out.empty() && signature.empty()) {
      if (auto* prev = std::get_if<ir::TextPart>(&out.back())) {
        prev->text += text;  // consecutive text parts read as one text
        return;
      }
    }
    out.emplace_back(ir::TextPart{text});
  }
};

}  // namespace

const Adapter& gemini_adapter() {
  static const GeminiAdapter adapter;
  return adapter;
}

}  // namespace sy::providers
