#include "ir/debug_json.h"

#include <boost/json/serialize.hpp>
#include <stdexcept>

namespace sy::ir {

namespace json = boost::json;

namespace {

void put_opt(json::object& o, const char* k, const std::optional<std::int64_t>& v) {
  if (v) {
    o[k] = *v;
  }
}
void put_opt(json::object& o, const char* k, const std::optional<double>& v) {
  if (v) {
    o[k] = *v;
  }
}
void put_str(json::object& o, const char* k, const std::string& v) {
  if (!v.empty()) {
    o[k] = v;
  }
}

const char* role_name(Role r) {
  switch (r) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
    case Role::Tool: return "tool";
  }
  return "user";
}

const char* event_type_name(StreamEvent::Type t) {
  switch (t) {
    case StreamEvent::Type::Start: return "start";
    case StreamEvent::Type::TextDelta: return "text";
    case StreamEvent::Type::ReasoningDelta: return "reasoning";
    case StreamEvent::Type::ToolCallStart: return "tool_call_start";
    case StreamEvent::Type::ToolCallDelta: return "tool_call_delta";
    case StreamEvent::Type::Usage: return "usage";
    case StreamEvent::Type::Finish: return "finish";
    case StreamEvent::Type::Error: return "error";
  }
  return "unknown";
}

}  // namespace

json::value to_json(const Usage& u) {
  json::object o;
  put_opt(o, "input", u.input_tokens);
  put_opt(o, "output", u.output_tokens);
  put_opt(o, "cached_input", u.cached_input_tokens);
  put_opt(o, "cache_write", u.cache_write_tokens);
  put_opt(o, "reasoning", u.reasoning_tokens);
  return o;
}

json::value to_json(const Part& p) {
  json::object o;
  if (const auto* t = std::get_if<TextPart>(&p)) {
    o["type"] = "text";
    o["text"] = t->text;
  } else if (const auto* i = std::get_if<ImagePart>(&p)) {
    o["type"] = "image";
    put_str(o, "url", i->url);
    put_str(o, "media_type", i->media_type);
    put_str(o, "data", i->data);
    put_str(o, "detail", i->detail);
  } else if (const auto* c = std::get_if<ToolCallPart>(&p)) {
    o["type"] = "tool_call";
    o["id"] = c->id;
    o["name"] = c->name;
    o["arguments"] = c->arguments;
    put_str(o, "signature", c->signature);
  } else if (const auto* r = std::get_if<ToolResultPart>(&p)) {
    o["type"] = "tool_result";
    o["tool_call_id"] = r->tool_call_id;
    o["content"] = r->content;
    if (r->is_error) {
      o["is_error"] = true;
    }
  } else if (const auto* z = std::get_if<ReasoningPart>(&p)) {
    o["type"] = "reasoning";
    put_str(o, "text", z->text);
    put_str(o, "signature", z->signature);
    put_str(o, "redacted_data", z->redacted_data);
  }
  return o;
}

json::value to_json(const ChatRequest& r) {
  json::object o;
  o["model"] = r.model;
  if (!r.system.empty()) {
    json::array a;
    for (const auto& s : r.system) {
      a.push_back(json::string(s));
    }
    o["system"] = std::move(a);
  }
  json::array msgs;
  for (const auto& m : r.messages) {
    json::object mo;
    mo["role"] = role_name(m.role);
    put_str(mo, "name", m.name);
    json::array parts;
    for (const auto& p : m.content) {
      parts.push_back(to_json(p));
    }
    mo["content"] = std::move(parts);
    msgs.push_back(std::move(mo));
  }
  o["messages"] = std::move(msgs);
  if (!r.tools.empty()) {
    json::array tools;
    for (const auto& t : r.tools) {
      json::object to;
      to["name"] = t.name;
      put_str(to, "description", t.description);
      put_str(to, "parameters", t.parameters);
      if (t.strict) {
        to["strict"] = true;
      }
      tools.push_back(std::move(to));
    }
    o["tools"] = std::move(tools);
  }
  if (r.tool_choice) {
    static const char* kModes[] = {"auto", "none", "required", "function"};
    json::object tc;
    tc["mode"] = kModes[static_cast<int>(r.tool_choice->mode)];
    put_str(tc, "function", r.tool_choice->function);
    o["tool_choice"] = std::move(tc);
  }
  if (r.parallel_tool_calls) {
    o["parallel_tool_calls"] = *r.parallel_tool_calls;
  }
  put_opt(o, "temperature", r.temperature);
  put_opt(o, "top_p", r.top_p);
  put_opt(o, "top_k", r.top_k);
  put_opt(o, "max_tokens", r.max_tokens);
  if (!r.stop.empty()) {
    json::array a;
    for (const auto& s : r.stop) {
      a.push_back(json::string(s));
    }
    o["stop"] = std::move(a);
  }
  put_opt(o, "seed", r.seed);
  put_opt(o, "presence_penalty", r.presence_penalty);
  put_opt(o, "frequency_penalty", r.frequency_penalty);
  put_opt(o, "n", r.n);
  if (r.logprobs) {
    o["logprobs"] = true;
  }
  put_opt(o, "top_logprobs", r.top_logprobs);
  if (r.response_format) {
    static const char* kTypes[] = {"text", "json_object", "json_schema"};
    json::object rf;
    rf["type"] = kTypes[static_cast<int>(r.response_format->type)];
    put_str(rf, "name", r.response_format->name);
    put_str(rf, "schema", r.response_format->schema);
    if (r.response_format->strict) {
      rf["strict"] = true;
    }
    o["response_format"] = std::move(rf);
  }
  if (r.reasoning) {
    json::object rz;
    put_str(rz, "effort", r.reasoning->effort);
    put_opt(rz, "budget_tokens", r.reasoning->budget_tokens);
    o["reasoning"] = std::move(rz);
  }
  if (r.stream) {
    o["stream"] = true;
  }
  if (r.include_usage) {
    o["include_usage"] = true;
  }
  put_str(o, "user", r.user);
  if (!r.metadata.empty()) {
    json::object md;
    for (const auto& [k, v] : r.metadata) {
      md[k] = v;
    }
    o["metadata"] = std::move(md);
  }
  return o;
}

