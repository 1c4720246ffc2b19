#include "server/access_log.h"

#include <fmt/format.h>

#include <iterator>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "codec/json_scan.h"

namespace sy::server {

namespace {

// "2026-11-24T03:09:21.551Z". The seconds part is formatted once per second per thread:
// gmtime_r and snprintf per request were a visible share of the request path.
void append_iso_now(std::string& out) {
  thread_local std::time_t cached_sec = -1;
  thread_local char prefix[80];
  const auto now = std::chrono::system_clock::now();
  const auto ms_total =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms_total / 1000);
  if (secs != cached_sec) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_sec = secs;
  }
  const int ms = static_cast<int>(ms_total % 1000);
  out += prefix;
  out.push_back('.');
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + (ms / 10) % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  out.push_back('Z');
}

// Appends `v` as a JSON string; plain printable ASCII (the usual case) is copied as is.
void append_quoted(std::string& out, std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out += codec::json_quote(v);
      return;
    }
  }
  out.push_back('"');
  out.append(v);
  out.push_back('"');
}

void put_str(std::string& out, const char* key, std::string_view v) {
  out += ",\"";
  out += key;
  out += "\":";
  append_quoted(out, v);
}

void put_tokens(std::string& out, const char* key, const std::optional<std::int64_t>& v) {
  // Not reported is null, not zero.
  if (v) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}", key, *v);
  } else {
    fmt::format_to(std::back_inserter(out), ",\"{}\":null", key);
  }
}

}  // namespace

std::string format_usd(std::int64_t micros) {
  const bool negative = micros < 0;
  const std::uint64_t v = negative ? static_cast<std::uint64_t>(-(micros + 1)) + 1
                                   : static_cast<std::uint64_t>(micros);
  return fmt::format("{}{}.{:06}", negative ? "-" : "", v / 1'000'000, v % 1'000'000);
}

std::string render_attempts(const std::vector<AttemptLog>& attempts) {
  std::string out = "[";
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    out += i ? ",{" : "{";
    out += "\"provider\":";
    append_quoted(out, a.provider);
    out += ",\"model\":";
    append_quoted(out, a.model);
    out += ",\"tier\":";
    append_quoted(out, a.tier);
    fmt::format_to(std::back_inserter(out), ",\"status\":{},\"latency_ms\":{:.3f}", a.status,
                   a.latency_ms);
    if (!a.error.empty()) {
      out += ",\"error\":";
      append_quoted(out, a.error);
    }
    if (a.canary) {
      out += ",\"canary\":true";
    }
    out += "}";
  }
  out += "]";
  return out;
}

std::string render_access_record(const AccessRecord& r) {
  std::string out;
  out.reserve(512);
  out += "{\"ts\":\"";
  append_iso_now(out);
  out += '"';
  put_str(out, "request_id", r.request_id);
  if (!r.inbound.empty()) {
    put_str(out, "inbound", r.inbound);
  }
  put_str(out, "tenant", r.tenant);
  if (!r.key_id.empty()) {
    put_str(out, "key_id", r.key_id);
  }
  put_str(out, "method", r.method);
  put_str(out, "path", r.path);
  put_str(out, "route", r.route);
  put_str(out, "provider", r.provider);
  put_str(out, "model", r.model);
  put_str(out, "tier", r.tier);
  fmt::format_to(std::back_inserter(out), ",\"status\":{},\"latency_ms\":{:.3f}", r.status,
                 r.latency_ms);
  if (r.ttft_ms) {
    fmt::format_to(std::back_inserter(out), ",\"ttft_ms\":{:.3f}", *r.ttft_ms);
  } else {
    out += ",\"ttft_ms\":null";
  }
  put_tokens(out, "input_tokens", r.usage.input_tokens);
  put_tokens(out, "output_tokens", r.usage.output_tokens);
  put_tokens(out, "cached_input_tokens", r.usage.cached_input_tokens);
  put_tokens(out, "reasoning_tokens", r.usage.reasoning_tokens);
  if (r.cost_micros) {
    out += ",\"cost_usd\":\"";
    out += format_usd(*r.cost_micros);
    out += '"';
  }
  out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
  fmt::format_to(std::back_inserter(out), ",\"attempts\":{}", r.attempts);
  if (!r.error.empty()) {
    put_str(out, "error", r.error);
  }
  if (r.client_aborted) {
    out += ",\"client_aborted\":true";
  }
  if (r.canary) {
    out += ",\"canary\":true";
  }
  if (r.redactions > 0) {
    fmt::format_to(std::back_inserter(out), ",\"redactions\":{}", r.redactions);
  }
  if (!r.attempt_log.empty()) {
    out += ",\"attempt_details\":";
    out += render_attempts(r.attempt_log);
  }
  out += "}\n";
  return out;
}

void write_access_line(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace sy::server
