#include "codec/json_scan.h"
#include "codec/json_util.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sy::codec {

namespace {

// RFC 8259 puts no limit on nesting; 128 bounds the recursion below (and matches what we ask
// of Boost.JSON where a DOM is built), far above what a chat request needs.
constexpr int kMaxDepth = 128;

// Bytes that can be copied through a string without a closer look: printable ASCII other than
// '"' and '\\'. Everything else (controls, quote, backslash, UTF-8 lead/continuation bytes)
// leaves the fast loop.
constexpr std::array<bool, 256> make_plain_table() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) {
    t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  }
  return t;
}
constexpr std::array<bool, 256> kPlain = make_plain_table();

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Four hex digits at s[i..i+4), or -1.
int read_hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) {
    return -1;
  }
  int v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int h = hex_value(s[i + k]);
    if (h < 0) {
      return -1;
    }
    v = v * 16 + h;
  }
  return v;
}

// Length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if it is not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
  };
  const auto cont = [&](std::size_t k) { return (byte(k) & 0xC0U) == 0x80U; };
  const unsigned b0 = byte(0);
  if (b0 < 0x80U) {
    return 1;
  }
  if (b0 >= 0xC2U && b0 <= 0xDFU) {
    return cont(1) ? 2 : 0;
  }
  if (b0 >= 0xE0U && b0 <= 0xEFU) {
    const unsigned b1 = byte(1);
    const unsigned lo = b0 == 0xE0U ? 0xA0U : 0x80U;  // E0: no overlongs
    const unsigned hi = b0 == 0xEDU ? 0x9FU : 0xBFU;  // ED: no UTF-16 surrogates
    return (b1 >= lo && b1 <= hi && cont(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0U && b0 <= 0xF4U) {
    const unsigned b1 = byte(1);
    const unsigned lo = b0 == 0xF0U ? 0x90U : 0x80U;  // F0: no overlongs
    const unsigned hi = b0 == 0xF4U ? 0x8FU : 0xBFU;  // F4: nothing above U+10FFFF
    return (b1 >= lo && b1 <= hi && cont(2) && cont(3)) ? 4 : 0;
  }
  return 0;
}


bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One linear, recursive-descent pass. Recursion depth is bounded by kMaxDepth. On failure,
// what_ and at_ describe the first error; nothing is allocated except the members recorded for
// the top-level object.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  // Exactly one value with optional surrounding whitespace.
  bool document(JsonType& type, JsonObjectScan* record) {
    skip_ws();
    if (record != nullptr) {
      if (peek() != '{') {
        return fail(at_end() ? "unexpected end of input, expected a JSON object"
                             : "expected a JSON object");
      }
      record->open_brace = pos_;
      if (!object(1, record)) {
        return false;
      }
      record->close_brace = pos_ - 1;
      type = JsonType::Object;
    } else if (!value(0, type)) {
      return false;
    }
    skip_ws();
    if (!at_end()) {
      return fail("unexpected data after the JSON value");
    }
    return true;
  }

  Error error() const {
    return make_error(ErrorKind::InvalidRequest,
                      std::string(what_) + " at byte " + std::to_string(at_));
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  bool fail(const char* what) { return fail_at(what, pos_); }
  bool fail_at(const char* what, std::size_t at) {
    what_ = what;
    at_ = at;
    return false;
  }

  void skip_ws() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      ++pos_;
    }
  }

  bool value(int depth, JsonType& type) {
    if (at_end()) {
      return fail("unexpected end of input, expected a value");
    }
    switch (text_[pos_]) {
      case '{':
        type = JsonType::Object;
        return object(depth + 1, nullptr);
      case '[':
        type = JsonType::Array;
        return array(depth + 1);
      case '"':
        type = JsonType::String;
        return string();
      case 't':
        type = JsonType::True;
        return literal("true");
      case 'f':
        type = JsonType::False;
        return literal("false");
      case 'n':
        type = JsonType::Null;
        return literal("null");
      default:
        type = JsonType::Number;
        if (text_[pos_] == '-' || is_digit(text_[pos_])) {
          return number();
        }
        return fail("unexpected character, expected a value");
    }
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      // Point at the first byte that differs (or the end) rather than at the literal's start.
      std::size_t k = 0;
      while (pos_ + k < text_.size() && k < word.size() && text_[pos_ + k] == word[k]) {
        ++k;
      }
      return fail_at(pos_ + k >= text_.size() ? "unexpected end of input in a literal"
                                              : "invalid literal",
                     pos_ + k);
    }
    pos_ += word.size();
    return true;
  }

  // RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  bool number() {
    if (peek() == '-') {
      ++pos_;
    }
    if (peek() == '0') {
      ++pos_;
      if (is_digit(peek())) {
        return fail("leading zero in a number");
      }
    } else if (is_digit(peek())) {
      while (is_digit(peek())) {
        ++pos_;
      }
    } else {
      return fail(at_end() ? "unexpected end of input in a number" : "expected a digit");
    }
    if (peek() == '.') {
      ++pos_;
      if (!is_digit(peek())) {
        return fail(at_end() ? "unexpected end of input in a number"
                             : "expected a digit after the decimal point");
      }
      while (is_digit(peek())) {
        ++pos_;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') {
        ++pos_;
      }
      if (!is_digit(peek())) {
        return fail(at_end() ? "unexpected end of input in a number"
                             : "expected a digit in the exponent");
      }
      while (is_digit(peek())) {
        ++pos_;
      }
    }
    return true;
  }

  // pos_ is at the opening quote; leaves pos_ after the closing quote.
  bool string() {
    const std::size_t n = text_.size();
    ++pos_;
    while (true) {
      while (pos_ < n && kPlain[static_cast<unsigned char>(text_[pos_])]) {
        ++pos_;
      }
      if (pos_ >= n) {
        return fail("unexpected end of input in a string");
      }
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) {
          return false;
        }
        continue;
      }
      if (c < 0x20) {
        return fail("unescaped control character in a string");
      }
      const std::size_t len = utf8_sequence_length(text_, pos_);
      if (len == 0) {
        return fail("invalid UTF-8 in a string");
      }
      pos_ += len;
    }
  }

  // pos_ is at the backslash.
  bool escape() {
    const std::size_t start = pos_;
    ++pos_;
    if (at_end()) {
      return fail("unexpected end of input in an escape");
    }
    const char e = text_[pos_];
    if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
        e == 't') {
      ++pos_;
      return true;
    }
    if (e != 'u') {
      return fail_at("invalid escape in a string", start);
    }
    const int unit = read_hex4(text_, pos_ + 1);
    if (unit < 0) {
      return fail_at("invalid \\u escape in a string", start);
    }
    pos_ += 5;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return fail_at("lone low surrogate \\u escape in a string", start);
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      // A high surrogate must be followed by a \u low surrogate: together they are one code
      // point; alone it has no UTF-8 encoding.
      const int low = (text_.substr(pos_, 2) == "\\u") ? read_hex4(text_, pos_ + 2) : -1;
      if (low < 0xDC00 || low > 0xDFFF) {
        return fail_at("lone high surrogate \\u escape in a string", start);
      }
      pos_ += 6;
    }
    return true;
  }

  bool array(int depth) {
    if (depth > kMaxDepth) {
      return fail("nesting deeper than 128 levels");
    }
    ++pos_;
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      JsonType ignored{};
      if (!value(depth, ignored)) {
        return false;
      }
      skip_ws();
      const char c = peek();
      if (c == ',') {
        ++pos_;
        skip_ws();
        if (peek() == ']') {
          return fail("trailing comma in an array");
        }
        continue;
      }
      if (c == ']') {
        ++pos_;
        return true;
      }
      return fail(at_end() ? "unexpected end of input in an array"
                           : "expected ',' or ']' in an array");
    }
  }

  // pos_ is at '{'. When `record` is set (top level only), members are appended to it.
  bool object(int depth, JsonObjectScan* record) {
    if (depth > kMaxDepth) {
      return fail("nesting deeper than 128 levels");
    }
    ++pos_;
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      if (peek() != '"') {
        if (peek() == '}') {
          return fail("trailing comma in an object");
        }
        return fail(at_end() ? "unexpected end of input in an object"
                             : "expected a string key in an object");
      }
      const std::size_t key_start = pos_;
      if (!string()) {
        return false;
      }
      const std::size_t key_end = pos_;
      skip_ws();
      if (peek() != ':') {
        return fail(at_end() ? "unexpected end of input in an object"
                             : "expected ':' after an object key");
      }
      ++pos_;
      skip_ws();
      const std::size_t value_start = pos_;
      JsonType type{};
      if (!value(depth, type)) {
        return false;
      }
      if (record != nullptr) {
        record->members.push_back(
            JsonMember{json_unescape(text_.substr(key_start, key_end - key_start)), key_start,
                       value_start, pos_ - value_start, type});
      }
      skip_ws();
      const char c = peek();
      if (c == ',') {
        ++pos_;
        skip_ws();
        continue;
      }
      if (c == '}') {
        ++pos_;
        return true;
      }
      return fail(at_end() ? "unexpected end of input in an object"
                           : "expected ',' or '}' in an object");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  const char* what_ = "";
  std::size_t at_ = 0;
};

}  // namespace

