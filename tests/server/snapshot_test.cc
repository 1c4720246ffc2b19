#include "server/snapshot.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace sy::server {
namespace {

TEST(SnapshotTest, RoutesKeepTierOrderAndModelsListsRouteNames) {
  auto cfg = std::make_shared<config::Config>();
  cfg->providers.push_back({});
  cfg->providers.back().name = "a";
  cfg->providers.push_back({});
  cfg->providers.back().name = "b";
  config::RouteConfig rc;
  rc.name = "chat";
  rc.fallback.push_back({"a", "m3", 1});
  rc.core.push_back({"b", "m1", 3});
  rc.secondary.push_back({"a", "m2", 1});
  cfg->routes.push_back(rc);
  auto snap = Snapshot::build(cfg);
  const Route* r = snap->find_route("chat");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->targets.size(), 3u);
  EXPECT_STREQ(r->targets[0].tier, "core");
  EXPECT_EQ(r->targets[0].provider_index, 1u);
  EXPECT_EQ(r->targets[0].ref->model, "m1");
  EXPECT_STREQ(r->targets[1].tier, "secondary");
  EXPECT_STREQ(r->targets[2].tier, "fallback");
  EXPECT_EQ(snap->find_route("nope"), nullptr);
  auto models = boost::json::parse(snap->models_json);
  EXPECT_EQ(models.at("object").as_string(), "list");
  EXPECT_EQ(models.at("data").as_array().at(0).at("id").as_string(), "chat");
}

}  // namespace
}  // namespace sy::server
