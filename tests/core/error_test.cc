#include "core/error.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "core/result.h"

namespace sy {
namespace {

TEST(ErrorTest, StatusAndRetryableFollowTheKind) {
  EXPECT_EQ(http_status(ErrorKind::InvalidRequest), 400);
  EXPECT_EQ(http_status(ErrorKind::NotFound), 404);
  EXPECT_EQ(http_status(ErrorKind::PayloadTooLarge), 413);
  EXPECT_EQ(http_status(ErrorKind::UpstreamUnavailable), 502);
  EXPECT_EQ(http_status(ErrorKind::UpstreamTimeout), 504);
  EXPECT_FALSE(retryable(ErrorKind::InvalidRequest));
  EXPECT_TRUE(retryable(ErrorKind::UpstreamTimeout));
  EXPECT_TRUE(retryable(ErrorKind::RateLimited));
}

TEST(ErrorTest, OpenAiEnvelopeHasStableFields) {
  auto body = openai_error_body(
      Error::make(ErrorKind::NotFound, "The model `x` does not exist", "model_not_found"));
  auto v = boost::json::parse(body);
  const auto& e = v.at("error").as_object();
  EXPECT_EQ(e.at("message").as_string(), "The model `x` does not exist");
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(e.at("code").as_string(), "model_not_found");
  EXPECT_TRUE(e.at("param").is_null());
}

TEST(ErrorTest, DefaultCodeWhenEmpty) {
  auto v = boost::json::parse(openai_error_body(Error::make(ErrorKind::UpstreamTimeout, "t")));
  EXPECT_EQ(v.at("error").at("code").as_string(), "upstream_timeout");
}

TEST(ResultTest, ValueOnErrorThrowsErrorException) {
  Result<int> r = make_error(ErrorKind::InvalidRequest, "bad");
  ASSERT_FALSE(r.has_value());
  EXPECT_THROW((void)r.value(), ErrorException);
  Result<int> ok = 3;
  EXPECT_EQ(ok.value(), 3);
}

}  // namespace
}  // namespace sy
