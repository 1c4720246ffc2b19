// Tests for codec/aws_eventstream: the Smithy restJson1 event-stream vectors, the recorded
// Bedrock ConverseStream bodies (whole, 1-byte and 7-byte feeds), encoder round trips, and
// deterministic corruption (bit flips, truncations, crafted preludes and headers).

#include "codec/aws_eventstream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace sy::codec {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kFixtures = SY_FIXTURES_DIR;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json::value read_json(const fs::path& path) { return json::parse(read_file(path)); }

std::string base64_encode(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) {
      v |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The value as the fixtures' decoded views write it: integers and timestamps (ms) as numbers,
// byte arrays as base64, uuids as 32 hex digits.
json::value header_json(const EventHeaderValue& v) {
  switch (header_type(v)) {
    case EventHeaderType::BoolTrue:
    case EventHeaderType::BoolFalse:
      return json::value(std::get<bool>(v));
    case EventHeaderType::Byte:
      return json::value(static_cast<std::int64_t>(std::get<std::int8_t>(v)));
    case EventHeaderType::Short:
      return json::value(static_cast<std::int64_t>(std::get<std::int16_t>(v)));
    case EventHeaderType::Integer:
      return json::value(static_cast<std::int64_t>(std::get<std::int32_t>(v)));
    case EventHeaderType::Long:
      return json::value(std::get<std::int64_t>(v));
    case EventHeaderType::ByteArray:
      return json::value(base64_encode(std::get<EventByteArray>(v).bytes));
    case EventHeaderType::String:
      return json::value(std::get<std::string>(v));
    case EventHeaderType::Timestamp:
      return json::value(std::get<EventTimestamp>(v).millis_since_epoch);
    case EventHeaderType::Uuid: {
      std::string hex;
      for (std::uint8_t b : std::get<EventUuid>(v).bytes) {
        static constexpr std::string_view kHex = "0123456789abcdef";
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      return json::value(hex);
    }
  }
  return nullptr;
}

// Feeds `bytes` in chunks of `chunk` bytes (0 = whole); collects messages until an error.
struct DecodeOutcome {
  std::vector<EventMessage> messages;
  std::optional<EventStreamErrc> errc;  // set if next() failed
  bool finish_ok = false;
};

DecodeOutcome decode_all(std::string_view bytes, std::size_t chunk) {
  DecodeOutcome out;
  EventStreamDecoder decoder;
  const std::size_t step = chunk == 0 ? std::max<std::size_t>(bytes.size(), 1) : chunk;
  for (std::size_t at = 0; at < bytes.size() && !out.errc; at += step) {
    auto r = decoder.feed(bytes.substr(at, step), out.messages);
    if (!r) {
      out.errc = decoder.errc();
      EXPECT_TRUE(out.errc.has_value()) << "error without an errc: " << r.error().code;
      EXPECT_EQ(eventstream_errc(r.error()), out.errc);
      EXPECT_EQ(r.error().kind, ErrorKind::UpstreamUnavailable);
    }
  }
  out.finish_ok = decoder.finish().has_value();
  return out;
}

// Wraps raw header bytes and a payload in a frame with correct lengths and CRCs, so the header
// parser itself can be attacked.
std::string make_frame(std::string_view headers, std::string_view payload) {
  std::string out;
  auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) {
      out.push_back(static_cast<char>((v >> s) & 0xFF));
    }
  };
  be32(static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
  be32(static_cast<std::uint32_t>(headers.size()));
  be32(crc32(out));
  out.append(headers);
  out.append(payload);
  be32(crc32(out));
  return out;
}

// A prelude with a valid CRC but chosen lengths.
std::string make_prelude(std::uint32_t total, std::uint32_t headers_len) {
  std::string out;
  auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) {
      out.push_back(static_cast<char>((v >> s) & 0xFF));
    }
  };
  be32(total);
  be32(headers_len);
  be32(crc32(out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// CRC32

TEST(Crc32, MatchesTheIeeeCheckValue) {
  // The standard check value of CRC-32/ISO-HDLC (zlib's crc32) for "123456789".
  EXPECT_EQ(crc32("123456789"), 0xCBF43926U);
  EXPECT_EQ(crc32(""), 0U);
  EXPECT_EQ(crc32("56789", crc32("1234")), crc32("123456789"));
}

// ---------------------------------------------------------------------------------------------
// Smithy restJson1 vectors (fixtures/eventstream/smithy-restjson1/index.json)

struct SmithyVector {
  std::string id;
  json::object entry;
};

std::vector<SmithyVector> load_smithy_vectors() {
  std::vector<SmithyVector> out;
  const json::value index = read_json(kFixtures / "eventstream/smithy-restjson1/index.json");
  for (const auto& e : index.as_array()) {
    out.push_back({std::string(e.at("id").as_string()), e.as_object()});
  }
  return out;
}

class SmithyVectorTest : public ::testing::TestWithParam<SmithyVector> {};

TEST_P(SmithyVectorTest, DecodesToTheIndexedViewAndReEncodesByteForByte) {
  const json::object& entry = GetParam().entry;
  const std::string bytes =
      read_file(kFixtures / "eventstream" / std::string(entry.at("file").as_string()));
  const json::object& decoded = entry.at("decoded").as_object();
  // The index's own CRC flags say every vector is a well-formed frame; the expect_failure ones
  // are semantic (a server must reject e.g. a missing :event-type), which is above this codec.
  ASSERT_TRUE(decoded.at("prelude_crc_ok").as_bool());
  ASSERT_TRUE(decoded.at("message_crc_ok").as_bool());
  ASSERT_EQ(bytes.size(), static_cast<std::size_t>(decoded.at("total_length").as_int64()));

  auto parsed = parse_event_message(bytes);
  ASSERT_TRUE(parsed) << parsed.error().code << " " << parsed.error().detail;
  ASSERT_TRUE(parsed->message.has_value());
  EXPECT_EQ(parsed->bytes_consumed, bytes.size());
  const EventMessage& m = *parsed->message;

  const json::array& want_headers = decoded.at("headers").as_array();
  ASSERT_EQ(m.headers.size(), want_headers.size());
  for (std::size_t i = 0; i < want_headers.size(); ++i) {
    const json::object& w = want_headers[i].as_object();
    SCOPED_TRACE(std::string(w.at("name").as_string()));
    EXPECT_EQ(m.headers[i].name, w.at("name").as_string());
    EXPECT_EQ(static_cast<std::int64_t>(header_type(m.headers[i].value)), w.at("type").as_int64());
    EXPECT_EQ(header_json(m.headers[i].value), w.at("value"));
    // Lookup by name finds the same value.
    ASSERT_NE(m.find(m.headers[i].name), nullptr);
    EXPECT_EQ(*m.find(m.headers[i].name), m.headers[i].value);
  }
  EXPECT_EQ(m.payload, decoded.at("payload_utf8").as_string());
  // headers_length from the index agrees with what the encoder produces.
  auto encoded = encode_event_message(m);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(*encoded, bytes);

  // Byte-at-a-time gives the same single message.
  const DecodeOutcome one = decode_all(bytes, 1);
  EXPECT_FALSE(one.errc.has_value());
  EXPECT_TRUE(one.finish_ok);
  ASSERT_EQ(one.messages.size(), 1U);
  EXPECT_EQ(one.messages[0], m);
}

TEST_P(SmithyVectorTest, CorruptedCopiesAreRejected) {
  const json::object& entry = GetParam().entry;
  const std::string bytes =
      read_file(kFixtures / "eventstream" / std::string(entry.at("file").as_string()));
  ASSERT_GE(bytes.size(), 16U);
  struct Case {
    std::size_t offset;
    EventStreamErrc want;
  };
  const Case cases[] = {
      {0, EventStreamErrc::PreludeCrcMismatch},                 // total_length
      {5, EventStreamErrc::PreludeCrcMismatch},                 // headers_length
      {10, EventStreamErrc::PreludeCrcMismatch},                // prelude CRC itself
      {12, EventStreamErrc::MessageCrcMismatch},                // first header byte
      {bytes.size() - 5, EventStreamErrc::MessageCrcMismatch},  // last header or payload byte
      {bytes.size() - 1, EventStreamErrc::MessageCrcMismatch},  // message CRC itself
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("flip at " + std::to_string(c.offset));
    std::string bad = bytes;
    bad[c.offset] = static_cast<char>(bad[c.offset] ^ 0x20);
    const DecodeOutcome whole = decode_all(bad, 0);
    EXPECT_EQ(whole.errc, c.want);
    EXPECT_TRUE(whole.messages.empty());
    EXPECT_FALSE(whole.finish_ok);
    const DecodeOutcome ones = decode_all(bad, 1);
    EXPECT_EQ(ones.errc, c.want);
  }
  // A missing last byte is "need more bytes", then a truncated stream at the end.
  const DecodeOutcome cut = decode_all(std::string_view(bytes).substr(0, bytes.size() - 1), 0);
  EXPECT_FALSE(cut.errc.has_value());
  EXPECT_TRUE(cut.messages.empty());
  EXPECT_FALSE(cut.finish_ok);
}

INSTANTIATE_TEST_SUITE_P(EventStream, SmithyVectorTest, ::testing::ValuesIn(load_smithy_vectors()),
                         [](const ::testing::TestParamInfo<SmithyVector>& param_info) {
                           return param_info.param.id;
                         });

TEST(SmithyVectors, IndexCoversEveryBinFile) {
  std::vector<std::string> on_disk;
  for (const auto& f : fs::directory_iterator(kFixtures / "eventstream/smithy-restjson1")) {
    if (f.path().extension() == ".bin") {
      on_disk.push_back("smithy-restjson1/" + f.path().filename().string());
    }
  }
  std::vector<std::string> indexed;
  for (const auto& v : load_smithy_vectors()) {
    indexed.emplace_back(v.entry.at("file").as_string());
  }
  std::sort(on_disk.begin(), on_disk.end());
  std::sort(indexed.begin(), indexed.end());
  EXPECT_EQ(on_disk, indexed);
  EXPECT_FALSE(on_disk.empty());
}

// ---------------------------------------------------------------------------------------------
// Recorded Bedrock ConverseStream bodies (fixtures/bedrock/*.response.eventstream)

std::vector<std::string> bedrock_streams() {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(kFixtures / "bedrock")) {
    const std::string name = f.path().filename().string();
    const std::string suffix = ".response.eventstream";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      names.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string test_name(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return s;
}

class BedrockStreamTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BedrockStreamTest, DecodesToTheRecordedFramesInAnySplit) {
  const std::string bytes =
      read_file(kFixtures / "bedrock" / (GetParam() + ".response.eventstream"));
  const json::array want =
      read_json(kFixtures / "bedrock" / (GetParam() + ".response.frames.json")).as_array();

  const DecodeOutcome whole = decode_all(bytes, 0);
  const DecodeOutcome ones = decode_all(bytes, 1);
  const DecodeOutcome sevens = decode_all(bytes, 7);
  for (const DecodeOutcome* o : {&whole, &ones, &sevens}) {
    EXPECT_FALSE(o->errc.has_value());
    EXPECT_TRUE(o->finish_ok);
  }
  EXPECT_EQ(ones.messages, whole.messages);
  EXPECT_EQ(sevens.messages, whole.messages);

  ASSERT_EQ(whole.messages.size(), want.size());
  std::string reencoded;
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const json::object& w = want[i].as_object();
    const EventMessage& m = whole.messages[i];
    // Headers: the decoded view is a name -> string object.
    std::map<std::string, std::string> got_headers;
    for (const auto& h : m.headers) {
      ASSERT_TRUE(std::holds_alternative<std::string>(h.value)) << h.name;
      got_headers[h.name] = std::get<std::string>(h.value);
    }
    std::map<std::string, std::string> want_headers;
    for (const auto& kv : w.at("headers").as_object()) {
      want_headers[std::string(kv.key())] = std::string(kv.value().as_string());
    }
    EXPECT_EQ(got_headers, want_headers);
    // Payload: the view stores the parsed JSON.
    EXPECT_EQ(json::parse(m.payload), w.at("payload"));
    auto frame = encode_event_message(m);
    ASSERT_TRUE(frame);
    EXPECT_EQ(static_cast<std::int64_t>(frame->size()), w.at("total_length").as_int64());
    reencoded += *frame;
  }
  // encode(decode(x)) == x for the whole recorded body.
  EXPECT_EQ(reencoded, bytes);
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockStreamTest, ::testing::ValuesIn(bedrock_streams()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return test_name(param_info.param);
                         });

TEST(BedrockStreams, FixturesArePresent) {
  // Guards the parameterised suite against silently running zero cases.
  EXPECT_GE(bedrock_streams().size(), 3U);
}

TEST(BedrockStreams, GeneratedThrottlingExceptionFrame) {
  // Described in fixtures/bedrock/README.md: one exception frame, 178 bytes, CRCs valid.
  const std::string bytes =
      read_file(kFixtures / "bedrock/generated/throttlingException.eventstream");
  ASSERT_EQ(bytes.size(), 178U);
  const DecodeOutcome out = decode_all(bytes, 1);
  EXPECT_FALSE(out.errc.has_value());
  EXPECT_TRUE(out.finish_ok);
  ASSERT_EQ(out.messages.size(), 1U);
  const EventMessage& m = out.messages[0];
  EXPECT_EQ(m.string_header(":message-type"), "exception");
  EXPECT_EQ(m.string_header(":exception-type"), "throttlingException");
  EXPECT_EQ(m.string_header(":content-type"), "application/json");
  EXPECT_EQ(m.string_header(":event-type"), std::nullopt);
  EXPECT_EQ(json::parse(m.payload).at("message"),
            "Too many requests, please wait before trying again.");
  auto again = encode_event_message(m);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, bytes);
}

