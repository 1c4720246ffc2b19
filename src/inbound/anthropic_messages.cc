// Anthropic Messages client protocol <-> IR. Wire format per
// https://docs.claude.com/en/api/messages and /en/docs/build-with-claude/streaming; the recorded
// traffic under shared/fixtures/anthropic is the ground truth the tests hold this file to.
// Decisions are documented in docs/protocols.md ("Anthropic Messages (inbound)").

#include "inbound/anthropic_messages.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "codec/json_scan.h"
#include "codec/json_util.h"
#include "core/ids.h"
#include "inbound/codec.h"

namespace sy::inbound {

namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// JSON text out (codec::write_json): compact, keys in insertion order, doubles in shortest round-trip form (Boost
// 1.81's serializer writes 0.5 as "5E-1", which is valid but not what a tool author expects to
// see in arguments), strings through json_quote so upstream bytes that are not UTF-8 cannot
// break the document.

using codec::compact;
using codec::write_json;

json::value nullable(const std::string& s) {
  if (s.empty()) {
    return nullptr;
  }
  return json::string(s);
}

// ---------------------------------------------------------------------------------------------
// Request parsing. Errors read like Anthropic's own ("messages.1.content.0.type: ..."), with
// Error::param set to the dotted path.

Error bad(const std::string& path, std::string_view what) {
  return make_error(ErrorKind::InvalidRequest, path + ": " + std::string(what), {}, path);
}

std::string at(const std::string& base, std::size_t i) {
  return base + "." + std::to_string(i);
}
std::string at(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

// A present, non-null member (JSON null counts as absent for optional fields).
const json::value* member(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return nullptr;
  }
  return &it->value();
}

Result<const json::object*> object_at(const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    return bad(path, "Input should be a valid dictionary");
  }
  return &v.get_object();
}

Result<std::optional<std::string>> opt_string(const json::object& o, std::string_view key,
                                              const std::string& base) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (!v->is_string()) {
    return bad(at(base, key), "Input should be a valid string");
  }
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::string> req_string(const json::object& o, std::string_view key,
                               const std::string& base) {
  auto s = opt_string(o, key, base);
  if (!s) {
    return s.error();
  }
  if (!*s) {
    return bad(at(base, key), "Field required");
  }
  return std::move(**s);
}

Result<std::optional<std::int64_t>> opt_int(const json::object& o, std::string_view key,
                                             const std::string& base) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<std::int64_t>();
  }
  boost::system::error_code ec;
  const auto n = v->is_number() ? v->to_number<std::int64_t>(ec) : 0;
  if (!v->is_number() || ec) {
    return bad(at(base, key), "Input should be a valid integer");
  }
  return std::optional<std::int64_t>(n);
}

Result<std::optional<double>> opt_double(const json::object& o, std::string_view key,
                                         const std::string& base) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<double>();
  }
  if (!v->is_number()) {
    return bad(at(base, key), "Input should be a valid number");
  }
  return std::optional<double>(v->to_number<double>());
}

Result<std::optional<bool>> opt_bool(const json::object& o, std::string_view key,
                                     const std::string& base) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<bool>();
  }
  if (!v->is_bool()) {
    return bad(at(base, key), "Input should be a valid boolean");
  }
  return std::optional<bool>(v->get_bool());
}

// tool_result content: a string, or text blocks joined with "\n" (IR results are text only).
Result<std::string> tool_result_text(const json::value* v, const std::string& path) {
  if (v == nullptr) {
    return std::string();
  }
  if (v->is_string()) {
    return std::string(v->get_string());
  }
  if (!v->is_array()) {
    return bad(path, "Input should be a valid string or a list of content blocks");
  }
  std::string out;
  const json::array& blocks = v->get_array();
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const std::string bpath = at(path, k);
    auto bo = object_at(blocks[k], bpath);
    if (!bo) {
      return bo.error();
    }
    auto type = req_string(**bo, "type", bpath);
    if (!type) {
      return type.error();
    }
    if (*type != "text") {
      return bad(at(bpath, "type"), "'" + *type +
                                        "' blocks inside tool_result are not supported by this "
                                        "gateway (only text)");
    }
    auto text = req_string(**bo, "text", bpath);
    if (!text) {
      return text.error();
    }
    if (k > 0) {
      out += '\n';
    }
    out += *text;
  }
  return out;
}

