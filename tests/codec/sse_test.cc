#include "codec/sse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codec/json_scan.h"

namespace sy::codec {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file in `dir` whose name ends in `suffix`, sorted so failures are reproducible.
std::vector<fs::path> files_ending(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(suffix)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Lines (any of CRLF, LF, CR endings) that start with "data:".
std::size_t count_data_lines(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool line_start = i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r';
    if (line_start && s.substr(i, 5) == "data:") {
      ++count;
    }
  }
  return count;
}

struct SplitResult {
  std::vector<std::string> raw;  // from SseSplitter::next
  std::string tail;              // SseSplitter::take_tail
  std::vector<SseEvent> events;  // from SseParser feed + finish
  std::size_t max_pending = 0;   // the largest pending_bytes() seen after draining
};

// Feeds `input` in chunks of `chunk` bytes (0 = all at once) to a splitter and a parser.
SplitResult split(std::string_view input, std::size_t chunk) {
  SplitResult r;
  SseSplitter splitter;
  SseParser parser;
  const std::size_t step = chunk == 0 ? std::max<std::size_t>(input.size(), 1) : chunk;
  for (std::size_t i = 0; i < input.size(); i += step) {
    const std::string_view piece = input.substr(i, step);
    splitter.feed(piece);
    std::string_view ev;
    while (splitter.next(ev)) {
      r.raw.emplace_back(ev);
    }
    r.max_pending = std::max(r.max_pending, splitter.pending_bytes());
    parser.feed(piece, r.events);
  }
  r.tail = splitter.take_tail();
  parser.finish(r.events);
  return r;
}

std::string concat(const SplitResult& r) {
  std::string all;
  for (const auto& e : r.raw) {
    all += e;
  }
  return all + r.tail;
}

// The invariants every input must satisfy: the same events for any chunking, and the raw
// events put back together are the input.
void expect_split_invariant(std::string_view input, const std::string& label) {
  const SplitResult whole = split(input, 0);
  EXPECT_EQ(concat(whole), input) << label;
  for (std::size_t chunk : {1, 2, 3, 7, 64}) {
    const SplitResult r = split(input, chunk);
    EXPECT_EQ(r.raw, whole.raw) << label << " chunk " << chunk;
    EXPECT_EQ(r.tail, whole.tail) << label << " chunk " << chunk;
    EXPECT_EQ(r.events, whole.events) << label << " chunk " << chunk;
    EXPECT_EQ(concat(r), input) << label << " chunk " << chunk;
  }
}

const fs::path kFixtures = SY_FIXTURES_DIR;

// The data of an OpenAI/Gemini/Anthropic stream event is one JSON value (or OpenAI's [DONE]).
void expect_json_data(const std::vector<SseEvent>& events, const std::string& label) {
  for (const auto& ev : events) {
    ASSERT_TRUE(ev.has_data) << label;
    if (ev.data == "[DONE]") {
      continue;
    }
    EXPECT_TRUE(validate_json(ev.data).has_value()) << label << ": " << ev.data;
  }
}

TEST(SseFixtures, OpenAiStreamsSplitIdenticallyAndLosslessly) {
  const auto files = files_ending(kFixtures / "openai", ".sse");
  ASSERT_GE(files.size(), 7U);  // the six stream-*.sse plus chat-streaming.response.sse
  for (const auto& path : files) {
    const std::string label = path.filename().string();
    const std::string input = read_file(path);
    ASSERT_FALSE(input.empty()) << label;
    const std::size_t data_lines = count_data_lines(input);
    ASSERT_GT(data_lines, 0U) << label;

    const SplitResult whole = split(input, 0);
    const SplitResult one = split(input, 1);
    const SplitResult seven = split(input, 7);
    for (const auto* r : {&whole, &one, &seven}) {
      EXPECT_EQ(r->raw.size(), data_lines) << label;
      EXPECT_EQ(r->events.size(), data_lines) << label;
      EXPECT_EQ(concat(*r), input) << label;
      EXPECT_TRUE(r->tail.empty()) << label;  // OpenAI streams end with a blank line
    }
    EXPECT_EQ(one.raw, whole.raw) << label;
    EXPECT_EQ(seven.raw, whole.raw) << label;
    EXPECT_EQ(one.events, whole.events) << label;
    EXPECT_EQ(seven.events, whole.events) << label;
    ASSERT_FALSE(whole.events.empty());
    EXPECT_EQ(whole.events.back().data, "[DONE]") << label;
    for (const auto& raw : whole.raw) {
      EXPECT_TRUE(raw.starts_with("data: ")) << label;
      EXPECT_TRUE(raw.ends_with("\n\n")) << label;
    }
    expect_json_data(whole.events, label);
  }
}

TEST(SseFixtures, AnthropicStreamsWithoutFinalBlankLine) {
  const auto files = files_ending(kFixtures / "anthropic", ".sse");
  ASSERT_GE(files.size(), 2U);
  for (const auto& path : files) {
    const std::string label = path.filename().string();
    const std::string input = read_file(path);
    const std::size_t data_lines = count_data_lines(input);
    const SplitResult whole = split(input, 0);
    const SplitResult one = split(input, 1);
    const SplitResult seven = split(input, 7);
    for (const auto* r : {&whole, &one, &seven}) {
      EXPECT_EQ(r->events.size(), data_lines) << label;
      EXPECT_EQ(concat(*r), input) << label;
      // The recorded bodies stop right after the last data line: the last event only comes
      // out of take_tail()/finish().
      EXPECT_EQ(r->raw.size() + 1, data_lines) << label;
      EXPECT_TRUE(r->tail.starts_with("event: message_stop")) << label;
    }
    EXPECT_EQ(one.raw, whole.raw) << label;
    EXPECT_EQ(seven.raw, whole.raw) << label;
    EXPECT_EQ(one.events, whole.events) << label;
    EXPECT_EQ(seven.events, whole.events) << label;
    ASSERT_FALSE(whole.events.empty());
    EXPECT_EQ(whole.events.front().event, "message_start") << label;
    EXPECT_EQ(whole.events.back().event, "message_stop") << label;
    for (const auto& ev : whole.events) {
      EXPECT_FALSE(ev.event.empty()) << label;  // every Anthropic event is named
      // The type in the payload repeats the SSE event name.
      EXPECT_NE(ev.data.find("\"" + ev.event + "\""), std::string::npos) << label;
    }
    expect_json_data(whole.events, label);
  }
}

TEST(SseFixtures, GeminiCrlfStreams) {
  const auto files = files_ending(kFixtures / "gemini", ".response.sse");
  ASSERT_GE(files.size(), 4U);
  for (const auto& path : files) {
    const std::string label = path.filename().string();
    const std::string input = read_file(path);
    ASSERT_NE(input.find("\r\n\r\n"), std::string::npos) << label;
    const std::size_t data_lines = count_data_lines(input);
    const SplitResult whole = split(input, 0);
    const SplitResult one = split(input, 1);
    const SplitResult seven = split(input, 7);
    for (const auto* r : {&whole, &one, &seven}) {
      EXPECT_EQ(r->raw.size(), data_lines) << label;
      EXPECT_EQ(r->events.size(), data_lines) << label;
      EXPECT_EQ(concat(*r), input) << label;
      EXPECT_TRUE(r->tail.empty()) << label;
    }
    EXPECT_EQ(one.raw, whole.raw) << label;
    EXPECT_EQ(seven.raw, whole.raw) << label;
    EXPECT_EQ(one.events, whole.events) << label;
    EXPECT_EQ(seven.events, whole.events) << label;
    for (const auto& raw : whole.raw) {
      EXPECT_TRUE(raw.ends_with("}\r\n\r\n")) << label;  // CRLF CRLF stays with its event
    }
    for (const auto& ev : whole.events) {
      EXPECT_EQ(ev.data.find('\r'), std::string::npos) << label;
    }
    expect_json_data(whole.events, label);
  }
}

TEST(SseSplitter, CrOnlyLineEndings) {
  const std::string input = "event: a\rdata: 1\r\rdata: 2\r\r";
  const SplitResult r = split(input, 0);
  // The second event's final CR might still be the first half of a CRLF, so it waits for
  // more input or for take_tail().
  ASSERT_EQ(r.raw.size(), 1U);
  EXPECT_EQ(r.raw[0], "event: a\rdata: 1\r\r");
  EXPECT_EQ(r.tail, "data: 2\r\r");
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].event, "a");
  EXPECT_EQ(r.events[0].data, "1");
  EXPECT_EQ(r.events[1].data, "2");
  expect_split_invariant(input, "cr-only");
}

