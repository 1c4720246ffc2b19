#pragma once
// A validating, allocation-light JSON scanner (RFC 8259) that reports the byte spans of an
// object's top-level members. It is what lets the fast path read and patch a client's request
// body (e.g. rewrite "model") without building a DOM or re-serialising it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sy::codec {

enum class JsonType { Object, Array, String, Number, True, False, Null };

struct JsonMember {
  std::string key;             // unescaped key
  std::size_t member_offset;   // offset of the key's opening quote
  std::size_t value_offset;    // offset of the value's first byte
  std::size_t value_length;    // bytes of the value (for strings: including both quotes)
  JsonType type;
  // The value's raw bytes within `text`.
  std::string_view raw(std::string_view text) const {
    return text.substr(value_offset, value_length);
  }
};

struct JsonObjectScan {
  std::vector<JsonMember> members;  // in document order; duplicates kept
  std::size_t open_brace = 0;       // offset of '{'
  std::size_t close_brace = 0;      // offset of the matching '}'
  // The last member with this key (JSON parsers commonly let the last duplicate win).
  const JsonMember* find(std::string_view key) const;
};

// Validates `text` as exactly one JSON value (surrounding whitespace allowed, nesting depth at
// most 128, strings valid UTF-8 with valid escapes, numbers per the grammar) that is an object.
// Errors are ErrorKind::InvalidRequest with a message naming the byte offset.
Result<JsonObjectScan> scan_object(std::string_view text);

// Validates `text` as one JSON value of any type.
Result<JsonType> validate_json(std::string_view text);

// Unescapes a JSON string literal's raw bytes (with quotes). Precondition: validated.
std::string json_unescape(std::string_view quoted);

// Encodes `s` as a JSON string literal with quotes (escapes ", \, control chars). Bytes that
// are not well-formed UTF-8 become U+FFFD, so the result is always valid JSON.
std::string json_quote(std::string_view s);

}  // namespace sy::codec