json::value to_json(const ChatResponse& r) {
  json::object o;
  o["id"] = r.id;
  o["model"] = r.model;
  if (r.created) {
    o["created"] = r.created;
  }
  json::array parts;
  for (const auto& p : r.content) {
    parts.push_back(to_json(p));
  }
  o["content"] = std::move(parts);
  if (r.finish) {
    o["finish"] = finish_reason_name(*r.finish);
  }
  put_str(o, "finish_raw", r.finish_raw);
  put_str(o, "stop_sequence", r.stop_sequence);
  o["usage"] = to_json(r.usage);
  return o;
}

json::value to_json(const StreamEvent& e) {
  json::object o;
  o["type"] = event_type_name(e.type);
  switch (e.type) {
    case StreamEvent::Type::Start:
      put_str(o, "id", e.id);
      put_str(o, "model", e.model);
      break;
    case StreamEvent::Type::TextDelta:
      o["text"] = e.text;
      break;
    case StreamEvent::Type::ReasoningDelta:
      put_str(o, "text", e.text);
      put_str(o, "signature", e.signature);
      put_str(o, "redacted_data", e.redacted_data);
      break;
    case StreamEvent::Type::ToolCallStart:
      o["index"] = e.index;
      o["id"] = e.id;
      o["name"] = e.name;
      put_str(o, "signature", e.signature);
      break;
    case StreamEvent::Type::ToolCallDelta:
      o["index"] = e.index;
      o["arguments"] = e.text;
      break;
    case StreamEvent::Type::Usage:
      o["usage"] = to_json(e.usage);
      break;
    case StreamEvent::Type::Finish:
      o["finish"] = finish_reason_name(e.finish);
      put_str(o, "finish_raw", e.finish_raw);
      put_str(o, "stop_sequence", e.stop_sequence);
      break;
    case StreamEvent::Type::Error:
      o["kind"] = static_cast<int>(e.error.kind);
      o["message"] = e.error.public_message;
      put_str(o, "code", e.error.code);
      if (e.error.status) {
        o["status"] = e.error.status;
      }
      break;
  }
  return o;
}

std::string events_to_jsonl(const std::vector<StreamEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    out += json::serialize(to_json(e));
    out += '\n';
  }
  return out;
}