Result<ir::Part> parse_image(const json::object& b, const std::string& path) {
  const json::value* src = member(b, "source");
  if (src == nullptr) {
    return bad(at(path, "source"), "Field required");
  }
  auto so = object_at(*src, at(path, "source"));
  if (!so) {
    return so.error();
  }
  const std::string spath = at(path, "source");
  auto type = req_string(**so, "type", spath);
  if (!type) {
    return type.error();
  }
  ir::ImagePart img;
  if (*type == "base64") {
    auto media = req_string(**so, "media_type", spath);
    if (!media) {
      return media.error();
    }
    auto data = req_string(**so, "data", spath);
    if (!data) {
      return data.error();
    }
    img.media_type = std::move(*media);
    img.data = std::move(*data);
  } else if (*type == "url") {
    auto url = req_string(**so, "url", spath);
    if (!url) {
      return url.error();
    }
    img.url = std::move(*url);
  } else {
    return bad(at(spath, "type"), "image source '" + *type +
                                      "' is not supported by this gateway (use base64 or url)");
  }
  return ir::Part(std::move(img));
}

// One content block of a message. tool_result is handled by the caller (it becomes its own
// Role::Tool message); everything else becomes one IR part.
Result<ir::Part> parse_block(const json::object& b, const std::string& type,
                             const std::string& path, bool assistant) {
  const auto wrong_role = [&]() {
    return bad(at(path, "type"), "'" + type + "' blocks are not allowed in " +
                                     (assistant ? "assistant" : "user") + " messages");
  };
  if (type == "text") {
    auto text = req_string(b, "text", path);  // cache_control, citations: ignored
    if (!text) {
      return text.error();
    }
    return ir::Part(ir::TextPart{std::move(*text)});
  }
  if (type == "image") {
    if (assistant) {
      return wrong_role();
    }
    return parse_image(b, path);
  }
  if (type == "tool_use") {
    if (!assistant) {
      return wrong_role();
    }
    ir::ToolCallPart call;
    auto id = req_string(b, "id", path);
    if (!id) {
      return id.error();
    }
    auto name = req_string(b, "name", path);
    if (!name) {
      return name.error();
    }
    const json::value* input = member(b, "input");
    if (input == nullptr) {
      return bad(at(path, "input"), "Field required");
    }
    if (!input->is_object()) {
      return bad(at(path, "input"), "Input should be a valid dictionary");
    }
    call.id = std::move(*id);
    call.name = std::move(*name);
    call.arguments = compact(*input);
    return ir::Part(std::move(call));
  }
  if (type == "thinking") {
    if (!assistant) {
      return wrong_role();
    }
    auto thinking = req_string(b, "thinking", path);
    if (!thinking) {
      return thinking.error();
    }
    auto signature = opt_string(b, "signature", path);
    if (!signature) {
      return signature.error();
    }
    return ir::Part(ir::ReasoningPart{std::move(*thinking), signature->value_or(""), ""});
  }
  if (type == "redacted_thinking") {
    if (!assistant) {
      return wrong_role();
    }
    auto data = req_string(b, "data", path);
    if (!data) {
      return data.error();
    }
    return ir::Part(ir::ReasoningPart{"", "", std::move(*data)});
  }
  // document, search_result, server_tool_use, web_search_tool_result, container_upload, ...:
  // nothing in the IR can carry them to another provider.
  return bad(at(path, "type"),
             "content blocks of type '" + type + "' are not supported by this gateway");
}

