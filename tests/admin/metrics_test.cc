#include "admin/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>

namespace sy::admin {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, SmallRegistryRendersExactly) {
  Registry r;
  auto &requests =
      r.counter("app_requests_total", "Requests served.", {"route", "status"});
  auto &temp = r.gauge("app_temperature", "Current\ntemperature \\ in C.", {});
  auto &latency =
      r.histogram("app_latency_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
  requests.with({"chat", "200"}).inc();
  requests.with({"chat", "200"}).inc(2);
  requests.with({"a\"b\\c\nd", "500"}).inc();
  temp.with().set(-1.5);
  latency.with({"chat"}).observe(0.0625);
  latency.with({"chat"}).observe(0.5); // le is inclusive
  latency.with({"chat"}).observe(0.75);
  latency.with({"chat"}).observe(3);
  EXPECT_EQ(r.render(),
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"
            "app_requests_total{route=\"chat\",status=\"200\"} 3\n"
            "# HELP app_temperature Current\\ntemperature \\\\ in C.\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature -1.5\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{route=\"chat\",le=\"0.1\"} 1\n"
            "app_latency_seconds_bucket{route=\"chat\",le=\"0.5\"} 2\n"
            "app_latency_seconds_bucket{route=\"chat\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{route=\"chat\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{route=\"chat\"} 4.3125\n"
            "app_latency_seconds_count{route=\"chat\"} 4\n");
}

TEST(Metrics, FamilyWithoutSeriesRendersOnlyItsHeader) {
  Registry r;
  r.counter("x_total", "X.", {"a"});
  EXPECT_EQ(r.render(), "# HELP x_total X.\n# TYPE x_total counter\n");
}

TEST(Metrics, HistogramWithoutLabelsAndBucketEdges) {
  Registry r;
  auto &h = r.histogram("h", "H.", {}, {1, 2});
  h.with().observe(0);
  h.with().observe(1);
  h.with().observe(1.5);
  h.with().observe(2);
  h.with().observe(std::numeric_limits<double>::quiet_NaN()); // ignored
  EXPECT_EQ(r.render(), "# HELP h H.\n# TYPE h histogram\n"
                        "h_bucket{le=\"1\"} 2\n"
                        "h_bucket{le=\"2\"} 4\n"
                        "h_bucket{le=\"+Inf\"} 4\n"
                        "h_sum 4.5\n"
                        "h_count 4\n");
  const Histogram::Snapshot s = h.with().snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 4, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 4.5);
}

TEST(Metrics, ValuesAndEscaping) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.7e9), "1700000000");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_label_value("ünïcode ok"), "ünïcode ok");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd"); // quotes stay in HELP
}

TEST(Metrics, CountersIgnoreNegativeAmountsGaugesGoBothWays) {
  Registry r;
  Counter &c = r.counter("c_total", "C.", {}).with();
  c.inc(2.5);
  c.inc(-1);
  EXPECT_DOUBLE_EQ(c.value(), 2.5);
  Gauge &g = r.gauge("g", "G.", {}).with();
  g.inc();
  g.inc();
  g.dec();
  EXPECT_DOUBLE_EQ(g.value(), 1);
}

TEST(Metrics, BadRegistrationsAndLabelCountsThrow) {
  Registry r;
  auto &f = r.counter("ok_total", "ok", {"a", "b"});
  EXPECT_THROW(f.with({"x"}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "again", {}), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok_total", "other kind", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("1bad", "x", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("bad-name", "x", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("l1", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("l2", "x", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(r.counter("l3", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h1", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2", "x", {}, {2, 1}), std::invalid_argument);
  EXPECT_NO_THROW(
      r.counter("ns:name_total", "colons are allowed in names", {}));
}

TEST(Metrics, ConcurrentIncrementsFromFourThreadsSumExactly) {
  Registry r;
  auto &counter = r.counter("n_total", "N.", {"route"});
  auto &hist = r.histogram("d", "D.", {"route"}, {0.5});
  auto &gauge = r.gauge("inflight", "I.", {});
  constexpr int kPerThread = 25'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Series are created by whichever thread comes first.
        counter.with({i % 2 == 0 ? "even" : "odd"}).inc();
        hist.with({"r"}).observe(t % 2 == 0 ? 0.25 : 1.0);
        gauge.with().inc();
        gauge.with().dec();
      }
    });
  }
  for (std::thread &th : threads) {
    th.join();
  }
  EXPECT_DOUBLE_EQ(counter.with({"even"}).value(), 2.0 * kPerThread);
  EXPECT_DOUBLE_EQ(counter.with({"odd"}).value(), 2.0 * kPerThread);
  const Histogram::Snapshot s = hist.with({"r"}).snapshot();
  EXPECT_EQ(s.count, 4u * kPerThread);
  EXPECT_EQ(s.cumulative[0], 2u * kPerThread);
  EXPECT_DOUBLE_EQ(s.sum, 2.0 * kPerThread * 1.25);
  EXPECT_DOUBLE_EQ(gauge.with().value(), 0.0);
}

