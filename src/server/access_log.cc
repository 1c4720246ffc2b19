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

std::string iso_now() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void put_str(std::string& out, const char* key, std::string_view v) {
  out += ",\"";
  out += key;
  out += "\":";
  out += codec::json_quote(v);
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

std::string render_access_record(const AccessRecord& r) {
  std::string out;
  out.reserve(512);
  out += "{\"ts\":\"";
  out += iso_now();
  out += '"';
  put_str(out, "request_id", r.request_id);
  if (!r.inbound.empty()) {
    put_str(out, "inbound", r.inbound);
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
  out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
  fmt::format_to(std::back_inserter(out), ",\"attempts\":{}", r.attempts);
  if (!r.error.empty()) {
    put_str(out, "error", r.error);
  }
  if (r.client_aborted) {
    out += ",\"client_aborted\":true";
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