// ---------------------------------------------------------------------------------------------
// Deterministic mutation of the recorded Bedrock body

class Mutation : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = read_file(kFixtures / "bedrock/converse-stream-text.response.eventstream");
    ASSERT_FALSE(bytes_.empty());
    // Frame boundaries, from the decoder itself (checked against frames.json above).
    const DecodeOutcome out = decode_all(bytes_, 0);
    ASSERT_FALSE(out.errc.has_value());
    std::size_t at = 0;
    for (const auto& m : out.messages) {
      auto frame = encode_event_message(m);
      ASSERT_TRUE(frame);
      at += frame->size();
      ends_.push_back(at);
    }
    ASSERT_EQ(at, bytes_.size());
  }
  // Index of the frame holding byte `offset`.
  std::size_t frame_of(std::size_t offset) const {
    return static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), offset) -
                                    ends_.begin());
  }
  bool is_boundary(std::size_t len) const {
    return len == 0 || std::find(ends_.begin(), ends_.end(), len) != ends_.end();
  }
  std::string bytes_;
  std::vector<std::size_t> ends_;  // end offset of each frame
};

TEST_F(Mutation, EverySingleBitFlipIsACrcError) {
  // CRC32 detects every single-bit error, so each flip must be flagged in the frame it hits,
  // with all earlier frames delivered intact. One flip per byte, the bit rotating with the
  // offset, so every bit position is hit across the stream.
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    const auto mask = static_cast<std::uint8_t>(1U << (i % 8));
    std::string bad = bytes_;
    bad[i] = static_cast<char>(static_cast<std::uint8_t>(bad[i]) ^ mask);
    const DecodeOutcome out = decode_all(bad, 0);
    const std::size_t frame = frame_of(i);
    const std::size_t frame_start = frame == 0 ? 0 : ends_[frame - 1];
    const EventStreamErrc want = i - frame_start < 12 ? EventStreamErrc::PreludeCrcMismatch
                                                      : EventStreamErrc::MessageCrcMismatch;
    ASSERT_EQ(out.errc, want) << "offset " << i << " mask " << int(mask);
    ASSERT_EQ(out.messages.size(), frame) << "offset " << i;
    ASSERT_FALSE(out.finish_ok);
  }
}