Result<void> parse_message(const json::value& mv, const std::string& path, bool last,
                           std::vector<ir::Message>& out) {
  auto mo = object_at(mv, path);
  if (!mo) {
    return mo.error();
  }
  const json::object& m = **mo;
  auto role = req_string(m, "role", path);
  if (!role) {
    return role.error();
  }
  if (*role != "user" && *role != "assistant") {
    return bad(at(path, "role"), "Input should be 'user' or 'assistant'");
  }
  const bool assistant = *role == "assistant";
  const ir::Role ir_role = assistant ? ir::Role::Assistant : ir::Role::User;
  const json::value* content = member(m, "content");
  if (content == nullptr) {
    return bad(at(path, "content"), "Field required");
  }
  const bool empty = (content->is_string() && content->get_string().empty()) ||
                     (content->is_array() && content->get_array().empty());
  if (empty) {
    if (assistant && last) {
      return {};  // an empty final assistant turn prefills nothing: drop it
    }
    return bad(path, "all messages must have non-empty content except for the optional final "
                     "assistant message");
  }
  if (content->is_string()) {
    out.push_back(ir::Message{ir_role, {ir::TextPart{std::string(content->get_string())}}, {}});
    return {};
  }
  if (!content->is_array()) {
    return bad(at(path, "content"), "Input should be a valid string or a list of content blocks");
  }
  // A user turn's tool_result blocks become Role::Tool messages in place; the other blocks of
  // the turn stay user messages, split around them so the order is kept.
  std::vector<ir::Part> pending;
  const auto flush = [&]() {
    if (!pending.empty()) {
      out.push_back(ir::Message{ir_role, std::move(pending), {}});
      pending.clear();
    }
  };
  const json::array& blocks = content->get_array();
  for (std::size_t j = 0; j < blocks.size(); ++j) {
    const std::string bpath = at(at(path, "content"), j);
    auto bo = object_at(blocks[j], bpath);
    if (!bo) {
      return bo.error();
    }
    auto type = req_string(**bo, "type", bpath);
    if (!type) {
      return type.error();
    }
    if (*type == "tool_result") {
      if (assistant) {
        return bad(at(bpath, "type"),
                   "'tool_result' blocks are not allowed in assistant messages");
      }
      auto id = req_string(**bo, "tool_use_id", bpath);
      if (!id) {
        return id.error();
      }
      auto text = tool_result_text(member(**bo, "content"), at(bpath, "content"));
      if (!text) {
        return text.error();
      }
      auto is_error = opt_bool(**bo, "is_error", bpath);
      if (!is_error) {
        return is_error.error();
      }
      flush();
      out.push_back(ir::Message{
          ir::Role::Tool,
          {ir::ToolResultPart{std::move(*id), std::move(*text), is_error->value_or(false)}},
          {}});
      continue;
    }
    auto part = parse_block(**bo, *type, bpath, assistant);
    if (!part) {
      return part.error();
    }
    pending.push_back(std::move(*part));
  }
  flush();
  return {};
}

Result<void> parse_system(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    if (!v.get_string().empty()) {
      out.emplace_back(v.get_string());
    }
    return {};
  }
  if (!v.is_array()) {
    return bad("system", "Input should be a valid string or a list of text blocks");
  }
  const json::array& blocks = v.get_array();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string path = at(std::string("system"), i);
    auto bo = object_at(blocks[i], path);
    if (!bo) {
      return bo.error();
    }
    auto type = req_string(**bo, "type", path);
    if (!type) {
      return type.error();
    }
    if (*type != "text") {
      return bad(at(path, "type"),
                 "Input tag '" + *type + "' does not match the expected tag 'text'");
    }
    auto text = req_string(**bo, "text", path);  // cache_control: ignored
    if (!text) {
      return text.error();
    }
    out.push_back(std::move(*text));
  }
  return {};
}

Result<void> parse_tools(const json::value& v, std::vector<ir::Tool>& out) {
  if (!v.is_array()) {
    return bad("tools", "Input should be a valid list");
  }
  const json::array& tools = v.get_array();
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const std::string path = at(std::string("tools"), i);
    auto to = object_at(tools[i], path);
    if (!to) {
      return to.error();
    }
    auto type = opt_string(**to, "type", path);
    if (!type) {
      return type.error();
    }
    // Versioned Anthropic-defined tools (web_search_*, bash_*, text_editor_*, computer_*, ...)
    // run on Anthropic's side or have schemas only Anthropic models know.
    if (*type && **type != "custom") {
      return bad(at(path, "type"), "tool type '" + **type +
                                       "' is not supported by this gateway (only custom tools "
                                       "with an input_schema)");
    }
    ir::Tool tool;
    auto name = req_string(**to, "name", path);
    if (!name) {
      return name.error();
    }
    auto description = opt_string(**to, "description", path);
    if (!description) {
      return description.error();
    }
    const json::value* schema = member(**to, "input_schema");
    if (schema == nullptr) {
      return bad(at(path, "input_schema"), "Field required");
    }
    if (!schema->is_object()) {
      return bad(at(path, "input_schema"), "Input should be a valid dictionary");
    }
    auto strict = opt_bool(**to, "strict", path);
    if (!strict) {
      return strict.error();
    }
    tool.name = std::move(*name);
    tool.description = description->value_or("");
    tool.parameters = compact(*schema);
    tool.strict = strict->value_or(false);
    out.push_back(std::move(tool));
  }
  return {};
}

