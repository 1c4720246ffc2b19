#include "policy/redact.h"

#include "codec/json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <variant>

#include "ir/chat.h"

namespace sy::policy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_upper(c) || is_lower(c); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::array<std::string_view, kPiiKindCount> kNames = {"email", "phone", "card",
                                                                "iban",  "ipv4",  "ssn"};
constexpr std::array<std::string_view, kPiiKindCount> kTags = {"EMAIL", "PHONE", "CARD",
                                                               "IBAN",  "IPV4",  "SSN"};

struct Found {
  PiiMatch match;
  std::string canonical;
};

// ---------------------------------------------------------------------------------------------
// Email: a practical subset of RFC 5322 addr-spec. Local part: dot-atom of [A-Za-z0-9._%+-]
// (no leading, trailing or doubled dot, at most 64 bytes); no quoted local parts. Domain: at
// least two LDH labels (1-63, no leading/trailing '-'), the last one alphabetic (2-63) or
// punycode (xn--), at most 253 bytes; no IP literals. The userinfo of a URL authority
// (`scheme://user@host`, `scheme://user:pw@host`) is not an email; `mailto:` and emails inside
// a query string are.

bool is_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

bool is_tld(std::string_view label) {
  if (label.size() >= 4 && label.substr(0, 4) == "xn--") {
    return label.size() > 4;
  }
  if (label.size() < 2) {
    return false;
  }
  return std::all_of(label.begin(), label.end(), is_alpha);
}

bool preceded_by_url_authority(std::string_view s, std::size_t local_begin) {
  if (local_begin >= 3 && s.substr(local_begin - 3, 3) == "://") {
    return true;
  }
  if (local_begin == 0 || s[local_begin - 1] != ':') {
    return false;
  }
  // user:password@host: look back (bounded) over the user name for "//".
  std::size_t p = local_begin - 1;
  std::size_t steps = 0;
  while (p > 0 && steps < 256) {
    char c = s[p - 1];
    if (c == '/') {
      return p >= 2 && s[p - 2] == '/';
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '@') {
      return false;
    }
    --p;
    ++steps;
  }
  return false;
}

void find_emails(std::string_view s, std::vector<Found>& out) {
  for (std::size_t at = 0; at < s.size(); ++at) {
    if (s[at] != '@') {
      continue;
    }
    // Local part, walking left; a doubled dot ends it (the part after it may still be valid).
    std::size_t b = at;
    while (b > 0 && is_local_char(s[b - 1])) {
      if (s[b - 1] == '.' && b < at && s[b] == '.') {
        break;
      }
      --b;
    }
    while (b < at && s[b] == '.') {
      ++b;
    }
    if (b == at || at - b > 64 || s[at - 1] == '.') {
      continue;
    }
    if (b > 0 && s[b - 1] == '@') {
      continue;
    }
    if (preceded_by_url_authority(s, b)) {
      continue;
    }
    // Domain, walking right; remember the last end that makes a valid domain.
    std::size_t p = at + 1;
    std::size_t end_ok = 0;
    int labels = 0;
    while (true) {
      std::size_t ls = p;
      while (p < s.size() && (is_alnum(s[p]) || s[p] == '-')) {
        ++p;
      }
      std::size_t len = p - ls;
      if (len == 0 || len > 63 || s[ls] == '-' || s[p - 1] == '-') {
        break;
      }
      ++labels;
      if (labels >= 2 && is_tld(s.substr(ls, len)) && p - (at + 1) <= 253) {
        end_ok = p;
      }
      if (p + 1 < s.size() && s[p] == '.' && is_alnum(s[p + 1])) {
        ++p;
        continue;
      }
      break;
    }
    if (end_ok == 0 || (end_ok < s.size() && s[end_ok] == '@')) {
      continue;
    }
    std::string canon;
    canon.reserve(end_ok - b);
    for (std::size_t i = b; i < end_ok; ++i) {
      canon.push_back(to_lower(s[i]));
    }
    out.push_back({{PiiKind::Email, b, end_ok}, std::move(canon)});
  }
}