TEST_F(Mutation, BitFlipsFedInSevenByteChunksAgree) {
  for (std::size_t i = 0; i < bytes_.size(); i += 13) {
    std::string bad = bytes_;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    const DecodeOutcome whole = decode_all(bad, 0);
    const DecodeOutcome sevens = decode_all(bad, 7);
    ASSERT_TRUE(whole.errc.has_value()) << i;
    ASSERT_EQ(sevens.errc, whole.errc) << i;
    ASSERT_EQ(sevens.messages, whole.messages) << i;
  }
}

TEST_F(Mutation, EveryTruncationWaitsForMoreBytesThenFailsAtFinish) {
  // One decoder fed a byte at a time: after every prefix length, the frames ending at or before
  // it are out, nothing is an error, and finish() succeeds only on a frame boundary.
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  for (std::size_t len = 0; len <= bytes_.size(); ++len) {
    if (len > 0) {
      ASSERT_TRUE(decoder.feed(std::string_view(bytes_).substr(len - 1, 1), out)) << len;
    }
    ASSERT_EQ(out.size(), frame_of(len)) << len;
    ASSERT_EQ(decoder.finish().has_value(), is_boundary(len)) << len;
    if (!is_boundary(len)) {
      EXPECT_EQ(eventstream_errc(decoder.finish().error()), EventStreamErrc::TruncatedMessage);
    }
  }
  EXPECT_EQ(out.size(), ends_.size());
}