const JsonMember* JsonObjectScan::find(std::string_view key) const {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->key == key) {
      return &*it;
    }
  }
  return nullptr;
}

Result<JsonObjectScan> scan_object(std::string_view text) {
  JsonObjectScan scan;
  Scanner scanner(text);
  JsonType type{};
  if (!scanner.document(type, &scan)) {
    return scanner.error();
  }
  return scan;
}

Result<JsonType> validate_json(std::string_view text) {
  Scanner scanner(text);
  JsonType type{};
  if (!scanner.document(type, nullptr)) {
    return scanner.error();
  }
  return type;
}

std::string json_unescape(std::string_view quoted) {
  if (quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"') {
    quoted = quoted.substr(1, quoted.size() - 2);
  }
  std::string out;
  std::size_t backslash = quoted.find('\\');
  if (backslash == std::string_view::npos) {
    out.assign(quoted);  // the common case: nothing to decode
    return out;
  }
  out.reserve(quoted.size());
  std::size_t i = 0;
  while (backslash != std::string_view::npos) {
    out.append(quoted.substr(i, backslash - i));
    i = backslash + 1;
    if (i >= quoted.size()) {
      break;  // precondition violated (dangling backslash): drop it rather than read past
    }
    const char e = quoted[i++];
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        int unit = read_hex4(quoted, i);
        if (unit < 0) {
          unit = 0xFFFD;  // precondition violated; stay memory-safe
        } else {
          i += 4;
        }
        auto cp = static_cast<std::uint32_t>(unit);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          const int low = quoted.substr(i, 2) == "\\u" ? read_hex4(quoted, i + 2) : -1;
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<std::uint32_t>(low) - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(e); break;  // '"', '\\', '/'
    }
    backslash = quoted.find('\\', i);
  }
  out.append(quoted.substr(std::min(i, quoted.size())));
  return out;
}

std::string json_quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (kPlain[c]) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); ++i; continue;
      case '\\': out.append("\\\\"); ++i; continue;
      case '\b': out.append("\\b"); ++i; continue;
      case '\f': out.append("\\f"); ++i; continue;
      case '\n': out.append("\\n"); ++i; continue;
      case '\r': out.append("\\r"); ++i; continue;
      case '\t': out.append("\\t"); ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
      continue;
    }
    // Non-ASCII: copy well-formed UTF-8 through; replace a malformed byte with U+FFFD so the
    // result is always valid JSON (a strict upstream parser would reject the whole body).
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace sy::codec
