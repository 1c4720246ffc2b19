#pragma once
// application/vnd.amazon.eventstream framing (the body of Bedrock ConverseStream), incremental and
// pure: no I/O, no Asio. Section references are to the Smithy "Amazon Event Stream
// Specification" (shared/fixtures/eventstream/amazon-eventstream-spec.rst).
//
// Usage (one decoder per response body; not thread-safe; accepts ANY byte split):
//
//   EventStreamDecoder decoder;
//   for (each chunk read from upstream) {
//     decoder.feed(chunk);
//     for (;;) {
//       auto r = decoder.next();
//       if (!r) { /* corrupt stream: terminate it (spec: "the stream MUST be terminated") */ }
//       if (!r->has_value()) { break; }  // need more bytes
//       handle(**r);
//     }
//   }
//   if (auto end = decoder.finish(); !end) { /* stream ended inside a message */ }
//
// After an error the decoder stays failed: the format has no resynchronisation marker, so a
// corrupt length can not be skipped safely.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace sy::codec {

// Wire Format > Message Format: uint32 total_length, uint32 headers_length, uint32 prelude_crc.
inline constexpr std::size_t kEventStreamPreludeLength = 12;
inline constexpr std::size_t kEventStreamMessageCrcLength = 4;
// The smallest message: a prelude and a message CRC, no headers, no payload.
inline constexpr std::size_t kEventStreamMinMessageLength =
    kEventStreamPreludeLength + kEventStreamMessageCrcLength;
// The spec lets services send payloads up to 24 MB; like aws-c-event-stream and Envoy we cap a
// whole message at 16 MiB, far above any Bedrock event, so a corrupt length can not make us
// buffer without bound.
inline constexpr std::size_t kEventStreamMaxMessageLength = 16 * 1024 * 1024;

// Headers Format: the HeaderValueType indicators. The set is fixed and not open to extension.
enum class EventHeaderType : std::uint8_t {
  BoolTrue = 0,
  BoolFalse = 1,
  Byte = 2,
  Short = 3,
  Integer = 4,
  Long = 5,
  ByteArray = 6,
  String = 7,
  Timestamp = 8,
  Uuid = 9,
};

// byte_array (6): kept apart from string (7) so that a re-encoded message keeps its type.
struct EventByteArray {
  std::string bytes;
  friend bool operator==(const EventByteArray&, const EventByteArray&) = default;
};
// timestamp (8): milliseconds (not seconds) since the Unix epoch.
struct EventTimestamp {
  std::int64_t millis_since_epoch = 0;
  friend bool operator==(const EventTimestamp&, const EventTimestamp&) = default;
};
// uuid (9): 16 bytes, RFC 9562 binary layout.
struct EventUuid {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const EventUuid&, const EventUuid&) = default;
};

// One typed header value; `bool` covers both BoolTrue and BoolFalse.
using EventHeaderValue = std::variant<bool, std::int8_t, std::int16_t, std::int32_t, std::int64_t,
                                      EventByteArray, std::string, EventTimestamp, EventUuid>;

EventHeaderType header_type(const EventHeaderValue& value);

struct EventHeader {
  std::string name;
  EventHeaderValue value;
  friend bool operator==(const EventHeader&, const EventHeader&) = default;
};

// One decoded message. Headers keep their wire order (the spec says order is meaningless, but
// keeping it makes encode(decode(x)) == x); names are unique (the decoder rejects duplicates).
struct EventMessage {
  std::vector<EventHeader> headers;
  std::string payload;

  // The header named `name`, or nullptr.
  const EventHeaderValue* find(std::string_view name) const;
  // The value of a string-typed header (e.g. ":event-type"); nullopt if absent or another type.
  std::optional<std::string_view> string_header(std::string_view name) const;

  friend bool operator==(const EventMessage&, const EventMessage&) = default;
};

// Why a stream was rejected. Carried in sy::Error::code as "eventstream_<name>".
enum class EventStreamErrc {
  TotalLengthTooSmall,    // total_length < 16
  TotalLengthTooLarge,    // total_length > the decoder's limit (16 MiB by default)
  HeadersLengthTooLarge,  // headers_length does not fit in total_length
  PreludeCrcMismatch,     // CRC32 of bytes 0..7 != prelude_crc
  MessageCrcMismatch,     // CRC32 of bytes 0..total_length-5 != message_crc
  HeaderNameEmpty,        // "Header names MUST be at least one byte long"
  UnknownHeaderType,      // indicator > 9
  HeaderTruncated,        // a header runs past headers_length
  DuplicateHeader,        // "Any given header name MUST only appear once in a message"
  TruncatedMessage,       // finish() with a partial message buffered
};

std::string_view to_string(EventStreamErrc errc);

// CRC32 with the IEEE 802.3 / zlib polynomial (reflected 0xEDB88320), as the spec's RFC 3385
// reference requires. `crc` continues a previous result, so crc32(b, crc32(a)) == crc32(a + b).
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

// The outcome of parse_event_message on a buffer that may hold a partial message.
struct EventParseResult {
  std::optional<EventMessage> message;  // nullopt: need more bytes
  std::size_t bytes_consumed = 0;       // 0 when message is nullopt
};

// Parses the first message at the start of `buffer` (a pure function, no state). Returns a
// message and its length, or "need more bytes" (bytes_consumed = 0), or an error. A bad prelude
// (CRC or lengths) is reported as soon as its 12 bytes are present, before the rest arrives.
Result<EventParseResult> parse_event_message(
    std::string_view buffer, std::size_t max_message_length = kEventStreamMaxMessageLength);

// The stateful decoder for a response body: buffers partial messages between feeds.
class EventStreamDecoder {
 public:
  explicit EventStreamDecoder(std::size_t max_message_length = kEventStreamMaxMessageLength);

  // Appends bytes. Ignored once the decoder has failed.
  void feed(std::string_view bytes);
  // The next whole message, or nullopt (need more bytes), or the (sticky) error.
  Result<std::optional<EventMessage>> next();
  // feed() then next() until it needs more bytes, appending messages to `out`.
  Result<void> feed(std::string_view bytes, std::vector<EventMessage>& out);
  // At end of stream: an error if the decoder failed or a partial message is buffered.
  Result<void> finish() const;

  bool failed() const { return error_.has_value(); }
  std::optional<EventStreamErrc> errc() const { return errc_; }
  // Bytes buffered that do not yet form a whole message.
  std::size_t pending_bytes() const { return buf_.size() - pos_; }

 private:
  std::size_t max_message_length_;
  std::string buf_;
  std::size_t pos_ = 0;  // start of the first unparsed byte in buf_
  std::optional<Error> error_;
  std::optional<EventStreamErrc> errc_;
};

// Encodes one message (for tests and for a fake upstream). Fails on an empty or > 255-byte
// header name, a byte array or string value longer than 65,535 bytes, a duplicate header name
// or a message longer than `max_message_length`.
Result<std::string> encode_event_message(
    const EventMessage& message, std::size_t max_message_length = kEventStreamMaxMessageLength);

// The EventStreamErrc behind a decoder error, if `error` came from this module.
std::optional<EventStreamErrc> eventstream_errc(const Error& error);

}  // namespace sy::codec
