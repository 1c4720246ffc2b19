#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace sy {
namespace {

TEST(IdsTest, SaneIdsAreKeptOthersAreNot) {
  EXPECT_TRUE(is_sane_request_id("abc-123_X.y:z"));
  EXPECT_FALSE(is_sane_request_id(""));
  EXPECT_FALSE(is_sane_request_id("has space"));
  EXPECT_FALSE(is_sane_request_id("new\nline"));
  EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
  EXPECT_TRUE(is_sane_request_id(std::string(128, 'a')));
}

TEST(IdsTest, GeneratedIdsAreSaneAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = generate_request_id();
    EXPECT_TRUE(is_sane_request_id(id)) << id;
    EXPECT_EQ(id.size(), 28u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace sy