TEST(SseSplitter, CrThenNonLfCompletesTheEvent) {
  SseSplitter s;
  std::string_view ev;
  s.feed("data: 1\r\r");
  EXPECT_FALSE(s.next(ev));
  s.feed("d");
  ASSERT_TRUE(s.next(ev));
  EXPECT_EQ(ev, "data: 1\r\r");
  EXPECT_FALSE(s.next(ev));
  EXPECT_EQ(s.pending_bytes(), 1U);
}

TEST(SseSplitter, CrlfSplitAcrossFeeds) {
  SseSplitter s;
  std::string_view ev;
  s.feed("data: a\r");
  EXPECT_FALSE(s.next(ev));
  s.feed("\n\r");
  EXPECT_FALSE(s.next(ev));  // the blank line's CR may still be followed by LF
  s.feed("\ndata: b\r\n\r\n");
  ASSERT_TRUE(s.next(ev));
  EXPECT_EQ(ev, "data: a\r\n\r\n");  // CR LF counted once: one line ending, not two
  ASSERT_TRUE(s.next(ev));
  EXPECT_EQ(ev, "data: b\r\n\r\n");
  EXPECT_FALSE(s.next(ev));
  EXPECT_EQ(s.take_tail(), "");
}

TEST(SseSplitter, CrLfIsOneLineEndingNotABlankLine) {
  // If "\r" and "\n" were two endings, "data: a\r\n" would already end the event.
  SseParser p;
  std::vector<SseEvent> out;
  p.feed("data: a\r", out);
  p.feed("\ndata: b\r\n", out);
  EXPECT_TRUE(out.empty());
  p.feed("\r\n", out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(SseSplitter, EverySplitOfMixedLineEndingsGivesTheSameEvents) {
  const std::string input =
      "\r\n: comment\r\nevent: x\rdata: 1\n\r\n"
      "data:2\r\r\n"
      "id: 7\ndata\n\n"
      "\n\n"
      "data: 3\r\n\r"
      "data: last";
  const SplitResult whole = split(input, 0);
  ASSERT_EQ(concat(whole), input);
  // All two- and three-piece splits: exhaustive over cut positions.
  for (std::size_t a = 0; a <= input.size(); ++a) {
    for (std::size_t b = a; b <= input.size(); ++b) {
      SplitResult r;
      SseSplitter splitter;
      SseParser parser;
      for (auto piece : {std::string_view(input).substr(0, a),
                         std::string_view(input).substr(a, b - a),
                         std::string_view(input).substr(b)}) {
        splitter.feed(piece);
        std::string_view ev;
        while (splitter.next(ev)) {
          r.raw.emplace_back(ev);
        }
        parser.feed(piece, r.events);
      }
      r.tail = splitter.take_tail();
      parser.finish(r.events);
      ASSERT_EQ(r.raw, whole.raw) << a << "," << b;
      ASSERT_EQ(r.tail, whole.tail) << a << "," << b;
      ASSERT_EQ(r.events, whole.events) << a << "," << b;
    }
  }
  ASSERT_EQ(whole.events.size(), 5U);
  EXPECT_EQ(whole.events[0].event, "x");
  EXPECT_EQ(whole.events[0].data, "1");
  EXPECT_EQ(whole.events[1].data, "2");
  EXPECT_EQ(whole.events[2].id, "7");
  EXPECT_TRUE(whole.events[2].has_data);
  EXPECT_EQ(whole.events[2].data, "");
  EXPECT_EQ(whole.events[3].data, "3");
  EXPECT_EQ(whole.events[4].data, "last");
}

// A deliberately naive whole-input reading of the WHATWG rules: split into lines first, then
// dispatch at blank lines (and, leniently, at end of input) when an event carried a field.
std::vector<SseEvent> reference_parse(std::string_view input) {
  std::vector<std::string> lines;
  std::string line;
  bool terminated = true;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\r' || input[i] == '\n') {
      if (input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n') {
        ++i;
      }
      lines.push_back(line);
      line.clear();
      terminated = true;
    } else {
      line.push_back(input[i]);
      terminated = false;
    }
  }
  if (!terminated) {
    lines.push_back(line);
  }
  lines.emplace_back();  // end of input dispatches whatever is pending
  std::vector<SseEvent> out;
  SseEvent ev;
  bool any = false;
  for (const std::string& l : lines) {
    if (l.empty()) {
      if (any) {
        if (ev.has_data) {
          ev.data.pop_back();
        }
        out.push_back(ev);
      }
      ev = SseEvent{};
      any = false;
      continue;
    }
    if (l[0] == ':') {
      continue;
    }
    const std::size_t colon = l.find(':');
    const std::string field = l.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') {
      value.erase(0, 1);
    }
    if (field == "data") {
      ev.data += value + "\n";
      ev.has_data = any = true;
    } else if (field == "event") {
      ev.event = value;
      any = true;
    } else if (field == "id" && value.find('\0') == std::string::npos) {
      ev.id = value;
      any = true;
    }
  }
  return out;
}

