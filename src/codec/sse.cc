#include "codec/sse.h"

#include <utility>

namespace sy::codec {

// Boundary scanning follows the WHATWG "event stream" line rules: a line ends at CRLF, LF or a
// lone CR, and an empty line ends an event. The scan is resumable (scan_ plus three bits of
// state) so every byte is looked at once no matter how the input is split.
//
// Choices that the header leaves open:
// - Blank lines that come before an event's first non-blank line (at the start of the stream,
//   or extra blank lines between events) do not form an event of their own: they are kept as
//   the leading bytes of the next event. Concatenating every returned event plus take_tail()
//   therefore gives back the input exactly, and every returned event has some content.
// - A CR that ends an event's blank line is only final once the next byte is known: if it is an
//   LF, that LF belongs to the same line ending (CRLF) and so to the same event. When the CR is
//   the last buffered byte the event waits for the next feed() (or take_tail()), which keeps the
//   split identical for any chunking of the input.

void SseSplitter::feed(std::string_view bytes) {
  // Returned views became invalid with this call, so the consumed prefix can go: the buffer
  // then holds at most one partial event plus what this feed adds.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
  buf_.append(bytes);
}

bool SseSplitter::next(std::string_view& raw_event) {
  const std::size_t n = buf_.size();
  std::size_t i = scan_;
  while (i < n) {
    const char c = buf_[i];
    if (c == '\n') {
      if (last_was_cr_) {
        // The LF of a CRLF whose CR already ended the line.
        last_was_cr_ = false;
        ++i;
        continue;
      }
      if (line_empty_ && has_content_) {
        return emit(i + 1, raw_event);
      }
      line_empty_ = true;
      ++i;
      continue;
    }
    if (c == '\r') {
      if (line_empty_ && has_content_) {
        if (i + 1 == n) {
          break;  // cannot tell CR from CRLF yet; rescan this CR after the next feed
        }
        return emit(buf_[i + 1] == '\n' ? i + 2 : i + 1, raw_event);
      }
      line_empty_ = true;
      last_was_cr_ = true;
      ++i;
      continue;
    }
    // A content byte: skip the rest of the line (a plain loop beats find_first_of here).
    last_was_cr_ = false;
    line_empty_ = false;
    has_content_ = true;
    ++i;
    while (i < n && buf_[i] != '\n' && buf_[i] != '\r') {
      ++i;
    }
  }
  scan_ = i;
  return false;
}

bool SseSplitter::emit(std::size_t end, std::string_view& raw_event) {
  raw_event = std::string_view(buf_).substr(pos_, end - pos_);
  pos_ = end;
  scan_ = end;
  line_empty_ = true;
  last_was_cr_ = false;
  has_content_ = false;
  return true;
}

std::string SseSplitter::take_tail() {
  std::string tail = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  scan_ = 0;
  line_empty_ = true;
  last_was_cr_ = false;
  has_content_ = false;
  return tail;
}

std::size_t SseSplitter::pending_bytes() const { return buf_.size() - pos_; }

namespace {

// Parses one raw event; returns whether it carried a field SseEvent holds (event, data, id).
bool parse_fields(std::string_view raw, SseEvent& ev) {
  bool any_field = false;
  std::size_t i = 0;
  while (i < raw.size()) {
    std::size_t eol = raw.find_first_of("\r\n", i);
    if (eol == std::string_view::npos) {
      eol = raw.size();  // an unterminated last line (take_tail) still counts
    }
    const std::string_view line = raw.substr(i, eol - i);
    i = eol;
    if (i < raw.size()) {
      i += (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') ? 2 : 1;
    }
    if (line.empty() || line.front() == ':') {
      continue;  // blank line or comment
    }
    std::string_view field = line;
    std::string_view value;
    if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);  // exactly one space is part of the syntax, not the value
      }
    }
    if (field == "data") {
      ev.data.append(value);
      ev.data.push_back('\n');
      ev.has_data = true;
      any_field = true;
    } else if (field == "event") {
      ev.event.assign(value);
      any_field = true;
    } else if (field == "id") {
      // WHATWG: an id containing NULL is ignored.
      if (value.find('\0') == std::string_view::npos) {
        ev.id.assign(value);
        any_field = true;
      }
    }
    // "retry" and unknown fields are ignored: the gateway does not reconnect streams.
  }
  if (ev.has_data) {
    ev.data.pop_back();  // each data line appended '\n'; the spec drops the last one
  }
  return any_field;
}

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

SseEvent parse_sse_event(std::string_view raw_event) {
  SseEvent ev;
  parse_fields(raw_event, ev);
  return ev;
}

void SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  splitter_.feed(bytes);
  std::string_view raw;
  while (splitter_.next(raw)) {
    dispatch(raw, out);
  }
}

void SseParser::finish(std::vector<SseEvent>& out) {
  const std::string tail = splitter_.take_tail();
  dispatch(tail, out);
}

void SseParser::dispatch(std::string_view raw, std::vector<SseEvent>& out) {
  if (at_stream_start_) {
    // WHATWG decodes the stream as UTF-8 and drops one leading BOM.
    if (raw.starts_with(kUtf8Bom)) {
      raw.remove_prefix(kUtf8Bom.size());
    }
    at_stream_start_ = raw.empty();
  }
  SseEvent ev;
  // Comment-only events (keep-alives such as ": ping") and retry-only events carry nothing a
  // decoder can use, so they are not reported.
  if (parse_fields(raw, ev)) {
    out.push_back(std::move(ev));
  }
}

}  // namespace sy::codec