Result<void> parse_tool_choice(const json::value& v, ir::ChatRequest& req) {
  auto to = object_at(v, "tool_choice");
  if (!to) {
    return to.error();
  }
  auto type = req_string(**to, "type", "tool_choice");
  if (!type) {
    return type.error();
  }
  ir::ToolChoice choice;
  if (*type == "auto") {
    choice.mode = ir::ToolChoiceMode::Auto;
  } else if (*type == "any") {
    choice.mode = ir::ToolChoiceMode::Required;
  } else if (*type == "none") {
    choice.mode = ir::ToolChoiceMode::None;
  } else if (*type == "tool") {
    auto name = req_string(**to, "name", "tool_choice");
    if (!name) {
      return name.error();
    }
    choice.mode = ir::ToolChoiceMode::Function;
    choice.function = std::move(*name);
  } else {
    return bad("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
  }
  auto no_parallel = opt_bool(**to, "disable_parallel_tool_use", "tool_choice");
  if (!no_parallel) {
    return no_parallel.error();
  }
  if (no_parallel->value_or(false)) {
    req.parallel_tool_calls = false;
  }
  req.tool_choice = choice;
  return {};
}

Result<void> parse_thinking(const json::value& v, ir::ChatRequest& req) {
  auto to = object_at(v, "thinking");
  if (!to) {
    return to.error();
  }
  auto type = req_string(**to, "type", "thinking");
  if (!type) {
    return type.error();
  }
  if (*type == "disabled") {
    return {};
  }
  if (*type == "enabled") {
    auto budget = opt_int(**to, "budget_tokens", "thinking");
    if (!budget) {
      return budget.error();
    }
    if (!*budget) {
      return bad("thinking.enabled.budget_tokens", "Field required");
    }
    req.reasoning = req.reasoning.value_or(ir::ReasoningConfig{});
    req.reasoning->budget_tokens = **budget;
    return {};
  }
  if (*type == "adaptive") {
    // The model decides how much to think; an IR reasoning config without a budget says the
    // same to every provider (effort, if any, comes from output_config).
    req.reasoning = req.reasoning.value_or(ir::ReasoningConfig{});
    return {};
  }
  return bad("thinking.type", "Input should be 'enabled', 'disabled' or 'adaptive'");
}

// Structured output: output_config.format (GA) and the older beta top-level output_format.
Result<void> parse_format(const json::value& v, const std::string& path, ir::ChatRequest& req) {
  auto fo = object_at(v, path);
  if (!fo) {
    return fo.error();
  }
  auto type = req_string(**fo, "type", path);
  if (!type) {
    return type.error();
  }
  if (*type != "json_schema") {
    return bad(at(path, "type"), "Input should be 'json_schema'");
  }
  const json::value* schema = member(**fo, "schema");
  if (schema == nullptr || !schema->is_object()) {
    return bad(at(path, "schema"), schema == nullptr ? "Field required"
                                                     : "Input should be a valid dictionary");
  }
  ir::ResponseFormat rf;
  rf.type = ir::ResponseFormatType::JsonSchema;
  rf.schema = compact(*schema);
  rf.strict = true;  // Anthropic constrains decoding to the schema
  req.response_format = std::move(rf);
  return {};
}

Result<void> parse_output_config(const json::value& v, ir::ChatRequest& req) {
  auto oo = object_at(v, "output_config");
  if (!oo) {
    return oo.error();
  }
  for (const auto& kv : **oo) {
    if (kv.value().is_null()) {
      continue;
    }
    if (kv.key() == "effort") {
      if (!kv.value().is_string()) {
        return bad("output_config.effort", "Input should be a valid string");
      }
      req.reasoning = req.reasoning.value_or(ir::ReasoningConfig{});
      req.reasoning->effort = std::string(kv.value().get_string());
    } else if (kv.key() == "format") {
      if (auto r = parse_format(kv.value(), "output_config.format", req); !r) {
        return r.error();
      }
    } else {
      return bad(at(std::string("output_config"), kv.key()),
                 "is not supported by this gateway");
    }
  }
  return {};
}

// Fields that would change the answer but have no IR equivalent: refuse rather than ignore.
constexpr std::string_view kUnsupportedFields[] = {"container", "mcp_servers",
                                                   "context_management"};

Result<ir::ChatRequest> parse_anthropic_request(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 128;
  const json::value doc = json::parse(body, ec, {}, opts);
  if (ec) {
    return make_error(ErrorKind::InvalidRequest,
                      "There was an issue with the format of your request: invalid JSON (" +
                          ec.message() + ")");
  }
  if (!doc.is_object()) {
    return make_error(ErrorKind::InvalidRequest,
                      "There was an issue with the format of your request: the body must be a "
                      "JSON object");
  }
  const json::object& o = doc.get_object();
  for (std::string_view field : kUnsupportedFields) {
    if (member(o, field) != nullptr) {
      return bad(std::string(field), "is not supported by this gateway");
    }
  }
  ir::ChatRequest req;
  auto model = req_string(o, "model", "");
  if (!model) {
    return model.error();
  }
  req.model = std::move(*model);
  auto max_tokens = opt_int(o, "max_tokens", "");
  if (!max_tokens) {
    return max_tokens.error();
  }
  if (!*max_tokens) {
    return bad("max_tokens", "Field required");
  }
  if (**max_tokens < 1) {
    return bad("max_tokens", "Input should be greater than or equal to 1");
  }
  req.max_tokens = **max_tokens;

  const json::value* messages = member(o, "messages");
  if (messages == nullptr) {
    return bad("messages", "Field required");
  }
  if (!messages->is_array()) {
    return bad("messages", "Input should be a valid list");
  }
  const json::array& msgs = messages->get_array();
  if (msgs.empty()) {
    return bad("messages", "at least one message is required");
  }
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (auto r = parse_message(msgs[i], at(std::string("messages"), i), i + 1 == msgs.size(),
                               req.messages);
        !r) {
      return r.error();
    }
  }
  if (const json::value* system = member(o, "system")) {
    if (auto r = parse_system(*system, req.system); !r) {
      return r.error();
    }
  }
  if (const json::value* tools = member(o, "tools")) {
    if (auto r = parse_tools(*tools, req.tools); !r) {
      return r.error();
    }
  }
  if (const json::value* tc = member(o, "tool_choice")) {
    if (auto r = parse_tool_choice(*tc, req); !r) {
      return r.error();
    }
  }
  if (const json::value* thinking = member(o, "thinking")) {
    if (auto r = parse_thinking(*thinking, req); !r) {
      return r.error();
    }
  }
  if (const json::value* oc = member(o, "output_config")) {
    if (auto r = parse_output_config(*oc, req); !r) {
      return r.error();
    }
  }
  if (const json::value* of = member(o, "output_format")) {
    if (auto r = parse_format(*of, "output_format", req); !r) {
      return r.error();
    }
  }
  auto temperature = opt_double(o, "temperature", "");
  if (!temperature) {
    return temperature.error();
  }
  req.temperature = *temperature;
  auto top_p = opt_double(o, "top_p", "");
  if (!top_p) {
    return top_p.error();
  }
  req.top_p = *top_p;
  auto top_k = opt_int(o, "top_k", "");
  if (!top_k) {
    return top_k.error();
  }
  req.top_k = *top_k;
  if (const json::value* stops = member(o, "stop_sequences")) {
    if (!stops->is_array()) {
      return bad("stop_sequences", "Input should be a valid list");
    }
    const json::array& a = stops->get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) {
        return bad(at(std::string("stop_sequences"), i), "Input should be a valid string");
      }
      req.stop.emplace_back(a[i].get_string());
    }
  }
  auto stream = opt_bool(o, "stream", "");
  if (!stream) {
    return stream.error();
  }
  req.stream = stream->value_or(false);
  if (const json::value* md = member(o, "metadata")) {
    auto mo = object_at(*md, "metadata");
    if (!mo) {
      return mo.error();
    }
    auto user = opt_string(**mo, "user_id", "metadata");
    if (!user) {
      return user.error();
    }
    req.user = user->value_or("");
  }
  // Everything else (service_tier, inference_geo, anthropic_version, unknown future fields) is
  // accepted and ignored: it does not change what the model is asked.
  return req;
}

