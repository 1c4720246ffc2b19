#include "admin/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace sy::admin {
namespace {

void atomic_add(std::atomic<double> &a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        c == '_' || (colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

void check_labels(const std::string &name,
                  const std::vector<std::string> &labels) {
  if (!valid_name(name, true)) {
    throw std::invalid_argument("invalid metric name \"" + name + "\"");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string &label = labels[i];
    if (!valid_name(label, false) || label.rfind("__", 0) == 0) {
      throw std::invalid_argument("metric " + name + ": invalid label name \"" +
                                  label + "\"");
    }
    if (std::find(labels.begin(),
                  labels.begin() + static_cast<std::ptrdiff_t>(i),
                  label) != labels.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("metric " + name + ": duplicate label \"" +
                                  label + "\"");
    }
  }
}

// `{a="x",b="y"}` plus an optional extra label (le for buckets); "" when there
// is none.
std::string label_text(const std::vector<std::string> &names,
                       const LabelValues &values,
                       std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) {
    out += "}";
  }
  return out;
}

void header(std::string &out, const std::string &name, const std::string &help,
            std::string_view type) {
  out += "# HELP " + name + " " + escape_help(help) + "\n";
  out += "# TYPE " + name + " " + std::string(type) + "\n";
}

} // namespace

std::string format_value(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  // Whole numbers as integers (timestamps stay "1700000000", not "1.7e+09");
  // else the shortest text that reads back as the same double ("0.25",
  // "1e-07").
  constexpr double kExactInts = 9007199254740992.0; // 2^53
  if (v == std::trunc(v) && std::fabs(v) < kExactInts) {
    const auto res =
        std::to_chars(buf, buf + sizeof(buf), static_cast<std::int64_t>(v));
    return std::string(buf, res.ptr);
  }
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

void Counter::inc(double by) {
  if (by > 0.0) {
    atomic_add(value_, by);
  }
}

void Gauge::inc(double by) { atomic_add(value_, by); }

Histogram::Histogram(const std::vector<double> &bounds)
    : bounds_(bounds),
      counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    counts_[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double v) {
  if (std::isnan(v)) {
    return; // no bucket holds NaN, and it would poison the sum
  }
  // Buckets are "less than or equal": v lands in the first bound >= v.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(
      1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---------------------------------------------------------------------------------------------

template <typename Series>
Family<Series>::Family(std::string name, std::string help,
                       std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)),
      label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

template <typename Series>
Series &Family<Series>::with(const LabelValues &values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": expected " +
                                std::to_string(label_names_.size()) +
                                " label values, got " +
                                std::to_string(values.size()));
  }
  {
    const std::shared_lock lock(mu_);
    const auto it = series_.find(values);
    if (it != series_.end()) {
      return *it->second;
    }
  }
  const std::unique_lock lock(mu_);
  auto &slot = series_[values];
  if (!slot) {
    if constexpr (std::is_same_v<Series, Histogram>) {
      slot = std::make_unique<Histogram>(bounds_);
    } else {
      slot = std::make_unique<Series>();
    }
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------------------------

void Registry::claim(const std::string &name,
                     const std::vector<std::string> &labels) {
  check_labels(name, labels);
  const auto taken = [&](const auto &families) {
    return std::any_of(families.begin(), families.end(),
                       [&](const auto &f) { return f->name() == name; });
  };
  if (taken(counters_) || taken(gauges_) || taken(histograms_)) {
    throw std::invalid_argument("metric " + name + " registered twice");
  }
}

CounterFamily &Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> labels) {
  const std::lock_guard lock(mu_);
  claim(name, labels);
  counters_.push_back(std::make_unique<CounterFamily>(
      std::move(name), std::move(help), std::move(labels)));
  order_.push_back({Kind::Counter, counters_.size() - 1});
  return *counters_.back();
}

GaugeFamily &Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> labels) {
  const std::lock_guard lock(mu_);
  claim(name, labels);
  gauges_.push_back(std::make_unique<GaugeFamily>(
      std::move(name), std::move(help), std::move(labels)));
  order_.push_back({Kind::Gauge, gauges_.size() - 1});
  return *gauges_.back();
}

