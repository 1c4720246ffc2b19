#include "server/access_log.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace sy::server {
namespace {

TEST(AccessLogTest, OneJsonLineWithNotReportedTokensAsNull) {
  AccessRecord r;
  r.request_id = "req_1";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.route = "chat \"quoted\"";
  r.provider = "up";
  r.model = "gpt";
  r.tier = "core";
  r.status = 200;
  r.latency_ms = 12.3456;
  r.ttft_ms = 1.5;
  r.usage.input_tokens = 10;
  r.usage.output_tokens = 0;  // reported zero is not null
  r.stream = true;
  r.attempts = 1;
  auto line = render_access_record(r);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("request_id").as_string(), "req_1");
  EXPECT_EQ(v.at("route").as_string(), "chat \"quoted\"");
  EXPECT_EQ(v.at("status").as_int64(), 200);
  EXPECT_DOUBLE_EQ(v.at("latency_ms").to_number<double>(), 12.346);
  EXPECT_DOUBLE_EQ(v.at("ttft_ms").to_number<double>(), 1.5);
  EXPECT_EQ(v.at("input_tokens").as_int64(), 10);
  EXPECT_EQ(v.at("output_tokens").as_int64(), 0);
  EXPECT_TRUE(v.at("cached_input_tokens").is_null());
  EXPECT_TRUE(v.at("stream").as_bool());
  EXPECT_FALSE(v.contains("error"));
  EXPECT_FALSE(v.contains("client_aborted"));
  EXPECT_NE(line.find("\"ts\":\""), std::string::npos);
}

TEST(AccessLogTest, ErrorsAndAbortsAreMarked) {
  AccessRecord r;
  r.status = 499;
  r.error = "upstream_timeout";
  r.client_aborted = true;
  auto v = boost::json::parse(render_access_record(r)).as_object();
  EXPECT_EQ(v.at("error").as_string(), "upstream_timeout");
  EXPECT_TRUE(v.at("client_aborted").as_bool());
  EXPECT_TRUE(v.at("ttft_ms").is_null());
}

}  // namespace
}  // namespace sy::server