// ---------------------------------------------------------------------------------------------
// Payment cards: 13-19 digits, leading digit 2-6 (the issuer ranges in use), passing Luhn.
// Written either unbroken or in groups of 3-6 digits joined by one consistent separator (space
// or dash). Never part of a longer unbroken digit run or of a dash-joined token; a card may end
// at a space after which unrelated digits follow ("4111 1111 1111 1111 2" -> the first 16).

struct Group {
  std::size_t begin;
  std::size_t end;
  char sep_before;  // 0 for the first group of a run
};

bool run_start_ok(std::string_view s, std::size_t i) {
  if (i == 0) {
    return true;
  }
  char p = s[i - 1];
  if (is_alnum(p) || p == '.' || p == ',' || p == '_') {
    return false;
  }
  if ((p == ' ' || p == '-') && i >= 2 && is_digit(s[i - 2])) {
    return false;  // inside a run
  }
  return true;
}

void find_cards(std::string_view s, std::vector<Found>& out) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  std::vector<Group> groups;
  while (i < n) {
    if (!is_digit(s[i]) || !run_start_ok(s, i)) {
      ++i;
      continue;
    }
    // Tokenize the run: digit groups joined by single ' ' or '-'.
    groups.clear();
    std::size_t p = i;
    char sep = 0;
    while (true) {
      std::size_t gb = p;
      while (p < n && is_digit(s[p])) {
        ++p;
      }
      groups.push_back({gb, p, sep});
      if (p + 1 < n && (s[p] == ' ' || s[p] == '-') && is_digit(s[p + 1])) {
        sep = s[p];
        ++p;
        continue;
      }
      break;
    }
    const std::size_t run_end = p;
    // A run followed by a decimal part or letters is an amount or an identifier.
    bool tail_bad = run_end < n && (is_alpha(s[run_end]) || s[run_end] == '_' ||
                                    ((s[run_end] == '.' || s[run_end] == ',') &&
                                     run_end + 1 < n && is_digit(s[run_end + 1])));
    std::size_t g = 0;
    while (g < groups.size()) {
      if (g > 0 && groups[g].sep_before != ' ') {
        ++g;
        continue;
      }
      std::size_t best_end = 0;
      std::size_t total = 0;
      for (std::size_t e = g; e < groups.size(); ++e) {
        std::size_t len = groups[e].end - groups[e].begin;
        total += len;
        if (total > 19) {
          break;
        }
        bool ends_here = e + 1 == groups.size() || groups[e + 1].sep_before == ' ';
        if (!ends_here || total < 13) {
          continue;
        }
        if (e + 1 == groups.size() && tail_bad) {
          continue;
        }
        if (e > g) {
          bool shape_ok = true;
          for (std::size_t k = g; k <= e; ++k) {
            std::size_t kl = groups[k].end - groups[k].begin;
            if (kl < 3 || kl > 6 || (k > g && groups[k].sep_before != groups[g + 1].sep_before)) {
              shape_ok = false;
              break;
            }
          }
          if (!shape_ok) {
            continue;
          }
        }
        std::string digits;
        for (std::size_t k = g; k <= e; ++k) {
          digits.append(s.substr(groups[k].begin, groups[k].end - groups[k].begin));
        }
        if (digits[0] >= '2' && digits[0] <= '6' && luhn_valid(digits)) {
          best_end = e + 1;
        }
      }
      if (best_end > 0) {
        std::string digits;
        for (std::size_t k = g; k < best_end; ++k) {
          digits.append(s.substr(groups[k].begin, groups[k].end - groups[k].begin));
        }
        out.push_back(
            {{PiiKind::Card, groups[g].begin, groups[best_end - 1].end}, std::move(digits)});
        g = best_end;
      } else {
        ++g;
      }
    }
    i = run_end;
  }
}

// ---------------------------------------------------------------------------------------------
// IBAN (ISO 13616): two upper-case country letters with a known length, two check digits and
// the BBAN of [A-Z0-9], either compact or in the printed form (a single space after every four
// characters); valid when the rearranged number is 1 mod 97. Not followed by [A-Za-z0-9].

