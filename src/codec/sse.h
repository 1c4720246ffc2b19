#pragma once
// Server-Sent Events framing (WHATWG HTML "event stream" interpretation), incremental and pure.
// Lines end in CRLF, LF or CR; an empty line ends an event. Accepts any byte split of the input,
// including a split between the CR and LF of one line ending.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sy::codec {

// One dispatched event's fields. `data` joins multiple data: lines with '\n' (no trailing '\n').
struct SseEvent {
  std::string event;  // "" when the stream did not name it (means "message")
  std::string data;
  std::string id;
  bool has_data = false;  // true when at least one data: field was present
  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

// Splits a byte stream into raw events, each returned with its terminating blank line, so a
// pass-through proxy can forward the exact bytes of each event (or drop one) without re-encoding.
// Blank lines before an event's first line are returned as the start of that event (never as an
// event of their own), so the returned events plus take_tail() concatenate to the input. An
// event whose blank line ends in CR is held until the next byte shows whether an LF follows.
class SseSplitter {
 public:
  // Appends bytes. Complete events become available through next().
  void feed(std::string_view bytes);
  // Pops the next complete raw event. The view stays valid until the next feed() or next().
  bool next(std::string_view& raw_event);
  // At end of stream: the unterminated tail (bytes after the last complete event), which may
  // hold a last event whose blank line never came (see fixtures/PITFALLS.md). Clears it.
  std::string take_tail();
  // Bytes buffered that do not yet form a complete event (once next() has returned false).
  // Callers cap this to bound memory against an upstream that never ends an event.
  std::size_t pending_bytes() const;

 private:
  bool emit(std::size_t end, std::string_view& raw_event);

  std::string buf_;
  std::size_t pos_ = 0;       // start of the first unreturned event
  std::size_t scan_ = 0;      // where boundary scanning resumes
  bool last_was_cr_ = false;  // scan state: the previous line ended in a lone CR so far
  bool line_empty_ = true;    // scan state: no byte of the current line seen yet
  bool has_content_ = false;  // scan state: the current event has a non-blank line
};

// Parses one raw event (as returned by SseSplitter::next or take_tail) into fields.
// Comment lines (":...") and unknown fields are ignored; "data:x" and "data: x" are both "x".
SseEvent parse_sse_event(std::string_view raw_event);

// Convenience for decoders: splitter + parse_sse_event. Events with no data: field are still
// reported (has_data=false) so callers can see e.g. "event: ping" with empty data. Events with
// no event/data/id field at all (comment-only keep-alives, retry-only) are not reported.
class SseParser {
 public:
  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Dispatches an unterminated last event if it has any field (lenient end of stream).
  void finish(std::vector<SseEvent>& out);

 private:
  void dispatch(std::string_view raw, std::vector<SseEvent>& out);

  SseSplitter splitter_;
  bool at_stream_start_ = true;  // a UTF-8 BOM is dropped only at the start of the stream
};

}  // namespace sy::codec
