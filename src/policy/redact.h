#pragma once
// PII redaction applied to a request before it leaves the gateway (a tenant's
// `policy.redact: [email, phone, card, iban, ipv4, ssn]`). Pure and linear time: hand-written
// scanners, no std::regex, no I/O. A Redactor is immutable after construction and can be shared
// by every worker; a RedactionState belongs to one request and is not thread-safe.
//
// Each detected value is replaced by a placeholder `[EMAIL_1]`, `[PHONE_2]`, ... numbered per
// kind in order of first appearance. The same value (compared in canonical form: emails
// lower-cased, numbers as their digits, IBANs without spaces) gets the same placeholder
// everywhere in one request, so the model can still tell "the same person" apart from "another".
// The detection rules, and the false positives and negatives we accept, are in docs/policy.md.
//
// Applied to the IR of a tenant's requests by server/proxy.cc (policy.redact); docs/tenants.md.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::ir {
struct ChatRequest;
}

namespace sy::policy {

// SSN is the US Social Security Number in its dashed form only (AAA-GG-SSSS).
enum class PiiKind : std::uint8_t { Email, Phone, Card, Iban, Ipv4, Ssn };
inline constexpr std::size_t kPiiKindCount = 6;

// "email", "phone", "card", "iban", "ipv4", "ssn": the names used in configuration.
std::string_view pii_kind_name(PiiKind kind);
std::optional<PiiKind> parse_pii_kind(std::string_view name);

// Replacements per kind (each occurrence counts), for the ledger.
struct RedactionCounts {
  std::array<std::size_t, kPiiKindCount> by_kind{};
  std::size_t& operator[](PiiKind k) { return by_kind[static_cast<std::size_t>(k)]; }
  std::size_t operator[](PiiKind k) const { return by_kind[static_cast<std::size_t>(k)]; }
  std::size_t total() const;
  RedactionCounts& operator+=(const RedactionCounts& other);
  friend bool operator==(const RedactionCounts&, const RedactionCounts&) = default;
};

// The placeholder map and counts of one request: pass the same state for every text of it.
class RedactionState {
 public:
  // The placeholder for a value (canonical form) of a kind; numbers new values in order.
  const std::string& placeholder(PiiKind kind, const std::string& canonical);
  const RedactionCounts& counts() const { return counts_; }
  // Distinct values seen per kind.
  std::size_t distinct(PiiKind kind) const { return next_[static_cast<std::size_t>(kind)]; }

 private:
  friend class Redactor;
  std::map<std::pair<PiiKind, std::string>, std::string> map_;
  std::array<std::size_t, kPiiKindCount> next_{};
  RedactionCounts counts_;
};

// One detected value: bytes [begin, end) of the scanned text.
struct PiiMatch {
  PiiKind kind = PiiKind::Email;
  std::size_t begin = 0;
  std::size_t end = 0;
  friend bool operator==(const PiiMatch&, const PiiMatch&) = default;
};

struct RedactionResult {
  std::string text;
  std::size_t replacements = 0;
};

class Redactor {
 public:
  explicit Redactor(const std::vector<PiiKind>& kinds);

  bool enabled(PiiKind kind) const { return enabled_[static_cast<std::size_t>(kind)]; }
  bool empty() const;

  // Non-overlapping matches of the enabled kinds, in text order.
  std::vector<PiiMatch> find(std::string_view text) const;
  // Plain text: every match replaced by its placeholder; state counts updated.
  RedactionResult redact(std::string_view text, RedactionState& state) const;
  // JSON text (tool call arguments): only the contents of string *values* are redacted (keys,
  // numbers and structure are kept byte for byte), strings are decoded before scanning and
  // re-encoded only when something was replaced, so valid JSON stays valid. Text that is not
  // well-formed JSON strings-wise (unterminated string, bad escape) is redacted as plain text.
  RedactionResult redact_json(std::string_view json, RedactionState& state) const;

 private:
  std::array<bool, kPiiKindCount> enabled_{};
};

// Redacts one request in place: system texts, text parts, tool results (as JSON when they start
// with `{` or `[`, else as text) and tool call arguments (as JSON). Reasoning parts (signed by the provider), images, tool definitions, the
// user field and metadata are left alone. Adds this request's replacements to `counts`.
void redact_request(ir::ChatRequest& request, const Redactor& redactor, RedactionCounts& counts);

// The same for an OpenAI Chat Completions `messages` array given as JSON text (the fast path:
// an OpenAI client's body keeps every other member byte for byte): message text content and
// text parts, tool results (as JSON when they look like it) and tool call arguments, with one
// placeholder state for the whole array. Returns the array re-serialised when something was
// replaced; nullopt when nothing was (or the text is not a JSON array of objects). Adds the
// replacements to `counts`.
std::optional<std::string> redact_openai_messages(std::string_view messages,
                                                  const Redactor& redactor,
                                                  RedactionCounts& counts);

// Building blocks, exposed for tests.
bool luhn_valid(std::string_view digits);           // digits only
bool iban_valid(std::string_view compact);          // no spaces, upper case; country length+mod-97
std::optional<std::size_t> iban_length(std::string_view country);  // "DE" -> 22

}  // namespace sy::policy
