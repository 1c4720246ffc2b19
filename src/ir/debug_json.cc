#include "ir/debug_json.h"

#include <boost/json/serialize.hpp>

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