TEST_F(Mutation, RandomMultiByteDamageNeverCrashesAndIsFlagged) {
  std::mt19937 rng(20261124);  // fixed seed: the same mutations on every run and platform
  int flagged = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string bad = bytes_;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      bad[rng() % bad.size()] = static_cast<char>(rng() & 0xFF);
    }
    if (iter % 5 == 0) {
      bad.resize(rng() % bad.size());  // and sometimes cut it short
    }
    const DecodeOutcome out = decode_all(bad, 1 + rng() % 64);
    // Frames before the first damaged byte are delivered; the damaged frame is flagged once
    // its prelude (if the damage is there) or all of it (otherwise) has arrived.
    std::size_t first_diff = 0;
    while (first_diff < bad.size() && bad[first_diff] == bytes_[first_diff]) {
      ++first_diff;
    }
    if (first_diff == bad.size()) {  // an intact prefix
      EXPECT_FALSE(out.errc.has_value()) << iter;
      EXPECT_EQ(out.messages.size(), frame_of(bad.size())) << iter;
      EXPECT_EQ(out.finish_ok, is_boundary(bad.size())) << iter;
      continue;
    }
    const std::size_t k = frame_of(first_diff);
    const std::size_t start = k == 0 ? 0 : ends_[k - 1];
    const bool in_prelude = first_diff - start < 12;
    const bool detectable = in_prelude ? bad.size() >= start + 12 : bad.size() >= ends_[k];
    ASSERT_EQ(out.messages.size(), k) << iter;
    if (detectable) {
      ASSERT_TRUE(out.errc.has_value()) << "iteration " << iter;
      EXPECT_EQ(*out.errc, in_prelude ? EventStreamErrc::PreludeCrcMismatch
                                      : EventStreamErrc::MessageCrcMismatch)
          << iter;
      ++flagged;
    } else {
      EXPECT_FALSE(out.errc.has_value()) << iter;
    }
    EXPECT_FALSE(out.finish_ok) << iter;
  }
  EXPECT_GT(flagged, 1000);
}

