#include "codec/aws_eventstream.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace sy::codec {
namespace {

// RFC 3385 / IEEE 802.3 CRC32, reflected form: polynomial 0x04C11DB7 bit-reversed.
constexpr std::uint32_t kCrc32Polynomial = 0xEDB88320U;

constexpr std::array<std::uint32_t, 256> make_crc32_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1U) != 0 ? (c >> 1) ^ kCrc32Polynomial : c >> 1;
    }
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrc32Table = make_crc32_table();

// Wire Format: "all integer types are in network byte order, or big-endian".
std::uint64_t read_be(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(bytes[offset + i]);
  }
  return v;
}

void append_be(std::string& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i > 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * (i - 1))) & 0xFFU));
  }
}

Error make_stream_error(EventStreamErrc errc, std::string detail) {
  Error e = make_error(ErrorKind::UpstreamUnavailable, "malformed upstream event stream",
                       "eventstream_" + std::string(to_string(errc)));
  e.detail = std::move(detail);
  return e;
}

// Headers Format: reads the headers block [12, 12 + headers_length) of one message.
Result<std::vector<EventHeader>> parse_headers(std::string_view block) {
  std::vector<EventHeader> headers;
  std::size_t at = 0;
  auto truncated = [&](std::string_view what) {
    return make_stream_error(EventStreamErrc::HeaderTruncated,
                             std::string(what) + " at header offset " + std::to_string(at));
  };
  while (at < block.size()) {
    // struct { utf8 name<1..255>; } header_name: a one-byte length, then the name.
    const std::size_t name_len = static_cast<std::uint8_t>(block[at]);
    if (name_len == 0) {
      return make_stream_error(EventStreamErrc::HeaderNameEmpty,
                               "empty header name at header offset " + std::to_string(at));
    }
    // Name, then the one-byte type indicator.
    if (block.size() - at < 1 + name_len + 1) {
      return truncated("header name");
    }
    EventHeader header;
    header.name.assign(block.substr(at + 1, name_len));
    at += 1 + name_len;
    const auto type = static_cast<std::uint8_t>(block[at]);
    at += 1;
    const std::size_t left = block.size() - at;
    auto fixed = [&](std::size_t width) -> bool { return left >= width; };
    switch (static_cast<EventHeaderType>(type)) {
      case EventHeaderType::BoolTrue:
        header.value = true;
        break;
      case EventHeaderType::BoolFalse:
        header.value = false;
        break;
      case EventHeaderType::Byte:
        if (!fixed(1)) {
          return truncated("byte value");
        }
        header.value = static_cast<std::int8_t>(read_be(block, at, 1));
        at += 1;
        break;
      case EventHeaderType::Short:
        if (!fixed(2)) {
          return truncated("short value");
        }
        header.value = static_cast<std::int16_t>(read_be(block, at, 2));
        at += 2;
        break;
      case EventHeaderType::Integer:
        if (!fixed(4)) {
          return truncated("integer value");
        }
        header.value = static_cast<std::int32_t>(read_be(block, at, 4));
        at += 4;
        break;
      case EventHeaderType::Long:
        if (!fixed(8)) {
          return truncated("long value");
        }
        header.value = static_cast<std::int64_t>(read_be(block, at, 8));
        at += 8;
        break;
      case EventHeaderType::Timestamp:
        if (!fixed(8)) {
          return truncated("timestamp value");
        }
        header.value = EventTimestamp{static_cast<std::int64_t>(read_be(block, at, 8))};
        at += 8;
        break;
      case EventHeaderType::Uuid: {
        if (!fixed(16)) {
          return truncated("uuid value");
        }
        EventUuid uuid;
        for (std::size_t i = 0; i < uuid.bytes.size(); ++i) {
          uuid.bytes[i] = static_cast<std::uint8_t>(block[at + i]);
        }
        header.value = uuid;
        at += 16;
        break;
      }
      case EventHeaderType::ByteArray:
      case EventHeaderType::String: {
        // A two-byte unsigned length prefix, then the bytes. The spec says 1..2^15-1; a client
        // does not enforce the bounds (Message Format: "Clients MUST NOT validate them").
        if (!fixed(2)) {
          return truncated("value length");
        }
        const std::size_t len = read_be(block, at, 2);
        if (left - 2 < len) {
          return truncated("variable-length value");
        }
        std::string bytes(block.substr(at + 2, len));
        at += 2 + len;
        if (static_cast<EventHeaderType>(type) == EventHeaderType::String) {
          header.value = std::move(bytes);
        } else {
          header.value = EventByteArray{std::move(bytes)};
        }
        break;
      }
      default:
        return make_stream_error(
            EventStreamErrc::UnknownHeaderType,
            "header type " + std::to_string(type) + " for '" + header.name + "'");
    }
    // "Any given header name MUST only appear once in a message." A map can not hold both.
    for (const auto& seen : headers) {
      if (seen.name == header.name) {
        return make_stream_error(EventStreamErrc::DuplicateHeader,
                                 "header '" + header.name + "' appears twice");
      }
    }
    headers.push_back(std::move(header));
  }
  return headers;
}

}  // namespace

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
  crc = ~crc;
  for (char ch : bytes) {
    crc = kCrc32Table[(crc ^ static_cast<std::uint8_t>(ch)) & 0xFFU] ^ (crc >> 8);
  }
  return ~crc;
}