TEST(SseSplitter, RandomInputsMatchTheReferenceForRandomChunkings) {
  static constexpr std::string_view kAlphabet[] = {"\r", "\n", "\r\n", "data", "data:",
                                                   "data: ", "event: e", "id:1", ": c", "x",
                                                   " ", ":", "retry: 3"};
  std::mt19937 rng(4242);  // fixed: a failure must reproduce
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const std::size_t pieces = 1 + rng() % 24;
    for (std::size_t k = 0; k < pieces; ++k) {
      input += kAlphabet[rng() % std::size(kAlphabet)];
    }
    const std::vector<SseEvent> expected = reference_parse(input);
    const SplitResult whole = split(input, 0);
    ASSERT_EQ(whole.events, expected) << "round " << round;
    ASSERT_EQ(concat(whole), input) << "round " << round;
    // Random cut points.
    SplitResult r;
    SseSplitter splitter;
    SseParser parser;
    for (std::size_t i = 0; i < input.size();) {
      const std::size_t len = 1 + rng() % 5;
      const std::string_view piece = std::string_view(input).substr(i, len);
      i += len;
      splitter.feed(piece);
      std::string_view ev;
      while (splitter.next(ev)) {
        r.raw.emplace_back(ev);
      }
      parser.feed(piece, r.events);
    }
    r.tail = splitter.take_tail();
    parser.finish(r.events);
    ASSERT_EQ(r.raw, whole.raw) << "round " << round;
    ASSERT_EQ(r.tail, whole.tail) << "round " << round;
    ASSERT_EQ(r.events, expected) << "round " << round;
  }
}

