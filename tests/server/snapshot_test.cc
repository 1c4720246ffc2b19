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

TEST(SnapshotTest, TenantViewsDecidePermittedProvidersAndRedactionOnce) {
  auto cfg = std::make_shared<config::Config>();
  for (const auto& [name, region] : {std::pair{"us", "us"}, {"eu", "eu"}, {"bare", ""}}) {
    cfg->providers.push_back({});
    cfg->providers.back().name = name;
    if (*region) {
      cfg->providers.back().attributes["region"] = region;
    }
  }
  config::TenantConfig eu_only;
  eu_only.name = "research";
  eu_only.policy.allow["region"] = {"eu"};
  eu_only.policy.redact = {"email", "card"};
  cfg->tenants.push_back(eu_only);
  config::TenantConfig open;
  open.name = "web";
  cfg->tenants.push_back(open);
  auto snap = Snapshot::build(cfg);

  const TenantView* research = snap->find_tenant("research");
  ASSERT_NE(research, nullptr);
  EXPECT_TRUE(research->restricts_targets);
  EXPECT_FALSE(research->permitted(0));
  EXPECT_TRUE(research->permitted(1));
  EXPECT_FALSE(research->permitted(2));  // no region attribute: not known to be in the EU
  EXPECT_FALSE(research->permitted(7));  // out of range is never permitted
  EXPECT_EQ(research->refusal[0], "attribute region of provider us is \"us\", not one of: eu");
  ASSERT_NE(research->redactor, nullptr);
  EXPECT_TRUE(research->redactor->enabled(policy::PiiKind::Email));
  EXPECT_TRUE(research->redactor->enabled(policy::PiiKind::Card));
  EXPECT_FALSE(research->redactor->enabled(policy::PiiKind::Phone));

  const TenantView* web = snap->find_tenant("web");
  ASSERT_NE(web, nullptr);
  EXPECT_FALSE(web->restricts_targets);
  EXPECT_EQ(web->redactor, nullptr);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(web->permitted(i)) << i;
  }
  EXPECT_EQ(snap->find_tenant("default"), nullptr);
}

}  // namespace
}  // namespace sy::server