EventHeaderType header_type(const EventHeaderValue& value) {
  switch (value.index()) {
    case 0:
      return std::get<bool>(value) ? EventHeaderType::BoolTrue : EventHeaderType::BoolFalse;
    case 1:
      return EventHeaderType::Byte;
    case 2:
      return EventHeaderType::Short;
    case 3:
      return EventHeaderType::Integer;
    case 4:
      return EventHeaderType::Long;
    case 5:
      return EventHeaderType::ByteArray;
    case 6:
      return EventHeaderType::String;
    case 7:
      return EventHeaderType::Timestamp;
    default:
      return EventHeaderType::Uuid;
  }
}

const EventHeaderValue* EventMessage::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) {
      return &h.value;
    }
  }
  return nullptr;
}

std::optional<std::string_view> EventMessage::string_header(std::string_view name) const {
  const EventHeaderValue* v = find(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (const auto* s = std::get_if<std::string>(v)) {
    return std::string_view(*s);
  }
  return std::nullopt;
}

std::string_view to_string(EventStreamErrc errc) {
  switch (errc) {
    case EventStreamErrc::TotalLengthTooSmall:
      return "total_length_too_small";
    case EventStreamErrc::TotalLengthTooLarge:
      return "total_length_too_large";
    case EventStreamErrc::HeadersLengthTooLarge:
      return "headers_length_too_large";
    case EventStreamErrc::PreludeCrcMismatch:
      return "prelude_crc_mismatch";
    case EventStreamErrc::MessageCrcMismatch:
      return "message_crc_mismatch";
    case EventStreamErrc::HeaderNameEmpty:
      return "header_name_empty";
    case EventStreamErrc::UnknownHeaderType:
      return "unknown_header_type";
    case EventStreamErrc::HeaderTruncated:
      return "header_truncated";
    case EventStreamErrc::DuplicateHeader:
      return "duplicate_header";
    case EventStreamErrc::TruncatedMessage:
      return "truncated_message";
  }
  return "unknown";
}

std::optional<EventStreamErrc> eventstream_errc(const Error& error) {
  constexpr std::string_view kPrefix = "eventstream_";
  if (error.code.rfind(kPrefix, 0) != 0) {
    return std::nullopt;
  }
  const std::string_view name = std::string_view(error.code).substr(kPrefix.size());
  for (int i = 0; i <= static_cast<int>(EventStreamErrc::TruncatedMessage); ++i) {
    const auto errc = static_cast<EventStreamErrc>(i);
    if (to_string(errc) == name) {
      return errc;
    }
  }
  return std::nullopt;
}

Result<EventParseResult> parse_event_message(std::string_view buffer,
                                             std::size_t max_message_length) {
  if (buffer.size() < kEventStreamPreludeLength) {
    return EventParseResult{};
  }
  // Message Format: both checksums MUST be validated. The prelude CRC comes first: if it is
  // wrong, the lengths it covers mean nothing.
  const auto total_length = static_cast<std::size_t>(read_be(buffer, 0, 4));
  const auto headers_length = static_cast<std::size_t>(read_be(buffer, 4, 4));
  const auto prelude_crc = static_cast<std::uint32_t>(read_be(buffer, 8, 4));
  const std::uint32_t prelude_actual = crc32(buffer.substr(0, 8));
  if (prelude_actual != prelude_crc) {
    return make_stream_error(EventStreamErrc::PreludeCrcMismatch,
                             "prelude crc " + std::to_string(prelude_crc) + " != computed " +
                                 std::to_string(prelude_actual));
  }
  if (total_length < kEventStreamMinMessageLength) {
    return make_stream_error(EventStreamErrc::TotalLengthTooSmall,
                             "total_length " + std::to_string(total_length));
  }
  if (total_length > max_message_length) {
    return make_stream_error(EventStreamErrc::TotalLengthTooLarge,
                             "total_length " + std::to_string(total_length) + " > limit " +
                                 std::to_string(max_message_length));
  }
  // payload length = total_length - headers_length - 16 must not be negative.
  if (headers_length > total_length - kEventStreamMinMessageLength) {
    return make_stream_error(EventStreamErrc::HeadersLengthTooLarge,
                             "headers_length " + std::to_string(headers_length) +
                                 " does not fit total_length " + std::to_string(total_length));
  }
  if (buffer.size() < total_length) {
    return EventParseResult{};
  }
  const std::string_view frame = buffer.substr(0, total_length);
  const std::size_t crc_at = total_length - kEventStreamMessageCrcLength;
  const auto message_crc = static_cast<std::uint32_t>(read_be(frame, crc_at, 4));
  // The message CRC covers everything before it, prelude included.
  const std::uint32_t message_actual = crc32(frame.substr(0, crc_at));
  if (message_actual != message_crc) {
    return make_stream_error(EventStreamErrc::MessageCrcMismatch,
                             "message crc " + std::to_string(message_crc) + " != computed " +
                                 std::to_string(message_actual));
  }
  auto headers = parse_headers(frame.substr(kEventStreamPreludeLength, headers_length));
  if (!headers) {
    return headers.error();
  }
  const std::size_t payload_at = kEventStreamPreludeLength + headers_length;
  EventParseResult out;
  out.message.emplace();
  out.message->headers = std::move(*headers);
  out.message->payload.assign(frame.substr(payload_at, crc_at - payload_at));
  out.bytes_consumed = total_length;
  return out;
}

EventStreamDecoder::EventStreamDecoder(std::size_t max_message_length)
    : max_message_length_(max_message_length) {}

void EventStreamDecoder::feed(std::string_view bytes) {
  if (failed()) {
    return;
  }
  // Drop consumed bytes once they dominate the buffer, so memory stays O(one message) and the
  // copying stays amortised O(1) per byte.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<std::optional<EventMessage>> EventStreamDecoder::next() {
  if (error_) {
    return *error_;
  }
  auto parsed = parse_event_message(std::string_view(buf_).substr(pos_), max_message_length_);
  if (!parsed) {
    errc_ = eventstream_errc(parsed.error());
    error_ = parsed.error();
    // Nothing after a corrupt message can be trusted; free the buffer.
    buf_.clear();
    pos_ = 0;
    return *error_;
  }
  if (!parsed->message) {
    return std::optional<EventMessage>{};
  }
  pos_ += parsed->bytes_consumed;
  return std::move(parsed->message);
}

Result<void> EventStreamDecoder::feed(std::string_view bytes, std::vector<EventMessage>& out) {
  feed(bytes);
  for (;;) {
    auto r = next();
    if (!r) {
      return r.error();
    }
    if (!r->has_value()) {
      return {};
    }
    out.push_back(std::move(**r));
  }
}

Result<void> EventStreamDecoder::finish() const {
  if (error_) {
    return *error_;
  }
  if (pending_bytes() != 0) {
    return make_stream_error(EventStreamErrc::TruncatedMessage,
                             std::to_string(pending_bytes()) + " bytes of a partial message");
  }
  return {};
}

Result<std::string> encode_event_message(const EventMessage& message,
                                         std::size_t max_message_length) {
  auto invalid = [](std::string what) {
    return make_error(ErrorKind::Internal, "cannot encode event stream message: " + what);
  };
  std::string headers;
  for (std::size_t i = 0; i < message.headers.size(); ++i) {
    const EventHeader& h = message.headers[i];
    if (h.name.empty() || h.name.size() > 255) {
      return invalid("header name length " + std::to_string(h.name.size()));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (message.headers[j].name == h.name) {
        return invalid("duplicate header '" + h.name + "'");
      }
    }
    headers.push_back(static_cast<char>(h.name.size()));
    headers.append(h.name);
    const EventHeaderType type = header_type(h.value);
    headers.push_back(static_cast<char>(type));
    switch (type) {
      case EventHeaderType::BoolTrue:
      case EventHeaderType::BoolFalse:
        break;
      case EventHeaderType::Byte:
        append_be(headers, static_cast<std::uint8_t>(std::get<std::int8_t>(h.value)), 1);
        break;
      case EventHeaderType::Short:
        append_be(headers, static_cast<std::uint16_t>(std::get<std::int16_t>(h.value)), 2);
        break;
      case EventHeaderType::Integer:
        append_be(headers, static_cast<std::uint32_t>(std::get<std::int32_t>(h.value)), 4);
        break;
      case EventHeaderType::Long:
        append_be(headers, static_cast<std::uint64_t>(std::get<std::int64_t>(h.value)), 8);
        break;
      case EventHeaderType::Timestamp:
        append_be(headers,
                  static_cast<std::uint64_t>(std::get<EventTimestamp>(h.value).millis_since_epoch),
                  8);
        break;
      case EventHeaderType::Uuid:
        for (std::uint8_t b : std::get<EventUuid>(h.value).bytes) {
          headers.push_back(static_cast<char>(b));
        }
        break;
      case EventHeaderType::ByteArray:
      case EventHeaderType::String: {
        const std::string& bytes = type == EventHeaderType::String
                                       ? std::get<std::string>(h.value)
                                       : std::get<EventByteArray>(h.value).bytes;
        if (bytes.size() > 0xFFFF) {
          return invalid("header '" + h.name + "' value length " + std::to_string(bytes.size()));
        }
        append_be(headers, bytes.size(), 2);
        headers.append(bytes);
        break;
      }
    }
  }
  const std::size_t total = kEventStreamMinMessageLength + headers.size() + message.payload.size();
  if (total > max_message_length) {
    return invalid("message length " + std::to_string(total));
  }
  std::string out;
  out.reserve(total);
  append_be(out, total, 4);
  append_be(out, headers.size(), 4);
  append_be(out, crc32(out), 4);
  out.append(headers);
  out.append(message.payload);
  append_be(out, crc32(out), 4);
  return out;
}

}  // namespace sy::codec