TEST(GatewayMetrics, SeriesUseTheGenAiAndSwitchyardNames) {
  Registry r;
  GatewayMetrics m(r);
  m.operation_duration("openai", "chat", "gpt-4o-2024-08-06", "", 0.3);
  m.operation_duration("openai", "chat", "gpt-4o-2024-08-06", "timeout", 30);
  m.time_to_first_token("openai", "chat", "gpt-4o-2024-08-06", 0.2);
  m.token_usage("openai", "chat", "gpt-4o-2024-08-06", 100, 20);
  m.request("chat", "openai-chat", 200);
  m.error("chat", "rate_limited");
  m.upstream_attempt("chat", "openai", "gpt-4o", "core", "success");
  m.failover("chat", "core", "secondary");
  m.canary("chat", "claude", "claude-sonnet-4-5");
  m.target_ejected("openai/gpt-4o");
  m.target_healthy("claude/claude-sonnet-4-5", true);
  m.target_last_success("claude/claude-sonnet-4-5", 1'700'000'000.5);
  m.target_last_failure("openai/gpt-4o", 1'700'000'000);
  m.retry_budget_exhausted("chat");
  m.inflight().inc();
  const std::string text = r.render();
  EXPECT_THAT(
      text,
      HasSubstr("# TYPE gen_ai_client_operation_duration_seconds histogram\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "gen_ai_client_operation_duration_seconds_bucket{"
          "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
          "gen_ai_request_model=\"chat\",gen_ai_response_model=\"gpt-4o-2024-"
          "08-06\",error_type=\"timeout\",le=\"40.96\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "gen_ai_client_operation_duration_seconds_count{"
          "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
          "gen_ai_request_model=\"chat\",gen_ai_response_model=\"gpt-4o-2024-"
          "08-06\",error_type=\"\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "gen_ai_server_time_to_first_token_seconds_bucket{"
          "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
          "gen_ai_request_model=\"chat\",gen_ai_response_model=\"gpt-4o-2024-"
          "08-06\",le=\"0.25\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\","
                "gen_ai_provider_name=\"openai\",gen_ai_request_model=\"chat\","
                "gen_ai_response_model=\"gpt-4o-2024-08-06\","
                "gen_ai_token_type=\"input\"} 100\n"));
  EXPECT_THAT(text, HasSubstr("gen_ai_token_type=\"output\",le=\"16\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("gen_ai_token_type=\"output\",le=\"64\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "switchyard_requests_total{route=\"chat\",inbound=\"openai-chat\","
          "status=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("switchyard_errors_total{route=\"chat\",error_"
                              "type=\"rate_limited\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("switchyard_upstream_attempts_total{route=\"chat\",provider="
                "\"openai\""
                ",model=\"gpt-4o\",tier=\"core\",outcome=\"success\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("switchyard_failovers_total{route=\"chat\",from_tier=\"core\","
                "to_tier=\"secondary\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "switchyard_canary_requests_total{route=\"chat\",provider=\"claude\","
          "model=\"claude-sonnet-4-5\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "switchyard_target_ejections_total{target=\"openai/gpt-4o\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("switchyard_target_healthy{target=\"openai/gpt-4o\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("switchyard_target_healthy{target=\"claude/"
                              "claude-sonnet-4-5\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "switchyard_target_last_success_timestamp_seconds{target=\"claude/"
          "claude-sonnet-4-5\"} 1700000000.5\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "switchyard_target_last_failure_timestamp_seconds{target=\"openai/"
          "gpt-4o\"} 1700000000\n"));
  EXPECT_THAT(
      text,
      HasSubstr("switchyard_retry_budget_exhausted_total{route=\"chat\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE switchyard_inflight_requests gauge\n"
                              "switchyard_inflight_requests 1\n"));
}

} // namespace
} // namespace sy::admin