namespace {
void pretty_into(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string pad_in(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.as_object()) {
      if (!first) {
        out += ",\n";
      }
      first = false;
      out += pad_in + json::serialize(json::value(kv.key())) + ": ";
      pretty_into(out, kv.value(), indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) {
        out += ",\n";
      }
      first = false;
      out += pad_in;
      pretty_into(out, e, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string pretty(const json::value& v) {
  std::string out;
  pretty_into(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace sy::ir

namespace sy::ir {

namespace {

const json::object& obj(const json::value& v, const char* what) {
  if (!v.is_object()) {
    throw std::invalid_argument(std::string(what) + ": expected an object");
  }
  return v.as_object();
}
std::string str(const json::object& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end()) {
    return {};
  }
  if (!it->value().is_string()) {
    throw std::invalid_argument(std::string(k) + ": expected a string");
  }
  return std::string(it->value().as_string());
}
std::optional<std::int64_t> opt_int(const json::object& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end()) {
    return std::nullopt;
  }
  return it->value().to_number<std::int64_t>();
}
std::optional<double> opt_double(const json::object& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end()) {
    return std::nullopt;
  }
  return it->value().to_number<double>();
}
bool flag(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().as_bool();
}

Role role_from(const std::string& s) {
  if (s == "system") {
    return Role::System;
  }
  if (s == "assistant") {
    return Role::Assistant;
  }
  if (s == "tool") {
    return Role::Tool;
  }
  if (s == "user") {
    return Role::User;
  }
  throw std::invalid_argument("role: unknown \"" + s + "\"");
}

Part part_from(const json::value& v) {
  const auto& o = obj(v, "content[]");
  const std::string type = str(o, "type");
  if (type == "text") {
    return TextPart{str(o, "text")};
  }
  if (type == "image") {
    return ImagePart{str(o, "url"), str(o, "media_type"), str(o, "data"), str(o, "detail")};
  }
  if (type == "tool_call") {
    return ToolCallPart{str(o, "id"), str(o, "name"), str(o, "arguments"), str(o, "signature")};
  }
  if (type == "tool_result") {
    return ToolResultPart{str(o, "tool_call_id"), str(o, "content"), flag(o, "is_error")};
  }
  if (type == "reasoning") {
    return ReasoningPart{str(o, "text"), str(o, "signature"), str(o, "redacted_data")};
  }
  throw std::invalid_argument("content[].type: unknown \"" + type + "\"");
}

}  // namespace

ChatRequest request_from_json(const json::value& v) {
  const auto& o = obj(v, "request");
  ChatRequest r;
  r.model = str(o, "model");
  if (auto it = o.find("system"); it != o.end()) {
    for (const auto& s : it->value().as_array()) {
      r.system.emplace_back(s.as_string());
    }
  }
  if (auto it = o.find("messages"); it != o.end()) {
    for (const auto& mv : it->value().as_array()) {
      const auto& mo = obj(mv, "messages[]");
      Message m;
      m.role = role_from(str(mo, "role"));
      m.name = str(mo, "name");
      if (auto c = mo.find("content"); c != mo.end()) {
        for (const auto& pv : c->value().as_array()) {
          m.content.push_back(part_from(pv));
        }
      }
      r.messages.push_back(std::move(m));
    }
  }
  if (auto it = o.find("tools"); it != o.end()) {
    for (const auto& tv : it->value().as_array()) {
      const auto& to = obj(tv, "tools[]");
      r.tools.push_back(Tool{str(to, "name"), str(to, "description"), str(to, "parameters"),
                             flag(to, "strict")});
    }
  }
  if (auto it = o.find("tool_choice"); it != o.end()) {
    const auto& tc = obj(it->value(), "tool_choice");
    const std::string mode = str(tc, "mode");
    ToolChoice choice;
    if (mode == "none") {
      choice.mode = ToolChoiceMode::None;
    } else if (mode == "required") {
      choice.mode = ToolChoiceMode::Required;
    } else if (mode == "function") {
      choice.mode = ToolChoiceMode::Function;
    }
    choice.function = str(tc, "function");
    r.tool_choice = choice;
  }
  if (auto it = o.find("parallel_tool_calls"); it != o.end()) {
    r.parallel_tool_calls = it->value().as_bool();
  }
  r.temperature = opt_double(o, "temperature");
  r.top_p = opt_double(o, "top_p");
  r.top_k = opt_int(o, "top_k");
  r.max_tokens = opt_int(o, "max_tokens");
  if (auto it = o.find("stop"); it != o.end()) {
    for (const auto& s : it->value().as_array()) {
      r.stop.emplace_back(s.as_string());
    }
  }
  r.seed = opt_int(o, "seed");
  r.presence_penalty = opt_double(o, "presence_penalty");
  r.frequency_penalty = opt_double(o, "frequency_penalty");
  r.n = opt_int(o, "n");
  r.logprobs = flag(o, "logprobs");
  r.top_logprobs = opt_int(o, "top_logprobs");
  if (auto it = o.find("response_format"); it != o.end()) {
    const auto& rf = obj(it->value(), "response_format");
    ResponseFormat f;
    const std::string type = str(rf, "type");
    f.type = type == "json_object"   ? ResponseFormatType::JsonObject
             : type == "json_schema" ? ResponseFormatType::JsonSchema
                                     : ResponseFormatType::Text;
    f.name = str(rf, "name");
    f.schema = str(rf, "schema");
    f.strict = flag(rf, "strict");
    r.response_format = f;
  }
  if (auto it = o.find("reasoning"); it != o.end()) {
    const auto& rz = obj(it->value(), "reasoning");
    r.reasoning = ReasoningConfig{str(rz, "effort"), opt_int(rz, "budget_tokens")};
  }
  r.stream = flag(o, "stream");
  r.include_usage = flag(o, "include_usage");
  r.user = str(o, "user");
  if (auto it = o.find("metadata"); it != o.end()) {
    for (const auto& kv : obj(it->value(), "metadata")) {
      r.metadata[std::string(kv.key())] = std::string(kv.value().as_string());
    }
  }
  return r;
}

}  // namespace sy::ir