// ---------------------------------------------------------------------------------------------
// Crafted frames: lengths and headers with valid CRCs

TEST(EventStreamDecoder, RejectsBadLengthsAsSoonAsThePreludeArrives) {
  struct Case {
    std::uint32_t total;
    std::uint32_t headers;
    EventStreamErrc want;
  };
  const Case cases[] = {
      {0, 0, EventStreamErrc::TotalLengthTooSmall},
      {15, 0, EventStreamErrc::TotalLengthTooSmall},
      {16 * 1024 * 1024 + 1, 0, EventStreamErrc::TotalLengthTooLarge},
      {0xFFFFFFFFU, 0, EventStreamErrc::TotalLengthTooLarge},
      {16, 1, EventStreamErrc::HeadersLengthTooLarge},
      {100, 85, EventStreamErrc::HeadersLengthTooLarge},
      {100, 0xFFFFFFFFU, EventStreamErrc::HeadersLengthTooLarge},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.total) + "/" + std::to_string(c.headers));
    // Only the 12 prelude bytes: the error must not wait for the (bogus) rest of the message.
    const DecodeOutcome out = decode_all(make_prelude(c.total, c.headers), 1);
    EXPECT_EQ(out.errc, c.want);
  }
  // Exactly 16 MiB is allowed: with the prelude alone it is "need more bytes".
  EXPECT_FALSE(decode_all(make_prelude(16 * 1024 * 1024, 0), 0).errc.has_value());
  // Exactly 16 bytes is the empty message.
  const DecodeOutcome empty = decode_all(make_frame("", ""), 1);
  EXPECT_FALSE(empty.errc.has_value());
  ASSERT_EQ(empty.messages.size(), 1U);
  EXPECT_TRUE(empty.messages[0].headers.empty());
  EXPECT_TRUE(empty.messages[0].payload.empty());
}

