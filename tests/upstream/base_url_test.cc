#include "upstream/base_url.h"

#include <gtest/gtest.h>

namespace sy::upstream {
namespace {

TEST(BaseUrlTest, HttpsDefaultsAndPath) {
  auto u = parse_base_url("https://api.openai.com/v1/");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.openai.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->host_header, "api.openai.com");
  EXPECT_EQ(u->path, "/v1");
}

TEST(BaseUrlTest, HttpWithPortKeepsItInHostHeader) {
  auto u = parse_base_url("http://127.0.0.1:8000/v1");
  ASSERT_TRUE(u.has_value());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8000);
  EXPECT_EQ(u->host_header, "127.0.0.1:8000");
  EXPECT_EQ(u->path, "/v1");
}

TEST(BaseUrlTest, DefaultPortIsNotRepeatedAndIpv6LosesBrackets) {
  auto u = parse_base_url("http://example.com:80");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host_header, "example.com");
  EXPECT_EQ(u->path, "");
  auto v6 = parse_base_url("http://[::1]:9000/x");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9000");
}

TEST(BaseUrlTest, RejectsWhatCannotBeAnUpstream) {
  EXPECT_FALSE(parse_base_url("ftp://x/").has_value());
  EXPECT_FALSE(parse_base_url("not a url").has_value());
  EXPECT_FALSE(parse_base_url("http://x/?q=1").has_value());
  EXPECT_FALSE(parse_base_url("http://user:pw@x/").has_value());
}

}  // namespace
}  // namespace sy::upstream