// ---------------------------------------------------------------------------------------------
// Responses

std::string message_id(const std::string& ir_id) {
  if (ir_id.starts_with("msg_")) {
    return ir_id;
  }
  if (ir_id.empty()) {
    return "msg_" + generate_request_id().substr(4);
  }
  return "msg_" + ir_id;
}

std::string tool_use_id(const std::string& ir_id) {
  return ir_id.empty() ? "toolu_" + generate_request_id().substr(4) : ir_id;
}

// The tool_use `input` object for an IR arguments text. Anthropic always sends an object; text
// that is not a JSON object (a call cut off by max_tokens, a model that wrote garbage) becomes
// {} so the client's schema validation reports the missing fields, as for any bad call.
json::value tool_input(const std::string& arguments) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (ec || !v.is_object()) {
    return json::object();
  }
  return v;
}

std::int64_t anthropic_input(const ir::Usage& u) {
  const std::int64_t in = u.input_tokens.value_or(0) - u.cached_input_tokens.value_or(0) -
                          u.cache_write_tokens.value_or(0);
  return std::max<std::int64_t>(in, 0);
}

json::object usage_json(const ir::Usage& u) {
  json::object o;
  o["input_tokens"] = anthropic_input(u);
  o["cache_creation_input_tokens"] = u.cache_write_tokens.value_or(0);
  o["cache_read_input_tokens"] = u.cached_input_tokens.value_or(0);
  o["output_tokens"] = u.output_tokens.value_or(0);
  return o;
}

