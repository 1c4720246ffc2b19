#pragma once
// A small Prometheus registry and the gateway's own series (see
// docs/routing.md, "Metrics").
//
// Families are registered once (at start-up; a bad name throws
// std::invalid_argument). A series, one set of label values, is created on
// first use under the family's lock and never removed, so the reference that
// with() returns stays valid for the registry's lifetime and callers may keep
// it; updates through it are lock-free atomics. render() writes the text
// exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sy::admin {

// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter {
public:
  void inc(double by = 1.0); // by must be >= 0; a negative amount is ignored
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

class Gauge {
public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0);
  void dec(double by = 1.0) { inc(-by); }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

class Histogram {
public:
  explicit Histogram(
      const std::vector<double> &bounds); // upper bounds, ascending, no +Inf
  void observe(double v);

  struct Snapshot {
    std::vector<std::uint64_t>
        cumulative; // one per bound, then +Inf (== count)
    double sum = 0.0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

private:
  const std::vector<double> &bounds_; // owned by the family
  std::unique_ptr<std::atomic<std::uint64_t>[]>
      counts_; // per bucket, last = above every bound
  std::atomic<double> sum_{0.0};
};

// One metric name with its label names and its series.
template <typename Series> class Family {
public:
  Family(std::string name, std::string help,
         std::vector<std::string> label_names, std::vector<double> bounds = {});

  // The series for these label values (as many as label names, else
  // std::invalid_argument).
  Series &with(const LabelValues &values);
  Series &with() { return with(LabelValues{}); }

  const std::string &name() const { return name_; }
  const std::string &help() const { return help_; }
  const std::vector<std::string> &label_names() const { return label_names_; }
  const std::vector<double> &bounds() const { return bounds_; }

  // Calls fn(values, series) for each series in label-value order.
  template <typename Fn> void each(Fn &&fn) const {
    const std::shared_lock lock(mu_);
    for (const auto &[values, series] : series_) {
      fn(values, *series);
    }
  }

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
public:
  // Names follow [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
  // without a leading "__"; a name registered twice throws. The families render
  // in registration order.
  CounterFamily &counter(std::string name, std::string help,
                         std::vector<std::string> labels);
  GaugeFamily &gauge(std::string name, std::string help,
                     std::vector<std::string> labels);
  HistogramFamily &histogram(std::string name, std::string help,
                             std::vector<std::string> labels,
                             std::vector<double> bounds);

  std::string render() const;
  static constexpr std::string_view kContentType =
      "text/plain; version=0.0.4; charset=utf-8";

private:
  void claim(const std::string &name, const std::vector<std::string> &labels);

  enum class Kind { Counter, Gauge, Histogram };
  struct Entry {
    Kind kind;
    std::size_t index;
  };
  mutable std::mutex mu_;
  std::vector<Entry> order_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
};

// Helpers shared with tests.
std::string format_value(double v); // "1", "0.25", "+Inf", "-Inf", "NaN"
std::string escape_label_value(std::string_view v); // \ " and newline
std::string escape_help(std::string_view v);        // \ and newline

// The gateway's series. Label values are bounded by the configuration (routes,
// providers, targets, tiers) and by fixed vocabularies (status codes, error
// types, outcomes): the request path must map a model name that is not a route
// to one fixed value, never to the client's text.
class GatewayMetrics {
public:
  explicit GatewayMetrics(Registry &registry);

  // OpenTelemetry GenAI semantic conventions (gen_ai.client.operation.duration,
  // gen_ai.server.time_to_first_token, gen_ai.client.token.usage),
  // Prometheus-named. `route` is the model the client asked for
  // (gen_ai.request.model), `upstream_model` the model that answered
  // (gen_ai.response.model); error_type is "" on success.
  void operation_duration(const std::string &provider, const std::string &route,
                          const std::string &upstream_model,
                          const std::string &error_type, double seconds);
  void time_to_first_token(const std::string &provider,
                           const std::string &route,
                           const std::string &upstream_model, double seconds);
  void token_usage(const std::string &provider, const std::string &route,
                   const std::string &upstream_model,
                   std::uint64_t input_tokens, std::uint64_t output_tokens);

  void request(const std::string &route, const std::string &inbound,
               int status);
  void error(const std::string &route, const std::string &error_type);
  void upstream_attempt(const std::string &route, const std::string &provider,
                        const std::string &model, const std::string &tier,
                        const std::string &outcome);
  void failover(const std::string &route, const std::string &from_tier,
                const std::string &to_tier);
  void canary(const std::string &route, const std::string &provider,
              const std::string &model);
  void target_ejected(const std::string &target);
  void target_healthy(const std::string &target, bool healthy);
  void target_last_success(const std::string &target, double unix_seconds);
  void target_last_failure(const std::string &target, double unix_seconds);
  void retry_budget_exhausted(const std::string &route);
  Gauge &inflight() { return inflight_; }

  static const std::vector<double> &duration_buckets(); // seconds
  static const std::vector<double> &ttft_buckets();     // seconds
  static const std::vector<double> &token_buckets();    // tokens

private:
  HistogramFamily &operation_duration_;
  HistogramFamily &ttft_;
  HistogramFamily &token_usage_;
  CounterFamily &requests_;
  CounterFamily &errors_;
  CounterFamily &attempts_;
  CounterFamily &failovers_;
  CounterFamily &canaries_;
  CounterFamily &ejections_;
  GaugeFamily &healthy_;
  GaugeFamily &last_success_;
  GaugeFamily &last_failure_;
  CounterFamily &budget_exhausted_;
  Gauge &inflight_;
};

} // namespace sy::admin
