#include "providers/simulator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <limits>
#include <utility>

#include <boost/json.hpp>

namespace sy::providers {

namespace {

// The default answer: this sentence, cycled word by word. It starts with a space so that every
// word, including the first one after a wrap, is a contiguous " word" slice of static storage;
// only the answer's very first piece drops that space.
// Twenty words, so the default answer (SimulatorContent::tokens = 20) is one whole sentence.
constexpr std::string_view kSentence =
    " The simulated upstream answers every request with this fixed sentence, so demos, tests,"
    " drills and benchmarks all see identical words.";

// The tool-call arguments, split the way OpenAI splits them: through keys and punctuation.
constexpr std::array<std::string_view, 5> kArgumentFragments = {
    "{\"", "query", "\":\"", "simulated", "\"}"};

constexpr std::string_view kUsageDetails =
    ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}";

// What one answer consists of: the pieces emitted (one per completion token), whether they are
// tool-call argument fragments or content words, and why the answer ended.
struct Plan {
  std::vector<std::string_view> pieces;
  bool tool_call = false;
  std::string_view finish_reason;  // a JSON string literal, quotes included
  std::size_t text_bytes = 0;      // sum of the pieces' sizes
};

// The words of `text` as contiguous slices whose concatenation is `text` itself: each slice is
// a word with the spaces before it; the last one also keeps any trailing spaces.
std::vector<std::string_view> split_text(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') {
      ++pos;
    }
    if (pos == text.size()) {
      break;
    }
    while (pos < text.size() && text[pos] != ' ') {
      ++pos;
    }
    out.push_back(text.substr(start, pos - start));
    start = pos;
  }
  if (start < text.size()) {
    if (out.empty()) {
      // Only spaces: keep the bytes (the answer is the text verbatim) as a single piece.
      out.push_back(text);
    } else {
      const std::string_view last = out.back();
      out.back() = std::string_view(last.data(), last.size() + (text.size() - start));
    }
  }
  return out;
}

// The first `count` words of the cycled kSentence, each a " word" slice of static storage
// (the first without its space).
std::vector<std::string_view> generated_words(std::uint32_t count) {
  static const std::vector<std::string_view> kWords = [] {
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos < kSentence.size()) {
      std::size_t next = kSentence.find(' ', pos + 1);
      if (next == std::string_view::npos) {
        next = kSentence.size();
      }
      words.push_back(kSentence.substr(pos, next - pos));
      pos = next;
    }
    return words;
  }();
  std::vector<std::string_view> out;
  out.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    out.push_back(kWords[i % kWords.size()]);
  }
  if (!out.empty()) {
    out.front().remove_prefix(1);
  }
  return out;
}

Plan make_plan(const SimulatorContent& content, const SimRequest& req) {
  Plan plan;
  plan.tool_call = content.tool_calls && !req.tool_name.empty();
  if (plan.tool_call) {
    plan.pieces.assign(kArgumentFragments.begin(), kArgumentFragments.end());
  } else if (content.text.empty()) {
    plan.pieces = generated_words(content.tokens);
  } else {
    plan.pieces = split_text(content.text);
  }
  plan.finish_reason = plan.tool_call ? "\"tool_calls\"" : "\"stop\"";
  if (req.max_tokens >= 0 && static_cast<std::uint64_t>(req.max_tokens) < plan.pieces.size()) {
    plan.pieces.resize(static_cast<std::size_t>(req.max_tokens));
    plan.finish_reason = "\"length\"";
  }
  for (const std::string_view piece : plan.pieces) {
    plan.text_bytes += piece.size();
  }
  return plan;
}

// Appends `s` as a JSON string literal. Bytes >= 0x80 pass through (the text is UTF-8).
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escaped, sizeof escaped);
        break;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

// Worst-case size of `s` as a JSON string literal is 6 bytes per byte; the common case (no
// escapes) is the size plus quotes. Reserve for the common case plus a little slack.
std::size_t json_size_hint(std::string_view s) { return s.size() + 8; }

void append_usage(std::string& out, std::int64_t prompt, std::int64_t completion) {
  out.append("{\"prompt_tokens\":");
  append_int(out, prompt);
  out.append(",\"completion_tokens\":");
  append_int(out, completion);
  out.append(",\"total_tokens\":");
  append_int(out, prompt + completion);
  out.append(kUsageDetails);
}

// "call_" and 24 base-62 characters, like OpenAI's ids, derived from the completion id.
std::string tool_call_id(std::string_view completion_id) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // FNV-1a, then a 64-bit mixer (splitmix64 finaliser) to draw more characters.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : completion_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  std::string out = "call_";
  out.reserve(5 + 24);
  for (int i = 0; i < 24; ++i) {
    h += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    out.push_back(kAlphabet[z % kAlphabet.size()]);
  }
  return out;
}