struct IbanCountry {
  char code[3];
  unsigned char length;
};

constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

void find_ibans(std::string_view s, std::vector<Found>& out) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i + 4 <= n) {
    if (!(is_upper(s[i]) && is_upper(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3])) ||
        (i > 0 && is_alnum(s[i - 1]))) {
      ++i;
      continue;
    }
    auto len = iban_length(s.substr(i, 2));
    if (!len) {
      ++i;
      continue;
    }
    std::string compact(s.substr(i, 4));
    std::size_t p = i + 4;
    while (compact.size() < *len) {
      if (p < n && (is_upper(s[p]) || is_digit(s[p]))) {
        compact.push_back(s[p]);
        ++p;
      } else if (p + 1 < n && s[p] == ' ' && compact.size() % 4 == 0 &&
                 (is_upper(s[p + 1]) || is_digit(s[p + 1]))) {
        ++p;
      } else {
        break;
      }
    }
    if (compact.size() == *len && (p == n || !is_alnum(s[p])) && iban_valid(compact)) {
      out.push_back({{PiiKind::Iban, i, p}, std::move(compact)});
      i = p;
    } else {
      ++i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// IPv4: dotted quad, each part 0-255 without leading zeros; not preceded by [A-Za-z0-9.] and
// not followed by [A-Za-z0-9] or ".<digit>" (so 1.2.3.4.5 and v1.2.3.4 are not addresses).

void find_ipv4(std::string_view s, std::vector<Found>& out) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (!is_digit(s[i]) || (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.'))) {
      ++i;
      continue;
    }
    std::size_t p = i;
    int parts = 0;
    bool ok = true;
    while (parts < 4) {
      std::size_t b = p;
      int value = 0;
      while (p < n && is_digit(s[p]) && p - b < 4) {
        value = value * 10 + (s[p] - '0');
        ++p;
      }
      std::size_t len = p - b;
      if (len == 0 || len > 3 || value > 255 || (len > 1 && s[b] == '0')) {
        ok = false;
        break;
      }
      ++parts;
      if (parts < 4) {
        if (p < n && s[p] == '.') {
          ++p;
        } else {
          ok = false;
          break;
        }
      }
    }
    if (ok && p < n &&
        (is_alnum(s[p]) || (s[p] == '.' && p + 1 < n && is_digit(s[p + 1])))) {
      ok = false;
    }
    if (ok) {
      out.push_back({{PiiKind::Ipv4, i, p}, std::string(s.substr(i, p - i))});
      i = p;
      continue;
    }
    // Skip the rest of this digit/dot token: no address starts inside it.
    std::size_t q = i;
    while (q < n && (is_digit(s[q]) || s[q] == '.')) {
      ++q;
    }
    i = std::max(q, i + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// US SSN, dashed form only: AAA-GG-SSSS with area not 000, 666 or 9xx, group not 00, serial
// not 0000; not adjacent to [A-Za-z0-9] or a dash-joined digit.

void find_ssns(std::string_view s, std::vector<Found>& out) {
  const std::size_t n = s.size();
  for (std::size_t i = 0; i + 11 <= n; ++i) {
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '-')) {
      continue;
    }
    std::string_view c = s.substr(i, 11);
    bool shape = c[3] == '-' && c[6] == '-';
    for (std::size_t k : {0, 1, 2, 4, 5, 7, 8, 9, 10}) {
      shape = shape && is_digit(c[k]);
    }
    if (!shape) {
      continue;
    }
    std::size_t e = i + 11;
    if (e < n && (is_alnum(s[e]) || (s[e] == '-' && e + 1 < n && is_digit(s[e + 1])))) {
      continue;
    }
    std::string_view area = c.substr(0, 3);
    if (area == "000" || area == "666" || area[0] == '9' || c.substr(4, 2) == "00" ||
        c.substr(7, 4) == "0000") {
      continue;
    }
    std::string digits;
    digits.append(c.substr(0, 3)).append(c.substr(4, 2)).append(c.substr(7, 4));
    out.push_back({{PiiKind::Ssn, i, e}, std::move(digits)});
    i = e - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Phone numbers: E.164 ("+" then 7-15 digits, optionally grouped) and national formats: 7-15
// digits in at least two groups joined by single separators (space, '-', '.'), or with an
// area code in parentheses ("(555) 123-4567", "+44 (0)20 7946 0958"). Rejected: unbroken
// digit runs without '+' (order numbers, ids), '.'-separated numbers unless "+..." or the
// North American 3.3.4 shape (versions, IP addresses), dates (YYYY-MM-DD, DD-MM-YYYY and the
// same with '.' or ' '), ranges (1999-2024, 8080-8090: two dash-joined groups of equal width,
// the second larger), amounts (preceded by a currency sign,
// followed by a decimal part or '%', or thousands groups "1 000 000"), ISBN-13 (978/979 with
// dashes), and numbers glued to letters. A trailing single digit after a space is not part of
// the number ("555-123-4567 2 times").

bool currency_before(std::string_view s, std::size_t i) {
  std::size_t p = i;
  if (p > 0 && s[p - 1] == ' ') {
    --p;
  }
  if (p == 0) {
    return false;
  }
  char c = s[p - 1];
  if (c == '$') {
    return true;
  }
  auto ends_with = [&](std::string_view suffix) {
    return p >= suffix.size() && s.substr(p - suffix.size(), suffix.size()) == suffix;
  };
  return ends_with("\xE2\x82\xAC") || ends_with("\xC2\xA3") || ends_with("\xC2\xA5") ||
         ends_with("USD") || ends_with("EUR") || ends_with("GBP");
}

bool is_year(std::string_view s, const Group& g) {
  if (g.end - g.begin != 4) {
    return false;
  }
  std::string_view y = s.substr(g.begin, 2);
  return y == "19" || y == "20";
}

int two_digit(std::string_view s, const Group& g) {
  std::size_t len = g.end - g.begin;
  if (len == 1) {
    return s[g.begin] - '0';
  }
  if (len == 2) {
    return (s[g.begin] - '0') * 10 + (s[g.begin + 1] - '0');
  }
  return -1;
}

void find_phones(std::string_view s, std::vector<Found>& out) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::vector<Group> groups;
  std::vector<bool> paren;
  while (i < n) {
    char c0 = s[i];
    bool start = is_digit(c0) || c0 == '(' || (c0 == '+' && i + 1 < n && is_digit(s[i + 1]));
    if (start && i > 0) {
      char p = s[i - 1];
      if (is_alnum(p) || p == '.' || p == ',' || p == '-' || p == '+' || p == '/' ||
          p == '_' || p == '#' || p == '@' || p == '%' || p == '\\') {
        start = false;
      }
    }
    if (!start) {
      ++i;
      continue;
    }
    groups.clear();
    paren.clear();
    std::size_t p = i;
    bool plus = false;
    if (s[p] == '+') {
      plus = true;
      ++p;
    }
    std::size_t total = 0;
    bool too_long = false;
    bool malformed = false;
    char sep = 0;
    while (true) {
      bool in_paren = false;
      if (p < n && s[p] == '(') {
        in_paren = true;
        ++p;
      }
      std::size_t gb = p;
      while (p < n && is_digit(s[p])) {
        ++p;
      }
      if (p == gb) {
        malformed = true;
        break;
      }
      if (in_paren) {
        if (p < n && s[p] == ')') {
          ++p;
        } else {
          malformed = true;
          break;
        }
      }
      groups.push_back({gb, in_paren ? p - 1 : p, sep});
      paren.push_back(in_paren);
      total += (in_paren ? p - 1 : p) - gb;
      if (total > 15) {
        too_long = true;
        break;
      }
      // Separator: one of ' ', '-', '.'; after ')' the separator is optional.
      if (p < n && (s[p] == ' ' || s[p] == '-' || s[p] == '.') && p + 1 < n &&
          (is_digit(s[p + 1]) || s[p + 1] == '(')) {
        sep = s[p];
        ++p;
        continue;
      }
      if (in_paren && p < n && (is_digit(s[p]) || s[p] == '(')) {
        sep = ')';
        continue;
      }
      break;
    }
    if (malformed && s[i] == '(') {
      ++i;  // "(555-123-4567)": try again from the digit
      continue;
    }
    if (too_long || malformed) {
      // Skip the whole digit token so no suffix of it is taken for a number.
      std::size_t q = std::max(p, i + 1);
      while (q < n && (is_digit(s[q]) || ((s[q] == ' ' || s[q] == '-' || s[q] == '.') &&
                                          q + 1 < n && is_digit(s[q + 1])))) {
        ++q;
      }
      i = q;
      continue;
    }
    const std::size_t token_end = p;
    // Drop a trailing single digit after a space.
    if (groups.size() > 1 && groups.back().end - groups.back().begin == 1 &&
        groups.back().sep_before == ' ' && !paren.back()) {
      total -= 1;
      groups.pop_back();
      paren.pop_back();
      p = groups.back().end + (paren.back() ? 1 : 0);
    }
    std::size_t end = p;
    bool ok = total >= 7 && total <= 15 && groups.size() <= 6;
    bool any_paren = std::find(paren.begin(), paren.end(), true) != paren.end();
    if (ok && !plus && groups.size() < 2) {
      ok = false;
    }
    if (ok && groups.back().end - groups.back().begin < 2) {
      ok = false;
    }
    bool dots = false;
    bool all_dots = true;
    bool all_spaces = true;
    bool all_dashes = true;
    for (std::size_t k = 1; k < groups.size(); ++k) {
      char sp = groups[k].sep_before;
      dots = dots || sp == '.';
      all_dots = all_dots && sp == '.';
      all_spaces = all_spaces && sp == ' ';
      all_dashes = all_dashes && sp == '-';
    }
    if (ok && dots && !plus) {
      bool nanp = all_dots && groups.size() == 3 && groups[0].end - groups[0].begin == 3 &&
                  groups[1].end - groups[1].begin == 3 && groups[2].end - groups[2].begin == 4;
      ok = nanp;
    }
    if (ok && !plus && !any_paren) {
      std::vector<std::size_t> lens;
      for (const Group& g : groups) {
        lens.push_back(g.end - g.begin);
      }
      // Dates.
      if (groups.size() == 3 && is_year(s, groups[0]) && lens[1] <= 2 && lens[2] <= 2) {
        int m = two_digit(s, groups[1]);
        int d = two_digit(s, groups[2]);
        if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
          ok = false;
        }
      }
      if (groups.size() == 3 && is_year(s, groups[2]) && lens[0] <= 2 && lens[1] <= 2) {
        int a = two_digit(s, groups[0]);
        int b = two_digit(s, groups[1]);
        if (a >= 1 && a <= 31 && b >= 1 && b <= 31 && (a <= 12 || b <= 12)) {
          ok = false;
        }
      }
      // Year ranges, and numeric ranges of equal width ("8080-8090").
      if (groups.size() == 2 && is_year(s, groups[0]) && is_year(s, groups[1])) {
        ok = false;
      }
      if (groups.size() == 2 && all_dashes && lens[0] == lens[1] &&
          s.substr(groups[0].begin, lens[0]) < s.substr(groups[1].begin, lens[1])) {
        ok = false;
      }
      // Thousands grouping of an amount: 1-2 digits, then groups of exactly 3.
      if (all_spaces && lens[0] <= 2) {
        bool thousands = true;
        for (std::size_t k = 1; k < lens.size(); ++k) {
          thousands = thousands && lens[k] == 3;
        }
        if (thousands) {
          ok = false;
        }
      }
      // ISBN-13.
      if (all_dashes && total == 13 &&
          (s.substr(groups[0].begin, 3) == "978" || s.substr(groups[0].begin, 3) == "979")) {
        ok = false;
      }
    }
    if (ok && currency_before(s, i)) {
      ok = false;
    }
    if (ok && end < n) {
      char a = s[end];
      if (is_alpha(a) || a == '_' || a == '%' ||
          ((a == '.' || a == ',') && end + 1 < n && is_digit(s[end + 1]))) {
        ok = false;
      }
    }
    if (ok) {
      std::string canon = plus ? "+" : "";
      for (const Group& g : groups) {
        canon.append(s.substr(g.begin, g.end - g.begin));
      }
      out.push_back({{PiiKind::Phone, i, end}, std::move(canon)});
      i = end;
    } else {
      i = std::max(token_end, i + 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON string decoding and encoding (for tool call arguments).


std::optional<std::uint32_t> hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) {
    return std::nullopt;
  }
  std::uint32_t v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    char c = s[k];
    v <<= 4;
    if (is_digit(c)) {
      v |= static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

// Decodes the JSON string starting at s[open] == '"'; returns the index of the closing quote.
std::optional<std::size_t> decode_json_string(std::string_view s, std::size_t open,
                                              std::string& out) {
  std::size_t p = open + 1;
  while (p < s.size()) {
    char c = s[p];
    if (c == '"') {
      return p;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      return std::nullopt;
    }
    if (c != '\\') {
      out.push_back(c);
      ++p;
      continue;
    }
    if (p + 1 >= s.size()) {
      return std::nullopt;
    }
    char e = s[p + 1];
    p += 2;
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto cp = hex4(s, p);
        if (!cp) {
          return std::nullopt;
        }
        p += 4;
        std::uint32_t v = *cp;
        if (v >= 0xD800 && v <= 0xDBFF && p + 6 <= s.size() && s[p] == '\\' && s[p + 1] == 'u') {
          auto lo = hex4(s, p + 2);
          if (lo && *lo >= 0xDC00 && *lo <= 0xDFFF) {
            v = 0x10000 + ((v - 0xD800) << 10) + (*lo - 0xDC00);
            p += 6;
          }
        }
        if (v >= 0xD800 && v <= 0xDFFF) {
          v = 0xFFFD;  // a lone surrogate cannot be UTF-8
        }
        codec::append_utf8(out, v);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

void encode_json_string(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xF]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view pii_kind_name(PiiKind kind) { return kNames[static_cast<std::size_t>(kind)]; }

std::optional<PiiKind> parse_pii_kind(std::string_view name) {
  for (std::size_t k = 0; k < kPiiKindCount; ++k) {
    if (kNames[k] == name) {
      return static_cast<PiiKind>(k);
    }
  }
  return std::nullopt;
}

std::size_t RedactionCounts::total() const {
  std::size_t t = 0;
  for (std::size_t v : by_kind) {
    t += v;
  }
  return t;
}

RedactionCounts& RedactionCounts::operator+=(const RedactionCounts& other) {
  for (std::size_t k = 0; k < kPiiKindCount; ++k) {
    by_kind[k] += other.by_kind[k];
  }
  return *this;
}

const std::string& RedactionState::placeholder(PiiKind kind, const std::string& canonical) {
  auto [it, inserted] = map_.try_emplace({kind, canonical});
  if (inserted) {
    std::size_t index = ++next_[static_cast<std::size_t>(kind)];
    it->second.append("[")
        .append(kTags[static_cast<std::size_t>(kind)])
        .append("_")
        .append(std::to_string(index))
        .append("]");
  }
  return it->second;
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) {
    return false;
  }
  int sum = 0;
  bool twice = false;
  for (std::size_t k = digits.size(); k-- > 0;) {
    if (!is_digit(digits[k])) {
      return false;
    }
    int d = digits[k] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

std::optional<std::size_t> iban_length(std::string_view country) {
  for (const IbanCountry& c : kIbanCountries) {
    if (country == std::string_view(c.code, 2)) {
      return c.length;
    }
  }
  return std::nullopt;
}

bool iban_valid(std::string_view compact) {
  if (compact.size() < 4) {
    return false;
  }
  auto len = iban_length(compact.substr(0, 2));
  if (!len || *len != compact.size() || !is_digit(compact[2]) || !is_digit(compact[3])) {
    return false;
  }
  // Move the first four characters to the end, letters become 10..35, the number mod 97 == 1.
  int r = 0;
  for (std::size_t k = 0; k < compact.size(); ++k) {
    char c = compact[(k + 4) % compact.size()];
    if (is_digit(c)) {
      r = (r * 10 + (c - '0')) % 97;
    } else if (is_upper(c)) {
      r = (r * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return r == 1;
}

Redactor::Redactor(const std::vector<PiiKind>& kinds) {
  for (PiiKind k : kinds) {
    enabled_[static_cast<std::size_t>(k)] = true;
  }
}

bool Redactor::empty() const {
  return std::none_of(enabled_.begin(), enabled_.end(), [](bool b) { return b; });
}

namespace {

std::vector<Found> find_all(const Redactor& r, std::string_view text) {
  std::vector<Found> all;
  if (r.enabled(PiiKind::Email)) {
    find_emails(text, all);
  }
  if (r.enabled(PiiKind::Iban)) {
    find_ibans(text, all);
  }
  if (r.enabled(PiiKind::Card)) {
    find_cards(text, all);
  }
  if (r.enabled(PiiKind::Ssn)) {
    find_ssns(text, all);
  }
  if (r.enabled(PiiKind::Phone)) {
    find_phones(text, all);
  }
  if (r.enabled(PiiKind::Ipv4)) {
    find_ipv4(text, all);
  }
  // Earliest first, then longest, then the kind order above (stable sort keeps it).
  std::stable_sort(all.begin(), all.end(), [](const Found& a, const Found& b) {
    if (a.match.begin != b.match.begin) {
      return a.match.begin < b.match.begin;
    }
    return (a.match.end - a.match.begin) > (b.match.end - b.match.begin);
  });
  std::vector<Found> chosen;
  std::size_t last_end = 0;
  for (Found& f : all) {
    if (f.match.begin >= last_end) {
      last_end = f.match.end;
      chosen.push_back(std::move(f));
    }
  }
  return chosen;
}

}  // namespace

std::vector<PiiMatch> Redactor::find(std::string_view text) const {
  std::vector<PiiMatch> out;
  for (const Found& f : find_all(*this, text)) {
    out.push_back(f.match);
  }
  return out;
}

RedactionResult Redactor::redact(std::string_view text, RedactionState& state) const {
  RedactionResult result;
  if (empty()) {
    result.text = std::string(text);
    return result;
  }
  std::vector<Found> found = find_all(*this, text);
  result.text.reserve(text.size());
  std::size_t at = 0;
  for (const Found& f : found) {
    result.text.append(text.substr(at, f.match.begin - at));
    result.text.append(state.placeholder(f.match.kind, f.canonical));
    state.counts_[f.match.kind] += 1;
    at = f.match.end;
  }
  result.text.append(text.substr(at));
  result.replacements = found.size();
  return result;
}

RedactionResult Redactor::redact_json(std::string_view json, RedactionState& state) const {
  RedactionResult result;
  if (empty()) {
    result.text = std::string(json);
    return result;
  }
  // Work on a copy of the state so that a fallback to plain text does not count twice.
  RedactionState trial = state;
  std::string out;
  out.reserve(json.size());
  std::size_t p = 0;
  std::string decoded;
  while (p < json.size()) {
    if (json[p] != '"') {
      out.push_back(json[p]);
      ++p;
      continue;
    }
    decoded.clear();
    auto close = decode_json_string(json, p, decoded);
    if (!close) {
      return redact(json, state);
    }
    std::size_t q = *close + 1;
    while (q < json.size() && is_json_space(json[q])) {
      ++q;
    }
    bool is_key = q < json.size() && json[q] == ':';
    std::string_view raw = json.substr(p, *close + 1 - p);
    if (is_key) {
      out.append(raw);
    } else {
      RedactionResult r = redact(decoded, trial);
      if (r.replacements == 0) {
        out.append(raw);
      } else {
        encode_json_string(r.text, out);
        result.replacements += r.replacements;
      }
    }
    p = *close + 1;
  }
  state = std::move(trial);
  result.text = std::move(out);
  return result;
}

void redact_request(ir::ChatRequest& request, const Redactor& redactor, RedactionCounts& counts) {
  if (redactor.empty()) {
    return;
  }
  RedactionState state;
  auto redact_text = [&](std::string& text) {
    RedactionResult r = redactor.redact(text, state);
    if (r.replacements > 0) {
      text = std::move(r.text);
    }
  };
  for (std::string& s : request.system) {
    redact_text(s);
  }
  for (ir::Message& m : request.messages) {
    for (ir::Part& part : m.content) {
      if (auto* t = std::get_if<ir::TextPart>(&part)) {
        redact_text(t->text);
      } else if (auto* r = std::get_if<ir::ToolResultPart>(&part)) {
        // Tool results are often JSON: keep them valid when they look like it.
        auto first = r->content.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && (r->content[first] == '{' || r->content[first] == '[')) {
          RedactionResult j = redactor.redact_json(r->content, state);
          if (j.replacements > 0) {
            r->content = std::move(j.text);
          }
        } else {
          redact_text(r->content);
        }
      } else if (auto* c = std::get_if<ir::ToolCallPart>(&part)) {
        RedactionResult j = redactor.redact_json(c->arguments, state);
        if (j.replacements > 0) {
          c->arguments = std::move(j.text);
        }
      }
    }
  }
  counts += state.counts();
}

namespace {

bool looks_like_json(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
}

// Replaces `v` (a JSON string) with its redaction; true when something was replaced.
bool redact_string_value(boost::json::value& v, const Redactor& redactor, RedactionState& state,
                         bool as_json) {
  if (!v.is_string()) {
    return false;
  }
  const std::string_view text = v.get_string();
  RedactionResult r = as_json ? redactor.redact_json(text, state) : redactor.redact(text, state);
  if (r.replacements == 0) {
    return false;
  }
  v = boost::json::string(r.text);
  return true;
}

}  // namespace

std::optional<std::string> redact_openai_messages(std::string_view messages,
                                                  const Redactor& redactor,
                                                  RedactionCounts& counts) {
  if (redactor.empty()) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(messages, ec);
  if (ec || !doc.is_array()) {
    return std::nullopt;
  }
  RedactionState state;
  bool changed = false;
  for (boost::json::value& mv : doc.get_array()) {
    auto* m = mv.if_object();
    if (!m) {
      continue;
    }
    const auto* role = m->if_contains("role");
    const bool tool = role && role->is_string() && role->get_string() == "tool";
    if (auto* content = m->if_contains("content")) {
      if (content->is_string()) {
        changed |= redact_string_value(*content, redactor, state,
                                       tool && looks_like_json(content->get_string()));
      } else if (auto* parts = content->if_array()) {
        for (boost::json::value& pv : *parts) {
          auto* part = pv.if_object();
          if (!part) {
            continue;
          }
          const auto* type = part->if_contains("type");
          if (type && type->is_string() && type->get_string() == "text") {
            if (auto* text = part->if_contains("text")) {
              changed |= redact_string_value(*text, redactor, state,
                                             tool && text->is_string() &&
                                                 looks_like_json(text->get_string()));
            }
          }
        }
      }
    }
    if (auto* calls = m->if_contains("tool_calls"); calls && calls->is_array()) {
      for (boost::json::value& cv : calls->get_array()) {
        auto* call = cv.if_object();
        auto* fn = call ? call->if_contains("function") : nullptr;
        auto* fo = fn ? fn->if_object() : nullptr;
        if (auto* args = fo ? fo->if_contains("arguments") : nullptr) {
          changed |= redact_string_value(*args, redactor, state, true);
        }
      }
    }
  }
  counts += state.counts();
  if (!changed) {
    return std::nullopt;
  }
  return boost::json::serialize(doc);
}

}  // namespace sy::policy
