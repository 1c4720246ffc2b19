// OpenAI Chat Completions as a client protocol (POST /v1/chat/completions), used when the route's
// provider speaks something else: the client's body becomes IR, and IR answers, stream events and
// errors go back shaped exactly as the openai SDKs parse them. Mapping rules and the decisions
// behind them are in docs/protocols.md ("OpenAI Chat Completions (inbound)").

#include "inbound/openai_chat.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "codec/json_scan.h"

namespace sy::inbound {

namespace json = boost::json;

namespace {

using codec::json_quote;

// ---------------------------------------------------------------------------------------------
// Errors, worded like OpenAI's (clients and SDK users match on them), `param` naming the field.

// OpenAI's wording for a body that is not JSON; the same text as the fast path
// (providers/openai_compat.cc) so a client sees one message whichever path served it.
constexpr std::string_view kUnparsable =
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The API expects a JSON payload, but what was sent was "
    "not valid JSON: ";

std::string_view type_phrase(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: return "an object";
    case json::kind::array: return "an array";
    case json::kind::string: return "a string";
    case json::kind::bool_: return "a boolean";
    case json::kind::null: return "null";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a decimal";
  }
  return "a value";
}

Error invalid_type(const std::string& param, std::string_view expected, const json::value& got) {
  return make_error(ErrorKind::InvalidRequest,
                    "Invalid type for '" + param + "': expected " + std::string(expected) +
                        ", but got " + std::string(type_phrase(got)) + " instead.",
                    "invalid_type", param);
}

Error missing(const std::string& param) {
  return make_error(ErrorKind::InvalidRequest, "Missing required parameter: '" + param + "'.",
                    "missing_required_parameter", param);
}

Error invalid_value(const std::string& param, std::string message) {
  return make_error(ErrorKind::InvalidRequest, std::move(message), "invalid_value", param);
}

// "Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'."
Error invalid_enum(const std::string& param, std::string_view got,
                   std::initializer_list<std::string_view> supported) {
  std::string msg = "Invalid value: '" + std::string(got) + "'. Supported values are: ";
  std::size_t i = 0;
  for (const std::string_view s : supported) {
    if (i > 0) {
      msg += supported.size() > 2 ? ", " : " ";
    }
    if (i + 1 == supported.size() && supported.size() > 1) {
      msg += "and ";
    }
    msg += "'" + std::string(s) + "'";
    ++i;
  }
  msg += ".";
  return invalid_value(param, std::move(msg));
}

// A parameter that changes the answer but has no place in the IR: refusing it is the only honest
// answer (dropping it would return something the client did not ask for).
Error unsupported_parameter(const std::string& param) {
  return make_error(ErrorKind::InvalidRequest,
                    "Unsupported parameter: '" + param + "' is not supported with this model.",
                    "unsupported_parameter", param);
}

Error unsupported_value(const std::string& param, std::string_view value) {
  return make_error(ErrorKind::InvalidRequest,
                    "Unsupported value: '" + param + "' does not support '" + std::string(value) +
                        "' with this model.",
                    "unsupported_value", param);
}

Error empty_array(const std::string& param) {
  return make_error(ErrorKind::InvalidRequest,
                    "Invalid '" + param +
                        "': empty array. Expected an array with minimum length 1, but got an "
                        "empty array instead.",
                    "empty_array", param);
}

std::string number_text(double d) {
  std::ostringstream ss;
  ss << d;
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Raw JSON text. Schemas (tool parameters, json_schema.schema) are kept as the client wrote them,
// minus insignificant whitespace: re-serialising a DOM would turn 0.5 into 5E-1 and reorder
// nothing, but still change bytes a client may diff against.

// One past the end of the JSON value that starts at t[i]. Precondition: `t` is valid JSON.
std::size_t skip_value(std::string_view t, std::size_t i) {
  if (t[i] == '"') {
    ++i;
    while (i < t.size() && t[i] != '"') {
      i += t[i] == '\\' ? 2 : 1;
    }
    return i + 1;
  }
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = skip_value(t, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return t.size();
  }
  constexpr std::string_view kDelims = ",]} \t\r\n";
  while (i < t.size() && kDelims.find(t[i]) == std::string_view::npos) {
    ++i;
  }
  return i;
}

// The raw text of element `index` of the raw array `arr`; "" when out of range.
std::string_view array_element(std::string_view arr, std::size_t index) {
  constexpr std::string_view kWs = " \t\r\n";
  std::size_t i = arr.find_first_not_of(kWs, 1);
  for (std::size_t n = 0; i != std::string_view::npos && i < arr.size() && arr[i] != ']'; ++n) {
    const std::size_t end = skip_value(arr, i);
    if (n == index) {
      return arr.substr(i, end - i);
    }
    i = arr.find_first_not_of(kWs, end);
    if (i != std::string_view::npos && arr[i] == ',') {
      i = arr.find_first_not_of(kWs, i + 1);
    }
  }
  return {};
}

// The raw text of member `key` of the raw object `obj` (the last duplicate, as Boost.JSON keeps).
std::string_view object_member(std::string_view obj, std::string_view key) {
  const auto scan = codec::scan_object(obj);
  if (!scan) {
    return {};
  }
  const codec::JsonMember* m = scan->find(key);
  return m == nullptr ? std::string_view{} : m->raw(obj);
}

// Valid JSON text without whitespace outside strings.
std::string minify(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] == '"') {
      const std::size_t end = skip_value(t, i);
      out.append(t.substr(i, end - i));
      i = end;
    } else {
      if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n') {
        out += t[i];
      }
      ++i;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// base64url (RFC 4648 §5) without padding, for the signature suffix of tool call ids.

constexpr std::string_view kB64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kB64Url[(n >> 18) & 63];
    out += kB64Url[(n >> 12) & 63];
    out += kB64Url[(n >> 6) & 63];
    out += kB64Url[n & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out += kB64Url[(n >> 18) & 63];
    out += kB64Url[(n >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const std::uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64Url[(n >> 18) & 63];
    out += kB64Url[(n >> 12) & 63];
    out += kB64Url[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) {
    return std::nullopt;  // no unpadded encoding has this length
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const std::size_t v = kB64Url.find(c);
    if (v == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Canonical encodings leave the unused low bits zero; anything else is not ours.
  if ((acc & ((1U << bits) - 1)) != 0) {
    return std::nullopt;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Request parsing.

std::string at(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

// A member that is present and not null (OpenAI treats null optional parameters as absent).
const json::value* present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::string> get_string(const json::value& v, const std::string& param) {
  if (!v.is_string()) {
    return invalid_type(param, "a string", v);
  }
  return std::string(v.get_string());
}

Result<bool> get_bool(const json::value& v, const std::string& param) {
  if (!v.is_bool()) {
    return invalid_type(param, "a boolean", v);
  }
  return v.get_bool();
}

Result<double> get_number(const json::value& v, const std::string& param, double min, double max) {
  double d = 0;
  if (v.is_double()) {
    d = v.get_double();
  } else if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else {
    return invalid_type(param, "a number", v);
  }
  if (d < min) {
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid '" + param + "': decimal below minimum value. Expected a value >= " +
                          number_text(min) + ", but got " + number_text(d) + " instead.",
                      "decimal_below_min_value", param);
  }
  if (d > max) {
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid '" + param + "': decimal above maximum value. Expected a value <= " +
                          number_text(max) + ", but got " + number_text(d) + " instead.",
                      "decimal_above_max_value", param);
  }
  return d;
}

Result<std::int64_t> get_integer(const json::value& v, const std::string& param,
                                 std::optional<std::int64_t> min, std::optional<std::int64_t> max) {
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    n = std::numeric_limits<std::int64_t>::max();  // beyond int64: clamp, then range-check
  } else {
    return invalid_type(param, "an integer", v);
  }
  if (min && n < *min) {
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid '" + param + "': integer below minimum value. Expected a value >= " +
                          std::to_string(*min) + ", but got " + std::to_string(n) + " instead.",
                      "integer_below_min_value", param);
  }
  if (max && n > *max) {
    return make_error(ErrorKind::InvalidRequest,
                      "Invalid '" + param + "': integer above maximum value. Expected a value <= " +
                          std::to_string(*max) + ", but got " + std::to_string(n) + " instead.",
                      "integer_above_max_value", param);
  }
  return n;
}

#define SY_TRY_ASSIGN(lhs, expr) \
  do {                           \
    auto sy_try_r_ = (expr);     \
    if (!sy_try_r_) {            \
      return sy_try_r_.error();  \
    }                            \
    lhs = std::move(*sy_try_r_); \
  } while (false)

#define SY_TRY(expr)         \
  do {                       \
    auto sy_try_e_ = (expr); \
    if (sy_try_e_) {         \
      return *sy_try_e_;     \
    }                        \
  } while (false)

class RequestParser {
 public:
  RequestParser(std::string_view body, const codec::JsonObjectScan& scan, const json::object& root)
      : body_(body), scan_(scan), root_(root) {}

  Result<ir::ChatRequest> parse() {
    SY_TRY(reject_unsupported());
    SY_TRY(parse_model());
    SY_TRY(parse_messages());
    SY_TRY(parse_tools());
    SY_TRY(parse_tool_choice());
    SY_TRY(parse_sampling());
    SY_TRY(parse_response_format());
    SY_TRY(parse_stream());
    SY_TRY(parse_misc());
    return std::move(req_);
  }

 private:
  using Check = std::optional<Error>;

  std::string_view raw_top(std::string_view key) const {
    const codec::JsonMember* m = scan_.find(key);
    return m == nullptr ? std::string_view{} : m->raw(body_);
  }

  // Fields that change the answer and have no IR representation.
  Check reject_unsupported() const {
    for (const std::string_view key :
         {"audio", "prediction", "web_search_options", "functions", "function_call"}) {
      if (present(root_, key) != nullptr) {
        return unsupported_parameter(std::string(key));
      }
    }
    if (const json::value* v = present(root_, "modalities")) {
      if (!v->is_array()) {
        return invalid_type("modalities", "an array of strings", *v);
      }
      for (const json::value& m : v->get_array()) {
        if (!m.is_string() || m.get_string() != "text") {
          return unsupported_value(
              "modalities", m.is_string() ? std::string_view(m.get_string()) : type_phrase(m));
        }
      }
    }
    // An empty bias map is what some clients send by default; it changes nothing.
    if (const json::value* v = present(root_, "logit_bias")) {
      if (!v->is_object() || !v->get_object().empty()) {
        return unsupported_parameter("logit_bias");
      }
    }
    // "medium" is the default; any other verbosity asks for a differently sized answer.
    if (const json::value* v = present(root_, "verbosity")) {
      if (!v->is_string() || v->get_string() != "medium") {
        return unsupported_parameter("verbosity");
      }
    }
    return std::nullopt;
  }

  Check parse_model() {
    const json::value* v = root_.if_contains("model");
    if (v == nullptr) {
      return missing("model");
    }
    SY_TRY_ASSIGN(req_.model, get_string(*v, "model"));
    if (req_.model.empty()) {
      return make_error(ErrorKind::InvalidRequest,
                        "Invalid 'model': empty string. Expected a string with minimum length 1, "
                        "but got an empty string instead.",
                        "empty_string", "model");
    }
    return std::nullopt;
  }

  Check parse_messages() {
    const json::value* v = root_.if_contains("messages");
    if (v == nullptr) {
      return missing("messages");
    }
    if (!v->is_array()) {
      return invalid_type("messages", "an array of objects", *v);
    }
    const json::array& arr = v->get_array();
    if (arr.empty()) {
      return empty_array("messages");
    }
    // Whether a tool message may follow: only right after an assistant turn with tool_calls
    // (or another tool message answering it), as OpenAI enforces.
    bool tool_results_allowed = false;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string param = at("messages", i);
      if (!arr[i].is_object()) {
        return invalid_type(param, "an object", arr[i]);
      }
      const json::object& m = arr[i].get_object();
      const json::value* role_v = m.if_contains("role");
      if (role_v == nullptr) {
        return missing(param + ".role");
      }
      std::string role;
      SY_TRY_ASSIGN(role, get_string(*role_v, param + ".role"));
      if (role == "system" || role == "developer") {
        SY_TRY(parse_system(m, param));
        tool_results_allowed = false;
      } else if (role == "user") {
        SY_TRY(parse_user(m, param));
        tool_results_allowed = false;
      } else if (role == "assistant") {
        SY_TRY(parse_assistant(m, param));
        const auto& parts = req_.messages.back().content;
        tool_results_allowed = std::any_of(parts.begin(), parts.end(), [](const ir::Part& p) {
          return std::holds_alternative<ir::ToolCallPart>(p);
        });
      } else if (role == "tool") {
        if (!tool_results_allowed) {
          return invalid_value(param + ".role",
                               "Invalid parameter: messages with role 'tool' must be a response to "
                               "a preceding message with 'tool_calls'.");
        }
        SY_TRY(parse_tool_result(m, param));
      } else if (role == "function") {
        return unsupported_value(param + ".role", role);
      } else {
        return invalid_enum(param + ".role", role,
                            {"system", "assistant", "user", "function", "tool", "developer"});
      }
    }
    return std::nullopt;
  }

  // Text of a message whose content may be a string or an array of text parts. `allowed`
  // extra part types (e.g. "refusal" on assistant turns) count as text too.
  Result<std::vector<std::string>> text_parts(const json::value& content, const std::string& param,
                                              bool allow_refusal) const {
    std::vector<std::string> out;
    if (content.is_string()) {
      out.emplace_back(content.get_string());
      return out;
    }
    if (!content.is_array()) {
      return invalid_type(param, "one of a string or array of objects", content);
    }
    const json::array& parts = content.get_array();
    if (parts.empty()) {
      return empty_array(param);
    }
    for (std::size_t j = 0; j < parts.size(); ++j) {
      const std::string pp = at(param, j);
      if (!parts[j].is_object()) {
        return invalid_type(pp, "an object", parts[j]);
      }
      const json::object& p = parts[j].get_object();
      const json::value* type_v = p.if_contains("type");
      if (type_v == nullptr) {
        return missing(pp + ".type");
      }
      std::string type;
      SY_TRY_ASSIGN(type, get_string(*type_v, pp + ".type"));
      const bool refusal = allow_refusal && type == "refusal";
      if (type != "text" && !refusal) {
        if (allow_refusal) {
          return invalid_enum(pp + ".type", type, {"text", "refusal"});
        }
        return invalid_enum(pp + ".type", type, {"text"});
      }
      const char* field = refusal ? "refusal" : "text";
      const json::value* text_v = p.if_contains(field);
      if (text_v == nullptr) {
        return missing(pp + "." + field);
      }
      std::string text;
      SY_TRY_ASSIGN(text, get_string(*text_v, pp + "." + field));
      out.push_back(std::move(text));
    }
    return out;
  }

  Check parse_system(const json::object& m, const std::string& param) {
    const json::value* c = m.if_contains("content");
    if (c == nullptr) {
      return missing(param + ".content");
    }
    std::vector<std::string> texts;
    SY_TRY_ASSIGN(texts, text_parts(*c, param + ".content", false));
    for (auto& t : texts) {
      req_.system.push_back(std::move(t));
    }
    return std::nullopt;
  }

  Check parse_name(const json::object& m, const std::string& param, ir::Message& msg) const {
    if (const json::value* n = present(m, "name")) {
      SY_TRY_ASSIGN(msg.name, get_string(*n, param + ".name"));
    }
    return std::nullopt;
  }

  Check parse_user(const json::object& m, const std::string& param) {
    ir::Message msg;
    msg.role = ir::Role::User;
    SY_TRY(parse_name(m, param, msg));
    const json::value* c = m.if_contains("content");
    const std::string cp = param + ".content";
    if (c == nullptr) {
      return missing(cp);
    }
    if (c->is_string()) {
      msg.content.emplace_back(ir::TextPart{std::string(c->get_string())});
    } else if (c->is_array()) {
      const json::array& parts = c->get_array();
      if (parts.empty()) {
        return empty_array(cp);
      }
      for (std::size_t j = 0; j < parts.size(); ++j) {
        SY_TRY(parse_user_part(parts[j], at(cp, j), msg));
      }
    } else {
      return invalid_type(cp, "one of a string or array of objects", *c);
    }
    req_.messages.push_back(std::move(msg));
    return std::nullopt;
  }

  Check parse_user_part(const json::value& v, const std::string& pp, ir::Message& msg) const {
    if (!v.is_object()) {
      return invalid_type(pp, "an object", v);
    }
    const json::object& p = v.get_object();
    const json::value* type_v = p.if_contains("type");
    if (type_v == nullptr) {
      return missing(pp + ".type");
    }
    std::string type;
    SY_TRY_ASSIGN(type, get_string(*type_v, pp + ".type"));
    if (type == "text") {
      const json::value* t = p.if_contains("text");
      if (t == nullptr) {
        return missing(pp + ".text");
      }
      ir::TextPart part;
      SY_TRY_ASSIGN(part.text, get_string(*t, pp + ".text"));
      msg.content.emplace_back(std::move(part));
      return std::nullopt;
    }
    if (type == "image_url") {
      ir::ImagePart image;
      SY_TRY(parse_image(p, pp, image));
      msg.content.emplace_back(std::move(image));
      return std::nullopt;
    }
    if (type == "input_audio" || type == "file") {
      return unsupported_value(pp + ".type", type);
    }
    return invalid_enum(pp + ".type", type, {"text", "image_url", "input_audio", "file"});
  }

  static Check parse_image(const json::object& p, const std::string& pp, ir::ImagePart& image) {
    const json::value* iv = p.if_contains("image_url");
    const std::string ip = pp + ".image_url";
    if (iv == nullptr) {
      return missing(ip);
    }
    if (!iv->is_object()) {
      return invalid_type(ip, "an object", *iv);
    }
    const json::object& io = iv->get_object();
    const json::value* url_v = io.if_contains("url");
    if (url_v == nullptr) {
      return missing(ip + ".url");
    }
    std::string url;
    SY_TRY_ASSIGN(url, get_string(*url_v, ip + ".url"));
    if (url.starts_with("data:")) {
      // data:<media type>[;param...];base64,<data>. Providers take inline images as media type
      // plus base64, so split it here once.
      const std::size_t comma = url.find(',');
      const std::string_view header =
          std::string_view(url).substr(5, comma == std::string::npos ? 0 : comma - 5);
      if (comma == std::string::npos || !header.ends_with(";base64") || comma + 1 == url.size()) {
        return invalid_value(ip + ".url",
                             "Invalid '" + ip +
                                 ".url': expected a base64-encoded data URL with an image MIME "
                                 "type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=').");
      }
      image.media_type = std::string(header.substr(0, header.find(';')));
      image.data = url.substr(comma + 1);
      if (!image.media_type.starts_with("image/")) {
        return invalid_value(ip + ".url", "Invalid MIME type '" + image.media_type + "' in '" + ip +
                                              ".url': only image types are supported.");
      }
    } else {
      image.url = std::move(url);
    }
    if (const json::value* d = present(io, "detail")) {
      SY_TRY_ASSIGN(image.detail, get_string(*d, ip + ".detail"));
      if (image.detail != "auto" && image.detail != "low" && image.detail != "high") {
        return invalid_enum(ip + ".detail", image.detail, {"auto", "low", "high"});
      }
    }
    return std::nullopt;
  }

  Check parse_assistant(const json::object& m, const std::string& param) {
    ir::Message msg;
    msg.role = ir::Role::Assistant;
    SY_TRY(parse_name(m, param, msg));
    for (const std::string_view key : {"audio", "function_call"}) {
      if (present(m, key) != nullptr) {
        return unsupported_parameter(param + "." + std::string(key));
      }
    }
    // Reasoning first: it preceded the answer when the model produced it.
    if (const json::value* r = present(m, "reasoning_content")) {
      ir::ReasoningPart part;
      SY_TRY_ASSIGN(part.text, get_string(*r, param + ".reasoning_content"));
      if (!part.text.empty()) {
        msg.content.emplace_back(std::move(part));
      }
    }
    bool has_text = false;
    if (const json::value* c = present(m, "content")) {
      std::vector<std::string> texts;
      SY_TRY_ASSIGN(texts, text_parts(*c, param + ".content", true));
      for (auto& t : texts) {
        msg.content.emplace_back(ir::TextPart{std::move(t)});
      }
      has_text = true;
    } else if (const json::value* rf = present(m, "refusal")) {
      // A refusal the model gave earlier is what it said on that turn.
      ir::TextPart part;
      SY_TRY_ASSIGN(part.text, get_string(*rf, param + ".refusal"));
      msg.content.emplace_back(std::move(part));
      has_text = true;
    }
    bool has_calls = false;
    if (const json::value* tc = present(m, "tool_calls")) {
      const std::string tp = param + ".tool_calls";
      if (!tc->is_array()) {
        return invalid_type(tp, "an array of objects", *tc);
      }
      for (std::size_t k = 0; k < tc->get_array().size(); ++k) {
        SY_TRY(parse_tool_call(tc->get_array()[k], at(tp, k), msg));
        has_calls = true;
      }
    }
    if (!has_text && !has_calls) {
      return make_error(ErrorKind::InvalidRequest,
                        "Missing required parameter: '" + param +
                            ".content' (messages with role 'assistant' must have either "
                            "'content' or 'tool_calls').",
                        "missing_required_parameter", param + ".content");
    }
    req_.messages.push_back(std::move(msg));
    return std::nullopt;
  }

  static Check parse_tool_call(const json::value& v, const std::string& tp, ir::Message& msg) {
    if (!v.is_object()) {
      return invalid_type(tp, "an object", v);
    }
    const json::object& c = v.get_object();
    const json::value* id_v = c.if_contains("id");
    if (id_v == nullptr) {
      return missing(tp + ".id");
    }
    std::string wire_id;
    SY_TRY_ASSIGN(wire_id, get_string(*id_v, tp + ".id"));
    if (const json::value* t = present(c, "type")) {
      std::string type;
      SY_TRY_ASSIGN(type, get_string(*t, tp + ".type"));
      if (type == "custom") {
        return unsupported_value(tp + ".type", type);
      }
      if (type != "function") {
        return invalid_enum(tp + ".type", type, {"function", "custom"});
      }
    }
    const json::value* f = c.if_contains("function");
    if (f == nullptr) {
      return missing(tp + ".function");
    }
    if (!f->is_object()) {
      return invalid_type(tp + ".function", "an object", *f);
    }
    const json::object& fo = f->get_object();
    ir::ToolCallPart part;
    const json::value* name_v = fo.if_contains("name");
    if (name_v == nullptr) {
      return missing(tp + ".function.name");
    }
    SY_TRY_ASSIGN(part.name, get_string(*name_v, tp + ".function.name"));
    const json::value* args_v = fo.if_contains("arguments");
    if (args_v == nullptr) {
      return missing(tp + ".function.arguments");
    }
    SY_TRY_ASSIGN(part.arguments, get_string(*args_v, tp + ".function.arguments"));
    DecodedToolCallId decoded = decode_tool_call_id(wire_id);
    part.id = std::move(decoded.id);
    part.signature = std::move(decoded.signature);
    msg.content.emplace_back(std::move(part));
    return std::nullopt;
  }

  Check parse_tool_result(const json::object& m, const std::string& param) {
    const json::value* id_v = m.if_contains("tool_call_id");
    if (id_v == nullptr) {
      return missing(param + ".tool_call_id");
    }
    std::string wire_id;
    SY_TRY_ASSIGN(wire_id, get_string(*id_v, param + ".tool_call_id"));
    const json::value* c = m.if_contains("content");
    if (c == nullptr) {
      return missing(param + ".content");
    }
    std::vector<std::string> texts;
    SY_TRY_ASSIGN(texts, text_parts(*c, param + ".content", false));
    ir::ToolResultPart part;
    // The signature belongs to the call (it is carried on the assistant turn's ToolCallPart);
    // the result only needs the plain id to match it.
    part.tool_call_id = decode_tool_call_id(wire_id).id;
    for (const auto& t : texts) {
      part.content += t;  // parts are pieces of one output: joined without a separator
    }
    ir::Message msg;
    msg.role = ir::Role::Tool;
    msg.content.emplace_back(std::move(part));
    req_.messages.push_back(std::move(msg));
    return std::nullopt;
  }

  Check parse_tools() {
    const json::value* v = present(root_, "tools");
    if (v == nullptr) {
      return std::nullopt;
    }
    if (!v->is_array()) {
      return invalid_type("tools", "an array of objects", *v);
    }
    const std::string_view raw_tools = raw_top("tools");
    const json::array& arr = v->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string tp = at("tools", i);
      if (!arr[i].is_object()) {
        return invalid_type(tp, "an object", arr[i]);
      }
      const json::object& t = arr[i].get_object();
      const json::value* type_v = t.if_contains("type");
      if (type_v == nullptr) {
        return missing(tp + ".type");
      }
      std::string type;
      SY_TRY_ASSIGN(type, get_string(*type_v, tp + ".type"));
      if (type == "custom") {
        return unsupported_value(tp + ".type", type);
      }
      if (type != "function") {
        return invalid_enum(tp + ".type", type, {"function", "custom"});
      }
      const json::value* f = t.if_contains("function");
      if (f == nullptr) {
        return missing(tp + ".function");
      }
      if (!f->is_object()) {
        return invalid_type(tp + ".function", "an object", *f);
      }
      const json::object& fo = f->get_object();
      ir::Tool tool;
      const json::value* name_v = fo.if_contains("name");
      if (name_v == nullptr) {
        return missing(tp + ".function.name");
      }
      SY_TRY_ASSIGN(tool.name, get_string(*name_v, tp + ".function.name"));
      if (!valid_function_name(tool.name)) {
        return make_error(ErrorKind::InvalidRequest,
                          "Invalid '" + tp +
                              ".function.name': string does not match pattern. "
                              "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                          "invalid_value", tp + ".function.name");
      }
      if (const json::value* d = present(fo, "description")) {
        SY_TRY_ASSIGN(tool.description, get_string(*d, tp + ".function.description"));
      }
      if (const json::value* p = present(fo, "parameters")) {
        if (!p->is_object()) {
          return invalid_type(tp + ".function.parameters", "an object", *p);
        }
        tool.parameters = minify(
            object_member(object_member(array_element(raw_tools, i), "function"), "parameters"));
      }
      if (const json::value* s = present(fo, "strict")) {
        SY_TRY_ASSIGN(tool.strict, get_bool(*s, tp + ".function.strict"));
      }
      req_.tools.push_back(std::move(tool));
    }
    return std::nullopt;
  }

  static bool valid_function_name(const std::string& name) {
    if (name.empty() || name.size() > 64) {
      return false;
    }
    for (const char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  Check parse_tool_choice() {
    const json::value* v = present(root_, "tool_choice");
    if (v == nullptr) {
      return std::nullopt;
    }
    ir::ToolChoice choice;
    if (v->is_string()) {
      const std::string s(v->get_string());
      if (s == "auto") {
        choice.mode = ir::ToolChoiceMode::Auto;
      } else if (s == "none") {
        choice.mode = ir::ToolChoiceMode::None;
      } else if (s == "required") {
        choice.mode = ir::ToolChoiceMode::Required;
      } else {
        return invalid_enum("tool_choice", s, {"none", "auto", "required"});
      }
    } else if (v->is_object()) {
      const json::object& o = v->get_object();
      const json::value* type_v = o.if_contains("type");
      if (type_v == nullptr) {
        return missing("tool_choice.type");
      }
      std::string type;
      SY_TRY_ASSIGN(type, get_string(*type_v, "tool_choice.type"));
      if (type == "allowed_tools" || type == "custom") {
        return unsupported_value("tool_choice.type", type);
      }
      if (type != "function") {
        return invalid_enum("tool_choice.type", type, {"function", "allowed_tools", "custom"});
      }
      const json::value* f = o.if_contains("function");
      if (f == nullptr) {
        return missing("tool_choice.function");
      }
      if (!f->is_object()) {
        return invalid_type("tool_choice.function", "an object", *f);
      }
      const json::value* name_v = f->get_object().if_contains("name");
      if (name_v == nullptr) {
        return missing("tool_choice.function.name");
      }
      SY_TRY_ASSIGN(choice.function, get_string(*name_v, "tool_choice.function.name"));
      choice.mode = ir::ToolChoiceMode::Function;
    } else {
      return invalid_type("tool_choice", "one of a string or object", *v);
    }
    req_.tool_choice = choice;
    return std::nullopt;
  }

  Check parse_sampling() {
    if (const json::value* v = present(root_, "temperature")) {
      SY_TRY_ASSIGN(req_.temperature, get_number(*v, "temperature", 0, 2));
    }
    if (const json::value* v = present(root_, "top_p")) {
      SY_TRY_ASSIGN(req_.top_p, get_number(*v, "top_p", 0, 1));
    }
    // Not OpenAI's, but vLLM-style clients send it and the IR has a place for it.
    if (const json::value* v = present(root_, "top_k")) {
      SY_TRY_ASSIGN(req_.top_k, get_integer(*v, "top_k", 0, std::nullopt));
    }
    if (const json::value* v = present(root_, "presence_penalty")) {
      SY_TRY_ASSIGN(req_.presence_penalty, get_number(*v, "presence_penalty", -2, 2));
    }
    if (const json::value* v = present(root_, "frequency_penalty")) {
      SY_TRY_ASSIGN(req_.frequency_penalty, get_number(*v, "frequency_penalty", -2, 2));
    }
    if (const json::value* v = present(root_, "seed")) {
      SY_TRY_ASSIGN(req_.seed, get_integer(*v, "seed", std::nullopt, std::nullopt));
    }
    if (const json::value* v = present(root_, "n")) {
      SY_TRY_ASSIGN(req_.n, get_integer(*v, "n", 1, 128));
    }
    // max_completion_tokens replaced max_tokens (which also counted reasoning tokens the same
    // way); when a client sends both, the current name wins.
    if (const json::value* v = present(root_, "max_tokens")) {
      SY_TRY_ASSIGN(req_.max_tokens, get_integer(*v, "max_tokens", 1, std::nullopt));
    }
    if (const json::value* v = present(root_, "max_completion_tokens")) {
      SY_TRY_ASSIGN(req_.max_tokens, get_integer(*v, "max_completion_tokens", 1, std::nullopt));
    }
    if (const json::value* v = present(root_, "stop")) {
      if (v->is_string()) {
        req_.stop.emplace_back(v->get_string());
      } else if (v->is_array()) {
        const json::array& arr = v->get_array();
        if (arr.size() > 4) {
          return make_error(ErrorKind::InvalidRequest,
                            "Invalid 'stop': array too long. Expected an array with maximum "
                            "length 4, but got an array with length " +
                                std::to_string(arr.size()) + " instead.",
                            "array_above_max_length", "stop");
        }
        for (std::size_t i = 0; i < arr.size(); ++i) {
          std::string s;
          SY_TRY_ASSIGN(s, get_string(arr[i], at("stop", i)));
          req_.stop.push_back(std::move(s));
        }
      } else {
        return invalid_type("stop", "one of a string or array of strings", *v);
      }
    }
    if (const json::value* v = present(root_, "logprobs")) {
      SY_TRY_ASSIGN(req_.logprobs, get_bool(*v, "logprobs"));
    }
    if (const json::value* v = present(root_, "top_logprobs")) {
      SY_TRY_ASSIGN(req_.top_logprobs, get_integer(*v, "top_logprobs", 0, 20));
    }
    if (const json::value* v = present(root_, "reasoning_effort")) {
      std::string effort;
      SY_TRY_ASSIGN(effort, get_string(*v, "reasoning_effort"));
      if (effort != "none" && effort != "minimal" && effort != "low" && effort != "medium" &&
          effort != "high" && effort != "xhigh") {
        return invalid_enum("reasoning_effort", effort,
                            {"none", "minimal", "low", "medium", "high", "xhigh"});
      }
      req_.reasoning = ir::ReasoningConfig{std::move(effort), std::nullopt};
    }
    return std::nullopt;
  }

  Check parse_response_format() {
    const json::value* v = present(root_, "response_format");
    if (v == nullptr) {
      return std::nullopt;
    }
    if (!v->is_object()) {
      return invalid_type("response_format", "an object", *v);
    }
    const json::object& o = v->get_object();
    const json::value* type_v = o.if_contains("type");
    if (type_v == nullptr) {
      return missing("response_format.type");
    }
    std::string type;
    SY_TRY_ASSIGN(type, get_string(*type_v, "response_format.type"));
    ir::ResponseFormat rf;
    if (type == "text") {
      rf.type = ir::ResponseFormatType::Text;
    } else if (type == "json_object") {
      rf.type = ir::ResponseFormatType::JsonObject;
    } else if (type == "json_schema") {
      rf.type = ir::ResponseFormatType::JsonSchema;
      const json::value* js = o.if_contains("json_schema");
      if (js == nullptr) {
        return missing("response_format.json_schema");
      }
      if (!js->is_object()) {
        return invalid_type("response_format.json_schema", "an object", *js);
      }
      const json::object& jo = js->get_object();
      const json::value* name_v = jo.if_contains("name");
      if (name_v == nullptr) {
        return missing("response_format.json_schema.name");
      }
      SY_TRY_ASSIGN(rf.name, get_string(*name_v, "response_format.json_schema.name"));
      if (const json::value* s = present(jo, "schema")) {
        if (!s->is_object()) {
          return invalid_type("response_format.json_schema.schema", "an object", *s);
        }
        rf.schema = minify(
            object_member(object_member(raw_top("response_format"), "json_schema"), "schema"));
      }
      if (const json::value* s = present(jo, "strict")) {
        SY_TRY_ASSIGN(rf.strict, get_bool(*s, "response_format.json_schema.strict"));
      }
    } else {
      return invalid_enum("response_format.type", type, {"text", "json_object", "json_schema"});
    }
    req_.response_format = std::move(rf);
    return std::nullopt;
  }

  Check parse_stream() {
    if (const json::value* v = present(root_, "stream")) {
      SY_TRY_ASSIGN(req_.stream, get_bool(*v, "stream"));
    }
    if (const json::value* v = present(root_, "stream_options")) {
      if (!v->is_object()) {
        return invalid_type("stream_options", "an object", *v);
      }
      if (!req_.stream) {
        return invalid_value("stream_options",
                             "The 'stream_options' parameter is only allowed when 'stream' is "
                             "enabled.");
      }
      if (const json::value* iu = present(v->get_object(), "include_usage")) {
        SY_TRY_ASSIGN(req_.include_usage, get_bool(*iu, "stream_options.include_usage"));
      }
    }
    return std::nullopt;
  }

  Check parse_misc() {
    if (const json::value* v = present(root_, "parallel_tool_calls")) {
      bool b = false;
      SY_TRY_ASSIGN(b, get_bool(*v, "parallel_tool_calls"));
      req_.parallel_tool_calls = b;
    }
    if (const json::value* v = present(root_, "user")) {
      SY_TRY_ASSIGN(req_.user, get_string(*v, "user"));
    }
    if (const json::value* v = present(root_, "metadata")) {
      if (!v->is_object()) {
        return invalid_type("metadata", "an object", *v);
      }
      for (const auto& kv : v->get_object()) {
        const std::string mp = "metadata." + std::string(kv.key());
        std::string value;
        SY_TRY_ASSIGN(value, get_string(kv.value(), mp));
        req_.metadata[std::string(kv.key())] = std::move(value);
      }
    }
    return std::nullopt;
  }

  std::string_view body_;
  const codec::JsonObjectScan& scan_;
  const json::object& root_;
  ir::ChatRequest req_;
};

#undef SY_TRY
#undef SY_TRY_ASSIGN

// A body that is not a JSON object: not JSON at all, or JSON of another type.
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
                       std::string(kUnparsable) + scan_error.public_message + ".)", "invalid_json");
  e.detail = scan_error.public_message;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 64-bit FNV-1a: a stable, dependency-free fingerprint for ids we must invent.
std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ULL) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex16(std::uint64_t v) {
  std::array<char, 17> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf.data(), 16);
}

json::object usage_object(const ir::Usage& u) {
  // The SDKs type the three counts as required numbers, so an unreported count is 0 here;
  // the details objects appear only when the provider reported what goes in them.
  const std::int64_t prompt = u.input_tokens.value_or(0);
  const std::int64_t completion = u.output_tokens.value_or(0);
  json::object o;
  o["prompt_tokens"] = prompt;
  o["completion_tokens"] = completion;
  o["total_tokens"] = prompt + completion;
  if (u.cached_input_tokens) {
    json::object d;
    d["cached_tokens"] = *u.cached_input_tokens;
    o["prompt_tokens_details"] = std::move(d);
  }
  if (u.reasoning_tokens) {
    json::object d;
    d["reasoning_tokens"] = *u.reasoning_tokens;
    o["completion_tokens_details"] = std::move(d);
  }
  return o;
}

// A tool call needs an id the client can answer with; adapters invent one for providers that
// send none (Gemini), this is the last resort so the client never sees "".
std::string tool_call_wire_id(const std::string& id, const std::string& signature, int index) {
  return encode_tool_call_id(id.empty() ? "call_" + std::to_string(index) : id, signature);
}

class OpenAiStreamEncoder final : public StreamEncoder {
 public:
  OpenAiStreamEncoder(bool include_usage, std::int64_t created)
      : include_usage_(include_usage), created_(created) {}

  void on_event(const ir::StreamEvent& e, std::string& out) override {
    if (closed_) {
      return;
    }
    using T = ir::StreamEvent::Type;
    switch (e.type) {
      case T::Start:
        if (!started_) {
          id_ = e.id;
          model_ = e.model;
          start(out);
        }
        return;
      case T::Usage: merge_usage(e.usage); return;
      case T::Error: fail(e.error, out); return;
      default: break;
    }
    if (finished_) {
      return;  // content after the finish chunk has no place in an OpenAI stream
    }
    start(out);
    switch (e.type) {
      case T::TextDelta:
        if (!e.text.empty()) {
          delta(out, "{\"content\":" + json_quote(e.text) + "}");
        }
        break;
      case T::ReasoningDelta:
        // Signatures and redacted reasoning have no field in OpenAI's protocol.
        if (!e.text.empty()) {
          delta(out, "{\"reasoning_content\":" + json_quote(e.text) + "}");
        }
        break;
      case T::ToolCallStart:
        saw_tool_call_ = true;
        delta(out, "{\"tool_calls\":[{\"index\":" + std::to_string(e.index) +
                       ",\"id\":" + json_quote(tool_call_wire_id(e.id, e.signature, e.index)) +
                       ",\"type\":\"function\",\"function\":{\"name\":" + json_quote(e.name) +
                       ",\"arguments\":\"\"}}]}");
        break;
      case T::ToolCallDelta:
        delta(out, "{\"tool_calls\":[{\"index\":" + std::to_string(e.index) +
                       ",\"function\":{\"arguments\":" + json_quote(e.text) + "}}]}");
        break;
      case T::Finish: finish_chunk(out, openai_finish_reason(e.finish)); break;
      default: break;
    }
  }

  void finish(std::string& out) override {
    if (closed_) {
      return;
    }
    start(out);
    if (!finished_) {
      finish_chunk(out, saw_tool_call_ ? "tool_calls" : "stop");
    }
    if (include_usage_) {
      out += prefix_;
      out += "[],\"usage\":";
      out += render_openai_usage(usage_);
      out += "}\n\n";
    }
    out += "data: [DONE]\n\n";
    closed_ = true;
  }

  void fail(const Error& error, std::string& out) override {
    if (closed_) {
      return;
    }
    // The openai SDKs raise an APIError on a data line carrying "error"; no [DONE] follows.
    out += "data: ";
    out += openai_error_body(error);
    out += "\n\n";
    closed_ = true;
  }

 private:
  // The role chunk, once; also fixes the id/model every later chunk repeats.
  void start(std::string& out) {
    if (started_) {
      return;
    }
    started_ = true;
    if (id_.empty()) {
      id_ = "chatcmpl-" + hex16(fnv1a(model_, fnv1a(std::to_string(created_))));
    }
    prefix_ = "data: {\"id\":" + json_quote(id_) +
              ",\"object\":\"chat.completion.chunk\",\"created\":" + std::to_string(created_) +
              ",\"model\":" + json_quote(model_) + ",\"choices\":";
    suffix_ = include_usage_ ? "}],\"usage\":null}\n\n" : "}]}\n\n";
    delta(out, "{\"role\":\"assistant\",\"content\":\"\"}");
  }

  void delta(std::string& out, std::string_view delta_json, std::string_view finish = {}) {
    out += prefix_;
    out += "[{\"index\":0,\"delta\":";
    out += delta_json;
    out += ",\"logprobs\":null,\"finish_reason\":";
    if (finish.empty()) {
      out += "null";
    } else {
      out += '"';
      out += finish;
      out += '"';
    }
    out += suffix_;
  }

  void finish_chunk(std::string& out, std::string_view reason) {
    delta(out, "{}", reason);
    finished_ = true;
  }

  void merge_usage(const ir::Usage& u) {
    auto merge = [](std::optional<std::int64_t>& into, const std::optional<std::int64_t>& from) {
      if (from) {
        into = from;
      }
    };
    merge(usage_.input_tokens, u.input_tokens);
    merge(usage_.output_tokens, u.output_tokens);
    merge(usage_.cached_input_tokens, u.cached_input_tokens);
    merge(usage_.cache_write_tokens, u.cache_write_tokens);
    merge(usage_.reasoning_tokens, u.reasoning_tokens);
  }

  bool include_usage_;
  std::int64_t created_;
  std::string id_;
  std::string model_;
  std::string prefix_;  // `data: {"id":...,"choices":`
  std::string suffix_;  // closes choices (and adds "usage":null with include_usage)
  ir::Usage usage_;
  bool started_ = false;
  bool finished_ = false;
  bool saw_tool_call_ = false;
  bool closed_ = false;
};

class OpenAiChatCodec final : public Codec {
 public:
  std::string_view name() const override { return "openai-chat"; }

  Result<ir::ChatRequest> parse_request(std::string_view body) const override {
    auto scanned = codec::scan_object(body);
    if (!scanned) {
      return unparsable_body(body, scanned.error());
    }
    // Two members with one name would make the gateway act on one while a log or a later
    // reader saw the other; a well-formed client never sends them.
    for (std::size_t i = 0; i < scanned->members.size(); ++i) {
      for (std::size_t j = i + 1; j < scanned->members.size(); ++j) {
        if (scanned->members[i].key == scanned->members[j].key) {
          const std::string& key = scanned->members[i].key;
          return make_error(ErrorKind::InvalidRequest,
                            "Duplicate parameter '" + key + "': it may appear only once.",
                            "duplicate_parameter", key);
        }
      }
    }
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 128;  // the scanner's limit; Boost's default of 32 is too low for schemas
    json::value root = json::parse(body, ec, {}, opts);
    if (ec || !root.is_object()) {
      // The scanner accepted it; Boost.JSON should too. Report rather than assert.
      return make_error(ErrorKind::InvalidRequest, std::string(kUnparsable) + ec.message() + ".)",
                        "invalid_json");
    }
    RequestParser parser(body, *scanned, root.get_object());
    return parser.parse();
  }

  std::string render_response(const ir::ChatResponse& resp,
                              const ir::ChatRequest& /*req*/) const override {
    std::string text;
    bool has_text = false;
    std::string reasoning;
    json::array calls;
    int call_index = 0;
    for (const ir::Part& p : resp.content) {
      if (const auto* t = std::get_if<ir::TextPart>(&p)) {
        text += t->text;
        has_text = true;
      } else if (const auto* r = std::get_if<ir::ReasoningPart>(&p)) {
        reasoning += r->text;
      } else if (const auto* c = std::get_if<ir::ToolCallPart>(&p)) {
        json::object fn;
        fn["name"] = c->name;
        fn["arguments"] = c->arguments;
        json::object call;
        call["id"] = tool_call_wire_id(c->id, c->signature, call_index++);
        call["type"] = "function";
        call["function"] = std::move(fn);
        calls.push_back(std::move(call));
      }
    }
    json::object message;
    message["role"] = "assistant";
    // OpenAI sends null content on a tool-calls-only answer, and "" for an empty answer.
    if (has_text || calls.empty()) {
      message["content"] = text;
    } else {
      message["content"] = nullptr;
    }
    message["refusal"] = nullptr;
    message["annotations"] = json::array();
    if (!reasoning.empty()) {
      message["reasoning_content"] = reasoning;
    }
    if (!calls.empty()) {
      message["tool_calls"] = std::move(calls);
    }
    json::object choice;
    choice["index"] = 0;
    choice["message"] = std::move(message);
    choice["logprobs"] = nullptr;
    if (resp.finish) {
      choice["finish_reason"] = openai_finish_reason(*resp.finish);
    } else {
      choice["finish_reason"] = call_index > 0 ? "tool_calls" : "stop";
    }
    json::array choices;
    choices.push_back(std::move(choice));

    const std::int64_t created = resp.created != 0 ? resp.created : now_seconds();
    json::object o;
    o["id"] = resp.id.empty() ? fallback_id(resp) : resp.id;
    o["object"] = "chat.completion";
    o["created"] = created;
    o["model"] = resp.model;
    o["choices"] = std::move(choices);
    o["usage"] = usage_object(resp.usage);
    return json::serialize(o);
  }

  std::unique_ptr<StreamEncoder> stream_encoder(const ir::ChatRequest& req) const override {
    return make_openai_stream_encoder(req, now_seconds());
  }

  std::string render_error(const Error& error) const override { return openai_error_body(error); }

 private:
  // Deterministic, so a retried render of the same answer gives the same id.
  static std::string fallback_id(const ir::ChatResponse& resp) {
    std::uint64_t h = fnv1a(resp.model, fnv1a(std::to_string(resp.created)));
    for (const ir::Part& p : resp.content) {
      if (const auto* t = std::get_if<ir::TextPart>(&p)) {
        h = fnv1a(t->text, h);
      } else if (const auto* c = std::get_if<ir::ToolCallPart>(&p)) {
        h = fnv1a(c->id, fnv1a(c->name, fnv1a(c->arguments, h)));
      }
    }
    return "chatcmpl-" + hex16(h);
  }
};

}  // namespace

std::string encode_tool_call_id(std::string_view id, std::string_view signature) {
  if (signature.empty()) {
    return std::string(id);
  }
  return std::string(id) + std::string(kSignatureMarker) + base64url_encode(signature);
}

DecodedToolCallId decode_tool_call_id(std::string_view wire_id) {
  const std::size_t at_marker = wire_id.rfind(kSignatureMarker);
  if (at_marker != std::string_view::npos) {
    const std::string_view tail = wire_id.substr(at_marker + kSignatureMarker.size());
    if (!tail.empty()) {
      if (auto sig = base64url_decode(tail)) {
        return {std::string(wire_id.substr(0, at_marker)), std::move(*sig)};
      }
    }
  }
  return {std::string(wire_id), {}};
}

std::string_view openai_finish_reason(ir::FinishReason reason) {
  switch (reason) {
    case ir::FinishReason::Stop:
    case ir::FinishReason::StopSequence: return "stop";
    case ir::FinishReason::Length: return "length";
    case ir::FinishReason::ToolCalls: return "tool_calls";
    case ir::FinishReason::ContentFilter: return "content_filter";
    case ir::FinishReason::Other: return "stop";
  }
  return "stop";
}

std::string render_openai_usage(const ir::Usage& usage) {
  return json::serialize(usage_object(usage));
}

std::unique_ptr<StreamEncoder> make_openai_stream_encoder(const ir::ChatRequest& req,
                                                          std::int64_t created) {
  return std::make_unique<OpenAiStreamEncoder>(req.include_usage, created);
}

const Codec& openai_chat_codec() {
  static const OpenAiChatCodec codec;
  return codec;
}

}  // namespace sy::inbound