// Writes chat.completion.chunk events. The part of every chunk before the delta is built once;
// each event is that prefix, the delta and a fixed tail.
class ChunkWriter {
 public:
  ChunkWriter(std::string_view id, std::int64_t created, std::string_view model,
              bool include_usage)
      : include_usage_(include_usage) {
    head_.reserve(160 + id.size() + model.size());
    head_.append("data: {\"id\":");
    append_json_string(head_, id);
    head_.append(",\"object\":\"chat.completion.chunk\",\"created\":");
    append_int(head_, created);
    head_.append(",\"model\":");
    append_json_string(head_, model);
    head_.append(",\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":");
    head_size_ = head_.size();
    head_.append("[{\"index\":0,\"delta\":");
  }

  // A new event holding the prefix up to and including "delta":, room for `extra` more bytes.
  std::string open(std::size_t extra) const {
    std::string event;
    event.reserve(head_.size() + extra + 64);
    event.append(head_);
    return event;
  }

  // Ends an event opened with open() after its delta; `finish_reason` is a JSON literal.
  std::string close(std::string event, std::string_view finish_reason = "null") const {
    event.append(",\"logprobs\":null,\"finish_reason\":");
    event.append(finish_reason);
    event.append("}]");
    if (include_usage_) {
      event.append(",\"usage\":null");
    }
    event.append("}\n\n");
    return event;
  }

  std::string usage_event(std::int64_t prompt, std::int64_t completion) const {
    std::string event;
    event.reserve(head_size_ + 320);
    event.append(head_, 0, head_size_);
    event.append("[],\"usage\":");
    append_usage(event, prompt, completion);
    event.append("}\n\n");
    return event;
  }

 private:
  std::string head_;
  std::size_t head_size_ = 0;  // head_ up to and including "choices":
  bool include_usage_;
};

// Member lookups that never throw: nullptr when `v` is not an object or lacks `key`.
const boost::json::value* member(const boost::json::value& v, std::string_view key) {
  const boost::json::object* obj = v.if_object();
  if (obj == nullptr) {
    return nullptr;
  }
  return obj->if_contains(key);
}

const boost::json::value* member(const boost::json::value* v, std::string_view key) {
  return v == nullptr ? nullptr : member(*v, key);
}

std::string_view string_or_empty(const boost::json::value* v) {
  if (v == nullptr || !v->is_string()) {
    return {};
  }
  const boost::json::string& s = v->get_string();
  return {s.data(), s.size()};
}

bool bool_or(const boost::json::value* v, bool fallback) {
  return v != nullptr && v->is_bool() ? v->get_bool() : fallback;
}

// A non-negative integer (an integral double too), or -1.
std::int64_t count_or_none(const boost::json::value* v) {
  if (v == nullptr) {
    return -1;
  }
  if (v->is_int64()) {
    return v->get_int64() >= 0 ? v->get_int64() : -1;
  }
  if (v->is_uint64()) {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(v->get_uint64() > kMax ? kMax : v->get_uint64());
  }
  if (v->is_double()) {
    const double d = v->get_double();
    if (d >= 0 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
  }
  return -1;
}

// Characters (UTF-8 code points) in a string.
std::int64_t char_count(std::string_view s) {
  std::int64_t n = 0;
  for (const char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

// Characters of a message "content": a string, or an array of parts whose "text" counts.
std::int64_t content_chars(const boost::json::value* content) {
  if (content == nullptr) {
    return 0;
  }
  if (content->is_string()) {
    return char_count(string_or_empty(content));
  }
  std::int64_t n = 0;
  if (const boost::json::array* parts = content->if_array()) {
    for (const boost::json::value& part : *parts) {
      n += char_count(string_or_empty(member(part, "text")));
    }
  }
  return n;
}

// The tool the answer calls: none when tool_choice is "none"; the named one when tool_choice
// names a function; otherwise the first function tool offered.
std::string_view pick_tool(const boost::json::value& body) {
  const boost::json::value* choice = member(body, "tool_choice");
  if (string_or_empty(choice) == "none") {
    return {};
  }
  const boost::json::array* tools = nullptr;
  if (const boost::json::value* t = member(body, "tools")) {
    tools = t->if_array();
  }
  if (tools == nullptr || tools->empty()) {
    return {};
  }
  const std::string_view forced = string_or_empty(member(member(choice, "function"), "name"));
  if (!forced.empty()) {
    return forced;
  }
  for (const boost::json::value& tool : *tools) {
    const std::string_view name = string_or_empty(member(member(tool, "function"), "name"));
    if (!name.empty()) {
      return name;
    }
  }
  return {};
}

}  // namespace

SimRequest sim_request_from_body(std::string_view body, std::string_view upstream_model) {
  SimRequest req;
  req.model = std::string(upstream_model);
  req.prompt_tokens = 1;

  // Request bodies are usually small: parse into a stack buffer, spilling to the heap if needed.
  unsigned char buffer[4096];
  boost::json::monotonic_resource resource(buffer, sizeof buffer);
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(body, ec, &resource);
  if (ec || !root.is_object()) {
    return req;
  }

  if (req.model.empty()) {
    req.model = std::string(string_or_empty(member(root, "model")));
  }
  req.stream = bool_or(member(root, "stream"), false);
  req.include_usage = bool_or(member(member(root, "stream_options"), "include_usage"), false);
  req.tool_name = std::string(pick_tool(root));
  req.max_tokens = count_or_none(member(root, "max_completion_tokens"));
  if (req.max_tokens < 0) {
    req.max_tokens = count_or_none(member(root, "max_tokens"));
  }

  std::int64_t chars = 0;
  if (const boost::json::value* messages = member(root, "messages")) {
    if (const boost::json::array* list = messages->if_array()) {
      for (const boost::json::value& message : *list) {
        chars += content_chars(member(message, "content"));
      }
    }
  }
  req.prompt_tokens = std::max<std::int64_t>(1, (chars + 3) / 4);
  return req;
}

SimulatorScript::SimulatorScript(SimulatorContent content, std::string id, std::int64_t created)
    : content_(std::move(content)), id_(std::move(id)), created_(created) {}

std::string SimulatorScript::completion(const SimRequest& req) const {
  const Plan plan = make_plan(content_, req);
  const auto completion_tokens = static_cast<std::int64_t>(plan.pieces.size());

  std::string out;
  out.reserve(640 + id_.size() + req.model.size() + req.tool_name.size() +
              plan.text_bytes * 2);
  out.append("{\"id\":");
  append_json_string(out, id_);
  out.append(",\"object\":\"chat.completion\",\"created\":");
  append_int(out, created_);
  out.append(",\"model\":");
  append_json_string(out, req.model);
  out.append(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");

  std::string text;
  text.reserve(plan.text_bytes);
  for (const std::string_view piece : plan.pieces) {
    text.append(piece);
  }
  if (plan.tool_call) {
    out.append("null,\"refusal\":null,\"annotations\":[],\"tool_calls\":[{\"id\":");
    append_json_string(out, tool_call_id(id_));
    out.append(",\"type\":\"function\",\"function\":{\"name\":");
    append_json_string(out, req.tool_name);
    out.append(",\"arguments\":");
    append_json_string(out, text);
    out.append("}}]}");
  } else {
    append_json_string(out, text);
    out.append(",\"refusal\":null,\"annotations\":[]}");
  }
  out.append(",\"logprobs\":null,\"finish_reason\":");
  out.append(plan.finish_reason);
  out.append("}],\"usage\":");
  append_usage(out, req.prompt_tokens, completion_tokens);
  out.append(",\"service_tier\":\"default\",\"system_fingerprint\":null}");
  return out;
}

std::vector<std::string> SimulatorScript::stream_events(const SimRequest& req) const {
  const Plan plan = make_plan(content_, req);
  const ChunkWriter writer(id_, created_, req.model, req.include_usage);

  std::vector<std::string> events;
  events.reserve(plan.pieces.size() + 4);

  if (plan.tool_call) {
    // OpenAI puts the role and the call's id, type and name in one first delta.
    constexpr std::string_view kOpen =
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":";
    std::string event = writer.open(kOpen.size() + 96 + json_size_hint(req.tool_name));
    event.append(kOpen);
    append_json_string(event, tool_call_id(id_));
    event.append(",\"type\":\"function\",\"function\":{\"name\":");
    append_json_string(event, req.tool_name);
    event.append(",\"arguments\":\"\"}}],\"refusal\":null}");
    events.push_back(writer.close(std::move(event)));

    constexpr std::string_view kFragment =
        "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":";
    for (const std::string_view fragment : plan.pieces) {
      std::string delta = writer.open(kFragment.size() + 6 + json_size_hint(fragment));
      delta.append(kFragment);
      append_json_string(delta, fragment);
      delta.append("}}]}");
      events.push_back(writer.close(std::move(delta)));
    }
  } else {
    constexpr std::string_view kRole = R"({"role":"assistant","content":"","refusal":null})";
    std::string event = writer.open(kRole.size());
    event.append(kRole);
    events.push_back(writer.close(std::move(event)));

    for (const std::string_view word : plan.pieces) {
      std::string delta = writer.open(16 + json_size_hint(word));
      delta.append("{\"content\":");
      append_json_string(delta, word);
      delta.push_back('}');
      events.push_back(writer.close(std::move(delta)));
    }
  }

  std::string finish = writer.open(2);
  finish.append("{}");
  events.push_back(writer.close(std::move(finish), plan.finish_reason));

  if (req.include_usage) {
    events.push_back(
        writer.usage_event(req.prompt_tokens, static_cast<std::int64_t>(plan.pieces.size())));
  }
  events.emplace_back("data: [DONE]\n\n");
  return events;
}

}  // namespace sy::providers