TEST(SseSplitter, LeadingBlankLinesJoinTheNextEvent) {
  const SplitResult r = split("\n\r\n\rdata: a\n\n\n\ndata: b\n\n", 0);
  ASSERT_EQ(r.raw.size(), 2U);
  EXPECT_EQ(r.raw[0], "\n\r\n\rdata: a\n\n");
  EXPECT_EQ(r.raw[1], "\n\ndata: b\n\n");
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].data, "a");
  EXPECT_EQ(r.events[1].data, "b");
}

TEST(SseSplitter, TrailingBlankLinesStayInTheTail) {
  const SplitResult r = split("data: a\n\n\n\n", 0);
  ASSERT_EQ(r.raw.size(), 1U);
  EXPECT_EQ(r.tail, "\n\n");
  EXPECT_EQ(r.events.size(), 1U);  // no field, so finish() reports nothing more
}

TEST(SseSplitter, BufferIsCompactedAndBounded) {
  SseSplitter s;
  const std::string event = "data: {\"choices\":[{\"delta\":{\"content\":\"hello\"}}]}\n\n";
  std::string stream;
  for (int k = 0; k < 2000; ++k) {
    stream += event;
  }
  std::size_t seen = 0;
  std::size_t max_pending = 0;
  std::string_view ev;
  for (std::size_t i = 0; i < stream.size(); i += 13) {
    s.feed(std::string_view(stream).substr(i, 13));
    while (s.next(ev)) {
      ASSERT_EQ(ev, event);
      ++seen;
    }
    max_pending = std::max(max_pending, s.pending_bytes());
  }
  EXPECT_EQ(seen, 2000U);
  // Consumed events are dropped: what stays buffered is less than one event plus one feed.
  EXPECT_LT(max_pending, event.size() + 13);
  EXPECT_EQ(s.pending_bytes(), 0U);
  EXPECT_EQ(s.take_tail(), "");
}