json::value content_block(const ir::Part& p) {
  json::object b;
  if (const auto* t = std::get_if<ir::TextPart>(&p)) {
    b["type"] = "text";
    b["text"] = t->text;
  } else if (const auto* c = std::get_if<ir::ToolCallPart>(&p)) {
    b["type"] = "tool_use";
    b["id"] = tool_use_id(c->id);
    b["name"] = c->name;
    b["input"] = tool_input(c->arguments);
  } else if (const auto* r = std::get_if<ir::ReasoningPart>(&p)) {
    if (!r->redacted_data.empty()) {
      b["type"] = "redacted_thinking";
      b["data"] = r->redacted_data;
    } else {
      b["type"] = "thinking";
      b["thinking"] = r->text;
      b["signature"] = r->signature;
    }
  } else {
    return nullptr;  // images and tool results never appear in an assistant answer
  }
  return b;
}

std::string sse(std::string_view type, const json::object& data) {
  std::string out = "event: ";
  out += type;
  out += "\ndata: ";
  write_json(out, data);
  out += "\n\n";
  return out;
}

json::object error_object(const Error& error) {
  json::object inner;
  inner["type"] = anthropic_error_type(error);
  inner["message"] = error.public_message;
  json::object o;
  o["type"] = "error";
  o["error"] = std::move(inner);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Streaming

class AnthropicStreamEncoder final : public StreamEncoder {
 public:
  explicit AnthropicStreamEncoder(std::string model) : model_(std::move(model)) {}

  void on_event(const ir::StreamEvent& e, std::string& out) override;
  void finish(std::string& out) override;
  void fail(const Error& error, std::string& out) override;

 private:
  enum class Block { None, Text, Thinking, ToolUse };

  void ensure_started(std::string& out);
  void open_block(Block kind, json::object content_block, std::string& out);
  void close_block(std::string& out);
  void delta(int index, json::object d, std::string& out);
  void on_reasoning(const ir::StreamEvent& e, std::string& out);

  std::string id_;
  std::string model_;
  ir::Usage usage_;
  json::object start_usage_;  // what message_start reported
  bool started_ = false;
  bool done_ = false;
  Block open_ = Block::None;
  int open_index_ = -1;  // Anthropic index of the open block
  int next_index_ = 0;
  int open_tool_ = -1;      // IR tool index of the open tool_use block
  bool signed_ = false;     // the open thinking block already carries its signature
  std::map<int, int> tool_blocks_;  // IR tool index -> Anthropic block index
  std::optional<ir::StreamEvent> finish_;
};

void AnthropicStreamEncoder::ensure_started(std::string& out) {
  if (started_) {
    return;
  }
  started_ = true;
  // Deferred to the first content (or the end) so usage the upstream reports right after its
  // own start (Anthropic's message_start, Gemini's first chunk) is in it.
  start_usage_ = usage_json(usage_);
  json::object msg;
  msg["id"] = message_id(id_);
  msg["type"] = "message";
  msg["role"] = "assistant";
  msg["content"] = json::array();
  msg["model"] = model_;
  msg["stop_reason"] = nullptr;
  msg["stop_sequence"] = nullptr;
  msg["usage"] = start_usage_;
  json::object ev;
  ev["type"] = "message_start";
  ev["message"] = std::move(msg);
  out += sse("message_start", ev);
}

void AnthropicStreamEncoder::open_block(Block kind, json::object content_block, std::string& out) {
  close_block(out);
  ensure_started(out);
  open_ = kind;
  open_index_ = next_index_++;
  signed_ = false;
  json::object ev;
  ev["type"] = "content_block_start";
  ev["index"] = open_index_;
  ev["content_block"] = std::move(content_block);
  out += sse("content_block_start", ev);
}

void AnthropicStreamEncoder::close_block(std::string& out) {
  if (open_ == Block::None) {
    return;
  }
  json::object ev;
  ev["type"] = "content_block_stop";
  ev["index"] = open_index_;
  out += sse("content_block_stop", ev);
  open_ = Block::None;
  open_tool_ = -1;
}

void AnthropicStreamEncoder::delta(int index, json::object d, std::string& out) {
  json::object ev;
  ev["type"] = "content_block_delta";
  ev["index"] = index;
  ev["delta"] = std::move(d);
  out += sse("content_block_delta", ev);
}

void AnthropicStreamEncoder::on_reasoning(const ir::StreamEvent& e, std::string& out) {
  if (!e.redacted_data.empty()) {
    // Anthropic sends a redacted_thinking block whole in its content_block_start.
    json::object b;
    b["type"] = "redacted_thinking";
    b["data"] = e.redacted_data;
    open_block(Block::Thinking, std::move(b), out);
    close_block(out);
  }
  if (!e.text.empty()) {
    if (open_ != Block::Thinking || signed_) {
      json::object b;
      b["type"] = "thinking";
      b["thinking"] = "";
      b["signature"] = "";
      open_block(Block::Thinking, std::move(b), out);
    }
    json::object d;
    d["type"] = "thinking_delta";
    d["thinking"] = e.text;
    delta(open_index_, std::move(d), out);
  }
  if (!e.signature.empty()) {
    if (open_ != Block::Thinking || signed_) {
      json::object b;
      b["type"] = "thinking";
      b["thinking"] = "";
      b["signature"] = "";
      open_block(Block::Thinking, std::move(b), out);
    }
    json::object d;
    d["type"] = "signature_delta";
    d["signature"] = e.signature;
    delta(open_index_, std::move(d), out);
    signed_ = true;
  }
}

void AnthropicStreamEncoder::on_event(const ir::StreamEvent& e, std::string& out) {
  if (done_) {
    return;
  }
  using T = ir::StreamEvent::Type;
  switch (e.type) {
    case T::Start:
      if (!e.id.empty()) {
        id_ = e.id;
      }
      if (!e.model.empty()) {
        model_ = e.model;
      }
      return;
    case T::TextDelta: {
      if (e.text.empty()) {
        return;
      }
      if (open_ != Block::Text) {
        json::object b;
        b["type"] = "text";
        b["text"] = "";
        open_block(Block::Text, std::move(b), out);
      }
      json::object d;
      d["type"] = "text_delta";
      d["text"] = e.text;
      delta(open_index_, std::move(d), out);
      return;
    }
    case T::ReasoningDelta: on_reasoning(e, out); return;
    case T::ToolCallStart: {
      json::object b;
      b["type"] = "tool_use";
      b["id"] = tool_use_id(e.id);
      b["name"] = e.name;
      b["input"] = json::object();
      open_block(Block::ToolUse, std::move(b), out);
      open_tool_ = e.index;
      tool_blocks_[e.index] = open_index_;
      return;
    }
    case T::ToolCallDelta: {
      if (e.text.empty()) {
        return;
      }
      int index = open_index_;
      if (open_ != Block::ToolUse || open_tool_ != e.index) {
        const auto it = tool_blocks_.find(e.index);
        if (it != tool_blocks_.end()) {
          // A provider interleaving parallel calls: the block was closed when another began;
          // the SDKs accumulate deltas by index, so address the earlier block.
          index = it->second;
        } else {
          json::object b;  // arguments without a start: a call we know nothing else about
          b["type"] = "tool_use";
          b["id"] = tool_use_id("");
          b["name"] = "";
          b["input"] = json::object();
          open_block(Block::ToolUse, std::move(b), out);
          open_tool_ = e.index;
          tool_blocks_[e.index] = open_index_;
          index = open_index_;
        }
      }
      json::object d;
      d["type"] = "input_json_delta";
      d["partial_json"] = e.text;
      delta(index, std::move(d), out);
      return;
    }
    case T::Usage: {
      const ir::Usage& u = e.usage;
      if (u.input_tokens) {
        usage_.input_tokens = u.input_tokens;
      }
      if (u.output_tokens) {
        usage_.output_tokens = u.output_tokens;
      }
      if (u.cached_input_tokens) {
        usage_.cached_input_tokens = u.cached_input_tokens;
      }
      if (u.cache_write_tokens) {
        usage_.cache_write_tokens = u.cache_write_tokens;
      }
      if (u.reasoning_tokens) {
        usage_.reasoning_tokens = u.reasoning_tokens;
      }
      return;
    }
    case T::Finish:
      // Held: OpenAI and Bedrock report usage after their stop, and message_delta carries both.
      finish_ = e;
      return;
    case T::Error: fail(e.error, out); return;
  }
}

void AnthropicStreamEncoder::finish(std::string& out) {
  if (done_) {
    return;
  }
  ensure_started(out);
  close_block(out);
  done_ = true;
  json::object d;
  const ir::FinishReason reason = finish_ ? finish_->finish : ir::FinishReason::Stop;
  d["stop_reason"] = anthropic_stop_reason(reason);
  d["stop_sequence"] = finish_ ? nullable(finish_->stop_sequence) : json::value(nullptr);
  // output_tokens always; the input counts only when they differ from message_start's (an
  // upstream that reports them at the end), which the SDKs then take over.
  const json::object now = usage_json(usage_);
  json::object usage;
  for (const char* key :
       {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}) {
    if (now.at(key) != start_usage_.at(key)) {
      usage[key] = now.at(key);
    }
  }
  usage["output_tokens"] = now.at("output_tokens");
  json::object ev;
  ev["type"] = "message_delta";
  ev["delta"] = std::move(d);
  ev["usage"] = std::move(usage);
  out += sse("message_delta", ev);
  json::object stop;
  stop["type"] = "message_stop";
  out += sse("message_stop", stop);
}

void AnthropicStreamEncoder::fail(const Error& error, std::string& out) {
  if (done_) {
    return;
  }
  done_ = true;
  // Like Anthropic's own mid-stream failures: an error event, no message_stop.
  out += sse("error", error_object(error));
}

// ---------------------------------------------------------------------------------------------

class AnthropicMessagesCodec final : public Codec {
 public:
  std::string_view name() const override { return "anthropic-messages"; }

  Result<ir::ChatRequest> parse_request(std::string_view body) const override {
    return parse_anthropic_request(body);
  }

  std::string render_response(const ir::ChatResponse& resp,
                              const ir::ChatRequest& req) const override {
    json::object o;
    o["id"] = message_id(resp.id);
    o["type"] = "message";
    o["role"] = "assistant";
    o["model"] = resp.model.empty() ? req.model : resp.model;
    json::array content;
    for (const auto& p : resp.content) {
      json::value b = content_block(p);
      if (!b.is_null()) {
        content.push_back(std::move(b));
      }
    }
    o["content"] = std::move(content);
    o["stop_reason"] = anthropic_stop_reason(resp.finish.value_or(ir::FinishReason::Stop));
    o["stop_sequence"] = nullable(resp.stop_sequence);
    o["usage"] = usage_json(resp.usage);
    return compact(o);
  }

  std::unique_ptr<StreamEncoder> stream_encoder(const ir::ChatRequest& req) const override {
    return std::make_unique<AnthropicStreamEncoder>(req.model);
  }

  int status_for(const Error& error) const override {
    if (error.status == 0 && error.code == "overloaded") {
      return 529;  // Anthropic SDKs retry and report overloaded_error on 529
    }
    return http_status(error);
  }
  std::string render_error(const Error& error) const override {
    return compact(error_object(error));
  }
};

}  // namespace

std::string_view anthropic_error_type(const Error& error) {
  if (error.code == "overloaded") {
    return "overloaded_error";  // also mid-stream, where no status is sent
  }
  const int status = http_status(error);
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: break;
  }
  return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
}

std::string_view anthropic_stop_reason(ir::FinishReason reason) {
  switch (reason) {
    case ir::FinishReason::Stop: return "end_turn";
    case ir::FinishReason::StopSequence: return "stop_sequence";
    case ir::FinishReason::Length: return "max_tokens";
    case ir::FinishReason::ToolCalls: return "tool_use";
    case ir::FinishReason::ContentFilter: return "refusal";
    case ir::FinishReason::Other: return "end_turn";
  }
  return "end_turn";
}

const Codec& anthropic_messages_codec() {
  static const AnthropicMessagesCodec codec;
  return codec;
}

}  // namespace sy::inbound