TEST(EventStreamDecoder, RejectsMalformedHeadersInsideAValidFrame) {
  using namespace std::string_literals;
  struct Case {
    std::string headers;
    EventStreamErrc want;
  };
  const Case cases[] = {
      {"\x00\x07"s, EventStreamErrc::HeaderNameEmpty},
      {"\x01"
       "a\x0A"s,
       EventStreamErrc::UnknownHeaderType},
      {"\x01"
       "a\xFF"s,
       EventStreamErrc::UnknownHeaderType},
      {"\x05"
       "ab"s,
       EventStreamErrc::HeaderTruncated},  // name runs past the block
      {"\x01"
       "a"s,
       EventStreamErrc::HeaderTruncated},  // no type byte
      {"\x01"
       "a\x07\x00\x05"
       "abc"s,
       EventStreamErrc::HeaderTruncated},  // string too long
      {"\x01"
       "a\x07\x00"s,
       EventStreamErrc::HeaderTruncated},  // half a length prefix
      {"\x01"
       "a\x04\x00\x00\x01"s,
       EventStreamErrc::HeaderTruncated},  // 3 of 4 int bytes
      {"\x01"
       "a\x09\x00\x00"s,
       EventStreamErrc::HeaderTruncated},  // 2 of 16 uuid bytes
      {"\x01"
       "a\x00\x01"
       "a\x01"s,
       EventStreamErrc::DuplicateHeader},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(to_string(c.want));
    // The payload after the headers must not be read as headers.
    const DecodeOutcome out = decode_all(make_frame(c.headers, "\x01\x02payload"), 0);
    EXPECT_EQ(out.errc, c.want);
    EXPECT_TRUE(out.messages.empty());
  }
}