TEST(SseSplitter, PendingBytesGrowsForAnEventThatNeverEnds) {
  // The caller's cap on pending_bytes() is what bounds memory against such an upstream.
  SseSplitter s;
  std::string_view ev;
  for (int k = 0; k < 100; ++k) {
    s.feed("data: xxxxxxxxxx");
    EXPECT_FALSE(s.next(ev));
  }
  EXPECT_EQ(s.pending_bytes(), 1600U);
  EXPECT_EQ(s.take_tail().size(), 1600U);
  EXPECT_EQ(s.pending_bytes(), 0U);
}

TEST(SseSplitter, TakeTailResetsState) {
  SseSplitter s;
  std::string_view ev;
  s.feed("data: partial\r");
  EXPECT_EQ(s.take_tail(), "data: partial\r");
  // A leftover CR must not swallow the LF of a new stream's first line.
  s.feed("\ndata: x\n\n");
  ASSERT_TRUE(s.next(ev));
  EXPECT_EQ(ev, "\ndata: x\n\n");
}

TEST(SseParse, DataSpacing) {
  EXPECT_EQ(parse_sse_event("data:x\n\n").data, "x");
  EXPECT_EQ(parse_sse_event("data: x\n\n").data, "x");
  EXPECT_EQ(parse_sse_event("data:  x\n\n").data, " x");  // only one space is stripped
  EXPECT_EQ(parse_sse_event("data: x \n\n").data, "x ");  // trailing spaces are data
  EXPECT_EQ(parse_sse_event("data:\n\n").data, "");
  EXPECT_TRUE(parse_sse_event("data:\n\n").has_data);
  EXPECT_TRUE(parse_sse_event("data\n\n").has_data);  // a field name alone: empty value
  EXPECT_EQ(parse_sse_event("data: a:b: c\n\n").data, "a:b: c");
}

TEST(SseParse, MultiLineData) {
  const SseEvent ev = parse_sse_event("data: a\ndata:\ndata: c\r\n\r\n");
  EXPECT_EQ(ev.data, "a\n\nc");
  EXPECT_TRUE(ev.has_data);
}

TEST(SseParse, EventNamesIdsAndComments) {
  const SseEvent ev =
      parse_sse_event(": this is a comment\nevent: content_block_delta\nid: 42\nretry: 10\n"
                      "foo: bar\ndata: {}\n\n");
  EXPECT_EQ(ev.event, "content_block_delta");
  EXPECT_EQ(ev.id, "42");
  EXPECT_EQ(ev.data, "{}");
  const SseEvent last = parse_sse_event("event: a\nevent: b\n\n");
  EXPECT_EQ(last.event, "b");  // the last event: line wins
  EXPECT_FALSE(last.has_data);
  EXPECT_EQ(parse_sse_event(std::string("id: a\0b\n\n", 10)).id, "");  // NUL: ignored
  EXPECT_EQ(parse_sse_event("Data: x\n\n").data, "");  // field names are case-sensitive
  EXPECT_EQ(parse_sse_event(" data: x\n\n").data, "");
}

TEST(SseParser, CommentOnlyEventsAreNotReportedButNamedOnesAre) {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed(": keep-alive\n\nevent: ping\n\ndata: x\n\nretry: 5\n\n", out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].event, "ping");
  EXPECT_FALSE(out[0].has_data);
  EXPECT_EQ(out[0].data, "");
  EXPECT_EQ(out[1].data, "x");
  EXPECT_TRUE(out[1].has_data);
}

TEST(SseParser, FinishDispatchesAnUnterminatedEvent) {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed("data: 1\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}", out);
  ASSERT_EQ(out.size(), 1U);
  p.finish(out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].event, "message_stop");
  EXPECT_EQ(out[1].data, "{\"type\":\"message_stop\"}");
  p.finish(out);  // nothing left
  EXPECT_EQ(out.size(), 2U);
}

TEST(SseParser, LeadingBomIsDroppedOnlyAtStreamStart) {
  SseParser p;
  std::vector<SseEvent> out;
  const std::string bom = "\xEF\xBB\xBF";
  p.feed(bom + "data: a\n\n" + bom + "data: b\n\n", out);
  ASSERT_EQ(out.size(), 1U);  // the second BOM makes "\uFEFFdata" an unknown field
  EXPECT_EQ(out[0].data, "a");
}

}  // namespace
}  // namespace sy::codec
