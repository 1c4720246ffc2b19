#include "core/clock.h"

#include <gtest/gtest.h>

namespace sy {
namespace {

TEST(Clock, Iso8601Utc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1'795'564'800'000), "2026-11-25T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1'795'564'800'999), "2026-11-25T00:00:00Z");  // milliseconds dropped
  EXPECT_EQ(iso8601_utc_ms(1'795'564'800'999), "2026-11-25T00:00:00.999Z");
  EXPECT_EQ(iso8601_utc_ms(1'709'164'799'001), "2024-02-28T23:59:59.001Z");
  EXPECT_EQ(iso8601_utc(1'709'251'200'000), "2024-03-01T00:00:00Z");  // after a leap day
  EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59Z");
}

TEST(Clock, NowIsUnixMilliseconds) {
  const std::int64_t a = unix_now_ms();
  const std::int64_t b = unix_now_ms();
  EXPECT_GT(a, 1'700'000'000'000);  // after 2023-11-14
  EXPECT_GE(b, a);
}

}  // namespace
}  // namespace sy