TEST(EventStreamDecoder, ErrorsAreSticky) {
  const std::string good = make_frame("", "ok");
  std::string bad = good;
  bad[13] = 'X';
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  ASSERT_TRUE(decoder.feed(good, out));
  ASSERT_EQ(out.size(), 1U);
  auto r = decoder.feed(bad + good, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(decoder.errc(), EventStreamErrc::MessageCrcMismatch);
  EXPECT_TRUE(decoder.failed());
  // Valid bytes after the corruption are not decoded: there is no way to resynchronise.
  EXPECT_FALSE(decoder.feed(good, out));
  EXPECT_FALSE(decoder.next());
  EXPECT_FALSE(decoder.finish());
  EXPECT_EQ(out.size(), 1U);
  EXPECT_EQ(decoder.pending_bytes(), 0U);
}

TEST(EventStreamDecoder, HonoursASmallerLimit) {
  const std::string frame = make_frame("", std::string(100, 'x'));
  EventStreamDecoder decoder(64);
  std::vector<EventMessage> out;
  EXPECT_FALSE(decoder.feed(frame, out));
  EXPECT_EQ(decoder.errc(), EventStreamErrc::TotalLengthTooLarge);
}

// ---------------------------------------------------------------------------------------------
// Encoder

TEST(EventStreamEncoder, RoundTripsEveryHeaderType) {
  EventMessage m;
  EventUuid uuid;
  for (std::size_t i = 0; i < uuid.bytes.size(); ++i) {
    uuid.bytes[i] = static_cast<std::uint8_t>(0xF0 + i);
  }
  m.headers = {
      {"t", true},
      {"f", false},
      {"byte", std::int8_t{-2}},
      {"short", std::int16_t{-300}},
      {"int", std::int32_t{-70000}},
      {"long", std::int64_t{-5000000000LL}},
      {"bytes", EventByteArray{std::string("\x00\xFF\x10", 3)}},
      {"string", std::string("h\xC3\xA9llo")},
      {"ts", EventTimestamp{1730384114000}},
      {"uuid", uuid},
      {"empty", std::string()},
  };
  m.payload = std::string("\x00\x01{\"a\":1}", 9);
  auto bytes = encode_event_message(m);
  ASSERT_TRUE(bytes);
  const EventHeaderType want_types[] = {
      EventHeaderType::BoolTrue,  EventHeaderType::BoolFalse, EventHeaderType::Byte,
      EventHeaderType::Short,     EventHeaderType::Integer,   EventHeaderType::Long,
      EventHeaderType::ByteArray, EventHeaderType::String,    EventHeaderType::Timestamp,
      EventHeaderType::Uuid,      EventHeaderType::String};
  for (std::size_t i = 0; i < m.headers.size(); ++i) {
    EXPECT_EQ(header_type(m.headers[i].value), want_types[i]) << m.headers[i].name;
  }
  for (std::size_t chunk : {0U, 1U, 7U}) {
    const DecodeOutcome out = decode_all(*bytes, chunk);
    EXPECT_FALSE(out.errc.has_value());
    ASSERT_EQ(out.messages.size(), 1U);
    EXPECT_EQ(out.messages[0], m);
  }
  // Two's complement on the wire: -2 as one byte is 0xFE.
  EXPECT_EQ(*m.find("byte"), EventHeaderValue{std::int8_t{-2}});
  EXPECT_EQ(m.find("missing"), nullptr);
  EXPECT_EQ(m.string_header("byte"), std::nullopt);
  EXPECT_EQ(m.string_header("string"), "h\xC3\xA9llo");
}

TEST(EventStreamEncoder, RejectsWhatTheWireCannotCarry) {
  auto encode_one = [](EventHeader h) {
    EventMessage m;
    m.headers.push_back(std::move(h));
    return encode_event_message(m);
  };
  EXPECT_FALSE(encode_one({"", true}));
  EXPECT_FALSE(encode_one({std::string(256, 'n'), true}));
  EXPECT_TRUE(encode_one({std::string(255, 'n'), true}));
  EXPECT_FALSE(encode_one({"s", std::string(65536, 'v')}));
  EXPECT_TRUE(encode_one({"s", std::string(65535, 'v')}));
  EXPECT_FALSE(encode_one({"b", EventByteArray{std::string(65536, 'v')}}));
  EventMessage dup;
  dup.headers = {{"a", true}, {"a", false}};
  EXPECT_FALSE(encode_event_message(dup));
  EventMessage big;
  big.payload.assign(100, 'x');
  EXPECT_FALSE(encode_event_message(big, 64));
  EXPECT_TRUE(encode_event_message(big, 116));
}

TEST(EventStreamEncoder, ManyFramesAcrossArbitrarySplits) {
  std::string stream;
  std::vector<EventMessage> want;
  for (int i = 0; i < 50; ++i) {
    EventMessage m;
    m.headers = {{":event-type", std::string("e") + std::to_string(i)}, {"n", std::int32_t{i}}};
    m.payload.assign(static_cast<std::size_t>(i * 3), static_cast<char>('a' + i % 26));
    auto f = encode_event_message(m);
    ASSERT_TRUE(f);
    stream += *f;
    want.push_back(std::move(m));
  }
  for (std::size_t chunk : {0U, 1U, 2U, 7U, 13U, 64U, 1000U}) {
    const DecodeOutcome out = decode_all(stream, chunk);
    EXPECT_FALSE(out.errc.has_value());
    EXPECT_TRUE(out.finish_ok);
    EXPECT_EQ(out.messages, want) << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace sy::codec