HistogramFamily &Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> labels,
                                     std::vector<double> bounds) {
  const std::lock_guard lock(mu_);
  claim(name, labels);
  if (std::find(labels.begin(), labels.end(), "le") != labels.end()) {
    throw std::invalid_argument("metric " + name +
                                ": a histogram cannot have a label \"le\"");
  }
  const bool finite = std::all_of(bounds.begin(), bounds.end(),
                                  [](double b) { return std::isfinite(b); });
  const bool ascending =
      std::adjacent_find(bounds.begin(), bounds.end(), [](double a, double b) {
        return a >= b;
      }) == bounds.end();
  if (!finite || !ascending) {
    throw std::invalid_argument("metric " + name +
                                ": bucket bounds must be finite, ascending");
  }
  histograms_.push_back(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(labels), std::move(bounds)));
  order_.push_back({Kind::Histogram, histograms_.size() - 1});
  return *histograms_.back();
}

std::string Registry::render() const {
  const std::lock_guard lock(mu_);
  std::string out;
  for (const Entry &e : order_) {
    switch (e.kind) {
    case Kind::Counter: {
      const CounterFamily &f = *counters_[e.index];
      header(out, f.name(), f.help(), "counter");
      f.each([&](const LabelValues &values, const Counter &c) {
        out += f.name() + label_text(f.label_names(), values) + " " +
               format_value(c.value()) + "\n";
      });
      break;
    }
    case Kind::Gauge: {
      const GaugeFamily &f = *gauges_[e.index];
      header(out, f.name(), f.help(), "gauge");
      f.each([&](const LabelValues &values, const Gauge &g) {
        out += f.name() + label_text(f.label_names(), values) + " " +
               format_value(g.value()) + "\n";
      });
      break;
    }
    case Kind::Histogram: {
      const HistogramFamily &f = *histograms_[e.index];
      header(out, f.name(), f.help(), "histogram");
      f.each([&](const LabelValues &values, const Histogram &h) {
        const Histogram::Snapshot s = h.snapshot();
        for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
          const std::string le =
              i < f.bounds().size() ? format_value(f.bounds()[i]) : "+Inf";
          out += f.name() + "_bucket" +
                 label_text(f.label_names(), values, "le", le) + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        const std::string labels = label_text(f.label_names(), values);
        out += f.name() + "_sum" + labels + " " + format_value(s.sum) + "\n";
        out +=
            f.name() + "_count" + labels + " " + std::to_string(s.count) + "\n";
      });
      break;
    }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The gateway's series

namespace {

constexpr const char *kOperationName = "chat";

} // namespace

// Bucket bounds advised by the OpenTelemetry GenAI semantic conventions for
// these metrics.
const std::vector<double> &GatewayMetrics::duration_buckets() {
  static const std::vector<double> b = {0.01,  0.02,  0.04,  0.08, 0.16,
                                        0.32,  0.64,  1.28,  2.56, 5.12,
                                        10.24, 20.48, 40.96, 81.92};
  return b;
}

const std::vector<double> &GatewayMetrics::ttft_buckets() {
  static const std::vector<double> b = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06,
                                        0.08,  0.1,   0.25, 0.5,  0.75, 1.0,
                                        2.5,   5.0,   7.5,  10.0};
  return b;
}

const std::vector<double> &GatewayMetrics::token_buckets() {
  static const std::vector<double> b = {
      1,     4,     16,     64,      256,     1024,     4096,
      16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
  return b;
}

GatewayMetrics::GatewayMetrics(Registry &registry)
    : operation_duration_(registry.histogram(
          "gen_ai_client_operation_duration_seconds",
          "GenAI operation duration.",
          {"gen_ai_operation_name", "gen_ai_provider_name",
           "gen_ai_request_model", "gen_ai_response_model", "error_type"},
          duration_buckets())),
      ttft_(registry.histogram(
          "gen_ai_server_time_to_first_token_seconds",
          "Time to generate the first token of a streamed response.",
          {"gen_ai_operation_name", "gen_ai_provider_name",
           "gen_ai_request_model", "gen_ai_response_model"},
          ttft_buckets())),
      token_usage_(registry.histogram(
          "gen_ai_client_token_usage",
          "Number of input and output tokens used per request.",
          {"gen_ai_operation_name", "gen_ai_provider_name",
           "gen_ai_request_model", "gen_ai_response_model",
           "gen_ai_token_type"},
          token_buckets())),
      requests_(registry.counter(
          "switchyard_requests_total",
          "Client requests answered, by route, inbound protocol and "
          "HTTP status.",
          {"route", "inbound", "status"})),
      errors_(registry.counter(
          "switchyard_errors_total",
          "Client requests that ended in an error, by error type.",
          {"route", "error_type"})),
      attempts_(
          registry.counter("switchyard_upstream_attempts_total",
                           "Upstream attempts, by target, tier and outcome.",
                           {"route", "provider", "model", "tier", "outcome"})),
      failovers_(
          registry.counter("switchyard_failovers_total",
                           "Requests that moved from one tier to a lower one.",
                           {"route", "from_tier", "to_tier"})),
      canaries_(
          registry.counter("switchyard_canary_requests_total",
                           "Requests sent first to a lower tier as a canary.",
                           {"route", "provider", "model"})),
      ejections_(registry.counter(
          "switchyard_target_ejections_total",
          "Times a target was ejected by outlier detection.", {"target"})),
      healthy_(registry.gauge(
          "switchyard_target_healthy",
          "1 when the target is admitted, 0 while it is ejected.", {"target"})),
      last_success_(registry.gauge(
          "switchyard_target_last_success_timestamp_seconds",
          "Unix time of the target's last successful attempt.", {"target"})),
      last_failure_(registry.gauge(
          "switchyard_target_last_failure_timestamp_seconds",
          "Unix time of the target's last failed attempt.", {"target"})),
      budget_exhausted_(registry.counter(
          "switchyard_retry_budget_exhausted_total",
          "Retries refused because the route's retry budget was "
          "spent.",
          {"route"})),
      inflight_(registry
                    .gauge("switchyard_inflight_requests",
                           "Client requests being served now.", {})
                    .with()) {}

void GatewayMetrics::operation_duration(const std::string &provider,
                                        const std::string &route,
                                        const std::string &upstream_model,
                                        const std::string &error_type,
                                        double seconds) {
  operation_duration_
      .with({kOperationName, provider, route, upstream_model, error_type})
      .observe(seconds);
}

void GatewayMetrics::time_to_first_token(const std::string &provider,
                                         const std::string &route,
                                         const std::string &upstream_model,
                                         double seconds) {
  ttft_.with({kOperationName, provider, route, upstream_model})
      .observe(seconds);
}

void GatewayMetrics::token_usage(const std::string &provider,
                                 const std::string &route,
                                 const std::string &upstream_model,
                                 std::uint64_t input_tokens,
                                 std::uint64_t output_tokens) {
  token_usage_.with({kOperationName, provider, route, upstream_model, "input"})
      .observe(static_cast<double>(input_tokens));
  token_usage_.with({kOperationName, provider, route, upstream_model, "output"})
      .observe(static_cast<double>(output_tokens));
}

void GatewayMetrics::request(const std::string &route,
                             const std::string &inbound, int status) {
  requests_.with({route, inbound, std::to_string(status)}).inc();
}

void GatewayMetrics::error(const std::string &route,
                           const std::string &error_type) {
  errors_.with({route, error_type}).inc();
}

void GatewayMetrics::upstream_attempt(const std::string &route,
                                      const std::string &provider,
                                      const std::string &model,
                                      const std::string &tier,
                                      const std::string &outcome) {
  attempts_.with({route, provider, model, tier, outcome}).inc();
}

void GatewayMetrics::failover(const std::string &route,
                              const std::string &from_tier,
                              const std::string &to_tier) {
  failovers_.with({route, from_tier, to_tier}).inc();
}

void GatewayMetrics::canary(const std::string &route,
                            const std::string &provider,
                            const std::string &model) {
  canaries_.with({route, provider, model}).inc();
}

void GatewayMetrics::target_ejected(const std::string &target) {
  ejections_.with({target}).inc();
  healthy_.with({target}).set(0);
}

void GatewayMetrics::target_healthy(const std::string &target, bool healthy) {
  healthy_.with({target}).set(healthy ? 1 : 0);
}

void GatewayMetrics::target_last_success(const std::string &target,
                                         double unix_seconds) {
  last_success_.with({target}).set(unix_seconds);
}

void GatewayMetrics::target_last_failure(const std::string &target,
                                         double unix_seconds) {
  last_failure_.with({target}).set(unix_seconds);
}

void GatewayMetrics::retry_budget_exhausted(const std::string &route) {
  budget_exhausted_.with({route}).inc();
}

} // namespace sy::admin
