#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>  // setenv, unsetenv (POSIX)

#include <map>
#include <string>
#include <vector>

#include "config/env.h"
#include "config/values.h"

namespace sy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

using namespace std::chrono_literals;

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

const EnvLookup kNoEnv = env_of({});

std::string fixture(const std::string& name) {
  return std::string(SY_TEST_FIXTURES_DIR) + "/config/" + name;
}

std::string example(const std::string& name) {
  return std::string(SY_TEST_FIXTURES_DIR) + "/../../examples/" + name;
}

std::vector<std::string> texts(const std::vector<ConfigIssue>& issues) {
  std::vector<std::string> out;
  for (const ConfigIssue& issue : issues) {
    out.push_back(issue.text());
  }
  return out;
}

std::vector<std::string> errors_of(std::string_view yaml, const EnvLookup& env = kNoEnv) {
  const LoadResult r = load_config_string(yaml, env);
  EXPECT_EQ(r.config.has_value(), r.errors.empty());
  return texts(r.errors);
}

// ---------------------------------------------------------------------------------------------
// Whole files

TEST(LoadConfig, FullFixtureRoundTripsIntoTheStructs) {
  const LoadResult r = load_config_file(fixture("full.yaml"), env_of({{"OPENAI_API_KEY", "sk-1"}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  ASSERT_TRUE(r.config);
  const Config& c = *r.config;

  EXPECT_EQ(c.server.listen, "[::1]:9090");
  EXPECT_EQ(c.server.host, "::1");
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.workers, 4u);
  EXPECT_EQ(c.server.max_body_bytes, 16ull << 20);
  EXPECT_EQ(c.server.max_header_bytes, 32u << 10);
  EXPECT_EQ(c.server.idle_timeout, 90s);
  EXPECT_EQ(c.server.request_timeout, 2min);
  EXPECT_EQ(c.server.drain_timeout, 1h);
  EXPECT_EQ(c.storage.ledger, "postgres://sy@db/switchyard");
  EXPECT_EQ(c.storage.counters, "redis://cache:6379/0");

  ASSERT_EQ(c.providers.size(), 3u);
  const ProviderConfig& openai = c.providers[0];
  EXPECT_EQ(openai.name, "openai");
  EXPECT_EQ(openai.type, "openai");
  EXPECT_EQ(openai.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(openai.api_key, "sk-1");
  EXPECT_EQ(openai.headers, (std::map<std::string, std::string>{{"OpenAI-Organization", "org-1"}}));
  EXPECT_EQ(openai.attributes, (std::map<std::string, std::string>{{"region", "us"}}));
  EXPECT_TRUE(openai.enabled);
  EXPECT_FALSE(openai.tls_skip_verify);

  const ProviderConfig& local = c.providers[1];
  EXPECT_EQ(local.type, "openai-compatible");
  EXPECT_EQ(local.base_url, "http://127.0.0.1:8000/v1");  // one trailing '/' removed
  EXPECT_EQ(local.api_key, "");
  EXPECT_TRUE(local.enabled);
  EXPECT_FALSE(local.tls_skip_verify);
  EXPECT_EQ(local.ca_file, "/etc/ssl/my.pem");

  const ProviderConfig& sim = c.providers[2];
  EXPECT_EQ(sim.type, "simulator");
  EXPECT_EQ(sim.base_url, "");
  EXPECT_EQ(sim.simulator.ttft, 50ms);
  EXPECT_EQ(sim.simulator.token_delay, 10ms);
  EXPECT_EQ(sim.simulator.tokens, 30u);
  EXPECT_EQ(sim.simulator.text, "fixed answer");
  EXPECT_FALSE(sim.simulator.tool_calls);
  EXPECT_DOUBLE_EQ(sim.simulator.fail_rate, 0.1);
  EXPECT_EQ(sim.simulator.fail_status, 503);
  EXPECT_DOUBLE_EQ(sim.simulator.reset_rate, 0.05);
  EXPECT_EQ(sim.simulator.reset_after_chunks, 3u);
  EXPECT_EQ(c.find_provider("sim"), &sim);

  ASSERT_EQ(c.routes.size(), 2u);
  const RouteConfig& chat = c.routes[0];
  EXPECT_EQ(chat.name, "chat");
  ASSERT_EQ(chat.core.size(), 1u);  // the `target` shorthand
  EXPECT_EQ(chat.core[0].text(), "openai/gpt-4o-mini");
  EXPECT_EQ(chat.core[0].weight, 1u);
  EXPECT_TRUE(chat.secondary.empty());
  EXPECT_TRUE(chat.fallback.empty());

  const RouteConfig& chat2 = c.routes[1];
  ASSERT_EQ(chat2.core.size(), 2u);
  EXPECT_EQ(chat2.core[0].provider, "openai");
  EXPECT_EQ(chat2.core[0].model, "gpt-4o");
  EXPECT_EQ(chat2.core[0].weight, 3u);
  EXPECT_EQ(chat2.core[1].provider, "local");
  EXPECT_EQ(chat2.core[1].model, "meta/llama-3.1-8b");  // split at the first '/'
  EXPECT_EQ(chat2.core[1].weight, 1u);
  ASSERT_EQ(chat2.secondary.size(), 1u);
  EXPECT_EQ(chat2.secondary[0].text(), "sim/sim-1");
  ASSERT_EQ(chat2.fallback.size(), 1u);
  EXPECT_EQ(chat2.fallback[0].text(), "sim/sim-2");
  EXPECT_EQ(chat2.fallback[0].weight, 1u);
  EXPECT_DOUBLE_EQ(chat2.canary, 0.01);
  EXPECT_EQ(chat2.retries, 2u);
  EXPECT_EQ(chat2.timeouts.connect, 1s);
  EXPECT_EQ(chat2.timeouts.first_byte, 20s);
  EXPECT_EQ(chat2.timeouts.idle, 15s);
  EXPECT_EQ(chat2.timeouts.total, 120s);
}

TEST(LoadConfig, DefaultsFillEverythingLeftOut) {
  const LoadResult r = load_config_file(fixture("minimal.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const Config& c = *r.config;
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.workers, 0u);  // auto
  EXPECT_EQ(c.server.max_body_bytes, 8ull << 20);
  EXPECT_EQ(c.server.max_header_bytes, 64u << 10);
  EXPECT_EQ(c.server.idle_timeout, 60s);
  EXPECT_EQ(c.server.request_timeout, 30s);
  EXPECT_EQ(c.server.drain_timeout, 30s);
  EXPECT_EQ(c.storage.ledger, "sqlite:var/switchyard.db");
  EXPECT_EQ(c.storage.counters, "local");

  ASSERT_EQ(c.providers.size(), 1u);
  const SimulatorConfig& sim = c.providers[0].simulator;
  EXPECT_EQ(sim.ttft, 0ms);
  EXPECT_EQ(sim.token_delay, 0ms);
  EXPECT_EQ(sim.tokens, 20u);
  EXPECT_EQ(sim.text, "");
  EXPECT_TRUE(sim.tool_calls);
  EXPECT_EQ(sim.fail_rate, 0.0);
  EXPECT_EQ(sim.fail_status, 500);
  EXPECT_EQ(sim.reset_rate, 0.0);
  EXPECT_EQ(sim.reset_after_chunks, 2u);
  EXPECT_TRUE(c.providers[0].enabled);

  ASSERT_EQ(c.routes.size(), 1u);
  const RouteConfig& route = c.routes[0];
  EXPECT_EQ(route.canary, 0.0);
  EXPECT_EQ(route.retries, 2u);  // failover to lower tiers works without configuring it
  EXPECT_EQ(route.timeouts.connect, 2s);
  EXPECT_EQ(route.timeouts.first_byte, 30s);
  EXPECT_EQ(route.timeouts.idle, 30s);
  EXPECT_EQ(route.timeouts.total, 300s);
}

TEST(LoadConfig, EmptyDocumentAndNullSectionsAreDefaults) {
  for (const char* yaml : {"", "# only a comment\n", "server:\nstorage:\nproviders:\nroutes:\n"}) {
    const LoadResult r = load_config_string(yaml, kNoEnv);
    EXPECT_THAT(texts(r.errors), IsEmpty()) << yaml;
    ASSERT_TRUE(r.config) << yaml;
    EXPECT_EQ(r.config->server.port, 8080);
    EXPECT_TRUE(r.config->providers.empty());
    EXPECT_TRUE(r.config->routes.empty());
  }
}

TEST(LoadConfig, OpenAiDefaultBaseUrlAndCompatibleKeyIsOptional) {
  const LoadResult r = load_config_string(
      "providers:\n"
      "  o: {type: openai, api_key: sk-x}\n"
      "  c: {type: openai-compatible, base_url: 'https://h.example/'}\n",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_EQ(r.config->providers[0].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(r.config->providers[1].base_url, "https://h.example");
  EXPECT_EQ(r.config->providers[1].api_key, "");
  EXPECT_TRUE(r.config->providers[1].enabled);
}

// ---------------------------------------------------------------------------------------------
// Error messages, asserted exactly

TEST(LoadConfig, UnknownProviderInEveryKindOfTarget) {
  const LoadResult r = load_config_file(fixture("unknown_provider.yaml"), kNoEnv);
  EXPECT_FALSE(r.config);
  EXPECT_THAT(texts(r.errors), ElementsAre("routes[1].core[1].target: unknown provider \"x\"",
                                           "routes[2].target: unknown provider \"opnai\"",
                                           "routes[3].fallback[0]: unknown provider \"nope\""));
}

TEST(LoadConfig, CollectsEveryErrorInFileOrder) {
  const LoadResult r = load_config_file(fixture("many_errors.yaml"), kNoEnv);
  EXPECT_FALSE(r.config);
  EXPECT_THAT(
      texts(r.errors),
      ElementsAre(
          "server.listen: invalid listen address \"localhost\" (expected host:port or "
          "[ipv6]:port)",
          "server.workers: expected \"auto\" or an integer 1..256, got \"0\"",
          "server.max_body_bytes: invalid size \"8mb\" (use an integer number of bytes, or with "
          "KiB, MiB, GiB, KB, MB or GB, e.g. 8MiB)",
          "providers.x.type: unknown provider type \"foo\" (known: anthropic, azure-openai, "
          "bedrock, gemini, openai, openai-compatible, simulator)",
          "providers.y.base_url: required for type \"openai-compatible\"",
          "routes[0].timeout: unknown key (did you mean \"timeouts\"?)",
          "routes[1].name: duplicate route \"chat\"",
          "routes[1].retries: must be an integer 0..10, got \"11\""));
}

TEST(LoadConfig, YamlSyntaxErrorIsOneErrorWithLineAndColumn) {
  const LoadResult r = load_config_file(fixture("syntax_error.yaml"), kNoEnv);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_EQ(r.errors[0].message, "YAML syntax error at line 3, column 2: end of map not found");

  const std::vector<std::string> tab = errors_of("server:\n  listen: [a\n");
  ASSERT_EQ(tab.size(), 1u);
  EXPECT_THAT(tab[0], StartsWith("YAML syntax error at line "));
}

TEST(LoadConfig, WrongNodeKindsAreReportedAtTheirPath) {
  const LoadResult r = load_config_file(fixture("wrong_kinds.yaml"), kNoEnv);
  EXPECT_THAT(texts(r.errors), ElementsAre("server: expected a map, got a list",
                                           "providers: expected a map, got a list",
                                           "routes: expected a list, got a map"));
  EXPECT_THAT(errors_of("- a\n- b\n"),
              ElementsAre("the document must be a map (server, storage, providers, routes), got "
                          "a list"));
  EXPECT_THAT(errors_of("server: {listen: [a, b]}"),
              ElementsAre("server.listen: expected a single value, got a list"));
  EXPECT_THAT(errors_of("providers: {s: {type: simulator}}\n"
                        "routes: [{name: r, core: [[s/m]]}, {name: q, core: s/m}, chat]"),
              ElementsAre("routes[0].core[0]: expected \"provider/model\" or a map with "
                          "\"target\", got a list",
                          "routes[1].core: expected a list, got a value",
                          "routes[1]: set \"target\" or at least one of \"core\", \"secondary\", "
                          "\"fallback\"",
                          "routes[2]: expected a map, got a value"));
}

struct MessageCase {
  const char* yaml;
  const char* error;
};

class ErrorMessage : public ::testing::TestWithParam<MessageCase> {};

TEST_P(ErrorMessage, IsExact) {
  EXPECT_THAT(errors_of(GetParam().yaml), ElementsAre(GetParam().error)) << GetParam().yaml;
}

constexpr const char* kSim = "providers: {s: {type: simulator}}\n";

// Each case is one problem, so each must give exactly one error.
const MessageCase kMessageCases[] = {
    {"providers: {x: {type: foo}}",
     "providers.x.type: unknown provider type \"foo\" (known: anthropic, azure-openai, bedrock, "
     "gemini, openai, openai-compatible, simulator)"},
    {"providers: {x: {base_url: 'http://h'}}",
     "providers.x.type: required (one of: anthropic, azure-openai, bedrock, gemini, openai, "
     "openai-compatible, simulator)"},
    {"providers: {'bad name': {type: simulator}}",
     "providers.bad name: invalid provider name (use letters, digits, '_', '.' and '-')"},
    {"providers: {o: {type: openai}}", "providers.o.api_key: required for type \"openai\""},
    {"providers: {o: {type: openai, api_key: ''}}", "providers.o.api_key: must not be empty"},
    {"providers: {c: {type: openai-compatible, base_url: 'ftp://h'}}",
     "providers.c.base_url: must start with http:// or https://"},
    {"providers: {c: {type: openai-compatible, base_url: 'https:///v1'}}",
     "providers.c.base_url: must name a host (e.g. https://api.example.com/v1)"},
    {"providers: {c: {type: openai-compatible, base_url: 'http://h', headers: {'a b': x}}}",
     "providers.c.headers.a b: invalid header name"},
    {"providers: {s: {type: simulator, base_url: 'http://h'}}",
     "providers.s.base_url: not used by type \"simulator\""},
    {"providers: {o: {type: openai, api_key: k, ttft: 1s}}",
     "providers.o.ttft: not used by type \"openai\""},
    {"providers: {s: {type: simulator, fail_rate: 1.5}}",
     "providers.s.fail_rate: must be in [0, 1], got 1.5"},
    {"providers: {s: {type: simulator, fail_status: 200}}",
     "providers.s.fail_status: must be an integer 400..599, got \"200\""},
    {"providers: {s: {type: simulator, tool_calls: maybe}}",
     "providers.s.tool_calls: expected true or false, got \"maybe\""},
    {"providers: {s: {type: simulator, ttf: 1s}}",
     "providers.s.ttf: unknown key (did you mean \"ttft\"?)"},
    {"providers: {s: {type: simulator, text: '${MISSING}'}}",
     "providers.s.text: environment variable MISSING is not set"},
    {"providers: {s: {type: simulator, text: 'a ${OOPS'}}",
     "providers.s.text: unterminated \"${\" (write \"$${\" for a literal \"${\")"},
    {"providers: {s: {type: simulator, text: '${1X}'}}",
     "providers.s.text: invalid variable name \"1X\" in \"${...}\" (use letters, digits and '_')"},
    {"providers: {o: openai}", "providers.o: expected a map, got a value"},
    {"server: {listn: '127.0.0.1:1'}", "server.listn: unknown key (did you mean \"listen\"?)"},
    {"server: {zzzzzz: 1}", "server.zzzzzz: unknown key"},
    {"rout: []", "rout: unknown key (did you mean \"routes\"?)"},
    {"server: {listen: '127.0.0.1:1', listen: '127.0.0.1:2'}", "server.listen: duplicate key"},
    {"server: {listen: 'h:65536'}",
     "server.listen: invalid listen address \"h:65536\" (port must be an integer 0..65535)"},
    {"server: {listen: '::1:80'}",
     "server.listen: invalid listen address \"::1:80\" (write an IPv6 host in brackets, e.g. "
     "[::1]:8080)"},
    {"server: {workers: 257}",
     "server.workers: expected \"auto\" or an integer 1..256, got \"257\""},
    {"server: {idle_timeout: 0s}", "server.idle_timeout: must be greater than 0"},
    {"server: {request_timeout: 1.5s}",
     "server.request_timeout: invalid duration \"1.5s\" (use an integer with ms, s, m or h, e.g. "
     "250ms, 2s, 1m; a bare integer is milliseconds)"},
    {"server: {max_header_bytes: 8GiB}",
     "server.max_header_bytes: must be between 1 and 4294967295 bytes, got \"8GiB\""},
    {"storage: {ledger: 'mysql://x'}",
     "storage.ledger: expected \"sqlite:<path>\", a postgres:// URL or \"off\""},
    {"storage: {counters: memcached}", "storage.counters: expected \"local\" or a redis:// URL"},
    {"providers: {s: {type: simulator}}\nroutes: [{target: s/m}]", "routes[0].name: required"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: 'a b', target: s/m}]",
     "routes[0].name: must not contain spaces"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m}, {name: a, target: s/m}]",
     "routes[1].name: duplicate route \"a\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m, core: [s/n]}]",
     "routes[0]: set either \"target\" or tiers (\"core\", \"secondary\", \"fallback\"), not "
     "both"},
    {"routes: [{name: a}]",
     "routes[0]: set \"target\" or at least one of \"core\", \"secondary\", \"fallback\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: gpt-4o}]",
     "routes[0].target: expected \"provider/model\", got \"gpt-4o\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/}]",
     "routes[0].target: expected \"provider/model\", got \"s/\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, core: [{target: s/m, weight: 0}]}]",
     "routes[0].core[0].weight: must be an integer 1..1000000, got \"0\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, core: [{target: s/m, weight: 1.5}]}]",
     "routes[0].core[0].weight: must be an integer 1..1000000, got \"1.5\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, core: [{weight: 2}]}]",
     "routes[0].core[0].target: required"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, core: [{target: s/m, wieght: 2}]}]",
     "routes[0].core[0].wieght: unknown key (did you mean \"weight\"?)"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m, fallback: [], "
     "canary: 1}]",
     "routes[0].canary: must be in [0, 1), got 1"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m, retries: -1}]",
     "routes[0].retries: must be an integer 0..10, got \"-1\""},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m, timeouts: {totl: 1s}}]",
     "routes[0].timeouts.totl: unknown key (did you mean \"total\"?)"},
    {"providers: {s: {type: simulator}}\nroutes: [{name: a, target: s/m, timeouts: {idle: 0}}]",
     "routes[0].timeouts.idle: must be greater than 0"},
    // anthropic, gemini, azure-openai, bedrock
    {"providers: {a: {type: anthropc}}",
     "providers.a.type: unknown provider type \"anthropc\" (known: anthropic, azure-openai, "
     "bedrock, gemini, openai, openai-compatible, simulator)"},
    {"providers: {a: {type: anthropic}}", "providers.a.api_key: required for type \"anthropic\""},
    {"providers: {g: {type: gemini}}", "providers.g.api_key: required for type \"gemini\""},
    {"providers: {z: {type: azure-openai, base_url: 'https://r.openai.azure.com'}}",
     "providers.z.api_key: required for type \"azure-openai\""},
    {"providers: {z: {type: azure-openai, api_key: k}}",
     "providers.z.base_url: required for type \"azure-openai\""},
    {"providers: {a: {type: anthropic, api_key: ''}}", "providers.a.api_key: must not be empty"},
    {"providers: {g: {type: gemini, api_key: ''}}", "providers.g.api_key: must not be empty"},
    {"providers: {a: {type: anthropic, api_key: k, api_version: '2024-10-21'}}",
     "providers.a.api_version: not used by type \"anthropic\""},
    {"providers: {g: {type: gemini, api_key: k, anthropic_version: '2023-06-01'}}",
     "providers.g.anthropic_version: not used by type \"gemini\""},
    {"providers: {z: {type: azure-openai, base_url: 'https://r', api_key: k, region: eu}}",
     "providers.z.region: not used by type \"azure-openai\""},
    {"providers: {o: {type: openai, api_key: k, aws_access_key_id: AK}}",
     "providers.o.aws_access_key_id: not used by type \"openai\""},
    {"providers: {s: {type: simulator, api_version: '2024-10-21'}}",
     "providers.s.api_version: not used by type \"simulator\""},
    {"providers: {b: {type: bedrock, region: us-east-1, api_key: k, anthropic_version: x}}",
     "providers.b.anthropic_version: not used by type \"bedrock\""},
    {"providers: {b: {type: bedrock, region: us-east-1, api_key: k, ttft: 1s}}",
     "providers.b.ttft: not used by type \"bedrock\""},
    {"providers: {a: {type: anthropic, api_key: k, anthropic_verison: x}}",
     "providers.a.anthropic_verison: unknown key (did you mean \"anthropic_version\"?)"},
    {"providers: {b: {type: bedrock, api_key: k, region: us-east-1, regoin: x}}",
     "providers.b.regoin: unknown key (did you mean \"region\"?)"},
    {"providers: {a: {type: anthropic, api_key: k, anthropic_version: '2023 06 01'}}",
     "providers.a.anthropic_version: expected a version such as \"2023-06-01\", got \"2023 06 "
     "01\""},
    {"providers: {z: {type: azure-openai, base_url: 'https://r', api_key: k, api_version: ''}}",
     "providers.z.api_version: expected a version such as \"2024-10-21\", got \"\""},
    {"providers: {z: {type: azure-openai, base_url: 'https://r', api_key: k, "
     "api_version: '2024-10-21&x=1'}}",
     "providers.z.api_version: expected a version such as \"2024-10-21\", got \"2024-10-21&x=1\""},
    {"providers: {b: {type: bedrock, api_key: k}}",
     "providers.b.region: required (or set AWS_REGION)"},
    {"providers: {b: {type: bedrock, region: 'US East 1', api_key: k}}",
     "providers.b.region: expected an AWS region such as \"us-east-1\", got \"US East 1\""},
    {"providers: {b: {type: bedrock, region: 'evil.com/x', api_key: k}}",
     "providers.b.region: expected an AWS region such as \"us-east-1\", got \"evil.com/x\""},
    {"providers: {b: {type: bedrock, region: us-east-1, base_url: 'bedrock.local'}}",
     "providers.b.base_url: must start with http:// or https://"},
    {"providers: {b: {type: bedrock, region: us-east-1, api_key: ''}}",
     "providers.b.api_key: must not be empty"},
    {"providers: {b: {type: bedrock, region: us-east-1, aws_access_key_id: AK}}",
     "providers.b.aws_secret_access_key: required when other aws_* keys are set"},
    {"providers: {b: {type: bedrock, region: us-east-1, aws_secret_access_key: S}}",
     "providers.b.aws_access_key_id: required when other aws_* keys are set"},
    {"providers: {b: {type: bedrock, region: us-east-1, aws_access_key_id: AK, "
     "aws_secret_access_key: ''}}",
     "providers.b.aws_secret_access_key: must not be empty"},
    {"providers: {b: {type: bedrock, region: us-east-1, aws_access_key_id: AK, "
     "aws_secret_access_key: \"S\\nX\"}}",
     "providers.b.aws_secret_access_key: must not contain line breaks"},
    {"providers: {b: {type: bedrock, region: us-east-1, aws_access_key_id: [AK], "
     "aws_secret_access_key: S}}",
     "providers.b.aws_access_key_id: expected a single value, got a list"},
    // catalog
    {"catalog: {target: s/m}", "catalog: expected a list, got a map"},
    {"providers: {s: {type: simulator}}\ncatalog: [s/m]",
     "catalog[0]: expected a map, got a value"},
    {"providers: {s: {type: simulator}}\ncatalog: [{capabilities: [tools]}]",
     "catalog[0].target: required"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: x/m}]",
     "catalog[0].target: unknown provider \"x\""},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: gpt-4o}]",
     "catalog[0].target: expected \"provider/model\", got \"gpt-4o\""},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m}, {target: s/n}, {target: s/m}]",
     "catalog[2].target: duplicate target \"s/m\""},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilities: [tools, vison]}]",
     "catalog[0].capabilities[1]: unknown capability \"vison\" (did you mean \"vision\"?)"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilities: [teleport]}]",
     "catalog[0].capabilities[0]: unknown capability \"teleport\" (known: tools, "
     "parallel_tool_calls, vision, json_object, json_schema, logprobs, multiple_choices, "
     "reasoning)"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilities: [tools, tools]}]",
     "catalog[0].capabilities[1]: duplicate capability \"tools\""},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilities: tools}]",
     "catalog[0].capabilities: expected a list, got a value"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilities: [[tools]]}]",
     "catalog[0].capabilities[0]: expected a single value, got a list"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, capabilites: [tools]}]",
     "catalog[0].capabilites: unknown key (did you mean \"capabilities\"?)"},
    {"providers: {s: {type: simulator}}\ncatalog: [{target: s/m, prices: {input: 1}}]",
     "catalog[0].prices: unknown key (did you mean \"price\"?)"},
};

// Named by index: stable across runs (the default would print the struct's pointer bytes).
INSTANTIATE_TEST_SUITE_P(LoadConfig, ErrorMessage, ::testing::ValuesIn(kMessageCases),
                         [](const ::testing::TestParamInfo<MessageCase>& case_info) {
                           return "case" + std::to_string(case_info.index);
                         });

TEST(LoadConfig, EveryProblemOfOneTargetIsReported) {
  EXPECT_THAT(errors_of("routes: [{name: a, core: [{target: nope/m, weight: 0}, {weight: -2}]}]"),
              ElementsAre("routes[0].core[0].target: unknown provider \"nope\"",
                          "routes[0].core[0].weight: must be an integer 1..1000000, got \"0\"",
                          "routes[0].core[1].target: required",
                          "routes[0].core[1].weight: must be an integer 1..1000000, got \"-2\""));
}

TEST(LoadConfig, NoDidYouMeanForFarOffKeys) {
  EXPECT_THAT(errors_of("routes: [{name: a, tmeouts_x: 1}]"),
              ElementsAre("routes[0].tmeouts_x: unknown key",
                          "routes[0]: set \"target\" or at least one of \"core\", "
                          "\"secondary\", \"fallback\""));
}

TEST(LoadConfig, TenantsWithLimitsBudgetsAndPolicies) {
  const LoadResult r = load_config_file(fixture("tenants.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const Config& c = *r.config;
  EXPECT_TRUE(c.multi_tenant());
  ASSERT_EQ(c.tenants.size(), 2u);
  const TenantConfig& t = c.tenants[0];
  EXPECT_EQ(t.name, "research");
  EXPECT_EQ(t.limits, (RateLimits{600, 200000, 20}));
  EXPECT_EQ(t.key_limits, (RateLimits{60, 0, 0}));
  EXPECT_EQ(t.budget, (Budget{50'000'000, 1'000'250'000}));
  EXPECT_EQ(t.key_budget, (Budget{5'000'000, 0}));
  EXPECT_EQ(t.policy.name, "research");
  EXPECT_THAT(t.policy.allow.at("region"), ElementsAre("eu"));
  EXPECT_THAT(t.policy.allow.at("retention"), ElementsAre("none"));
  EXPECT_THAT(t.policy.deny.at("trains_on_data"), ElementsAre("true"));
  EXPECT_THAT(t.policy.deny_providers, ElementsAre("openai"));
  EXPECT_TRUE(t.policy.providers.empty());
  EXPECT_EQ(t.policy.max_provider_share, 0.8);
  EXPECT_TRUE(t.policy.enforce);
  EXPECT_EQ(t.policy.share_window, Duration(600'000));
  EXPECT_THAT(t.policy.redact, ElementsAre("email", "phone", "card"));
  EXPECT_TRUE(t.policy.restricts_targets());
  EXPECT_THAT(c.tenants[1].policy.providers, ElementsAre("sim", "openai"));
  EXPECT_FALSE(c.tenants[1].budget.any());
  EXPECT_FALSE(c.tenants[1].limits.any());
  EXPECT_EQ(c.routes[0].limits, (RateLimits{1000, 0, 50}));
  EXPECT_EQ(c.keys.refresh_interval, Duration(2'000));
  EXPECT_EQ(c.find_tenant("web"), &c.tenants[1]);
  EXPECT_EQ(c.find_tenant("nope"), nullptr);
}

TEST(LoadConfig, TenantErrorsNameTheirPath) {
  const std::string base =
      "providers: {sim: {type: simulator}}\nroutes: [{name: chat, target: sim/s}]\n";
  EXPECT_THAT(errors_of(base + "tenants: [{name: a}, {name: a}, {name: 'b c'}, {limits: {}}]"),
              ElementsAre("tenants[1].name: duplicate tenant \"a\"",
                          "tenants[2].name: expected 1..64 of A-Z a-z 0-9 . _ -, got \"b c\"",
                          "tenants[3].name: required"));
  EXPECT_THAT(
      errors_of(base + "tenants: [{name: a, policy: {providers: [sm], redact: [emial, fax]}}]"),
      ElementsAre("tenants[0].policy.providers[0]: unknown provider \"sm\" (did you mean "
                  "\"sim\"?)",
                  "tenants[0].policy.providers: must name at least one provider (leave it out "
                  "to allow every provider)",
                  "tenants[0].policy.redact[0]: unknown PII kind \"emial\" (did you mean "
                  "\"email\"?)",
                  "tenants[0].policy.redact[1]: unknown PII kind \"fax\" (known: email, "
                  "phone, card, iban, ipv4, ssn)"));
  EXPECT_THAT(errors_of(base + "tenants: [{name: a, policy: {enforce: true}}]"),
              ElementsAre("tenants[0].policy.enforce: needs max_provider_share"));
  EXPECT_THAT(errors_of(base + "tenants: [{name: a, policy: {max_provider_share: 0}}]"),
              ElementsAre("tenants[0].policy.max_provider_share: must be more than 0 and at "
                          "most 1"));
  EXPECT_THAT(errors_of(base + "tenants: [{name: a, budget: {usd_per_day: 0, usd_per_month: "
                               "-1}, limits: {rpm: 0, tpm: x}}]"),
              ElementsAre("tenants[0].limits.rpm: must be an integer 1..1000000000, got \"0\"",
                          "tenants[0].limits.tpm: must be an integer 1..1000000000000, got \"x\"",
                          "tenants[0].budget.usd_per_day: must be more than 0 (leave it out for "
                          "no budget)",
                          "tenants[0].budget.usd_per_month: expected a decimal number such as "
                          "2.50 (at most 6 decimals), got \"-1\""));
  EXPECT_THAT(errors_of(base + "tenants: [{name: a, policy: {allow: {region: []}}}]"),
              ElementsAre("tenants[0].policy.allow.region: expected a value or a non-empty list "
                          "of values"));
}

TEST(LoadConfig, OpenModeOnlyOnLoopback) {
  const std::string routes =
      "providers: {sim: {type: simulator}}\nroutes: [{name: chat, target: sim/s}]\n";
  EXPECT_THAT(errors_of("server: {listen: '0.0.0.0:8080'}\n" + routes),
              ElementsAre("server.listen: \"0.0.0.0:8080\" is not a loopback address; without "
                          "tenants the gateway runs open (no keys) and only listens on 127.0.0.1 "
                          "or ::1 (configure tenants, or listen on loopback)"));
  EXPECT_THAT(errors_of("server: {listen: '[::1]:8080'}\n" + routes), IsEmpty());
  EXPECT_THAT(errors_of("server: {listen: '127.0.0.1:8080'}\n" + routes), IsEmpty());
  EXPECT_THAT(errors_of("server: {listen: '0.0.0.0:8080'}\n" + routes + "tenants: [{name: a}]"),
              IsEmpty());
  EXPECT_THAT(errors_of("storage: {ledger: 'off'}\n" + routes + "tenants: [{name: a}]"),
              ElementsAre("storage.ledger: must not be \"off\" with tenants: virtual keys and "
                          "budgets live in the ledger's database"));
}

TEST(LoadConfig, AdminTokenFromTheEnvironmentAndASeparateListener) {
  const LoadResult env_only =
      load_config_string("routes: []", env_of({{"SWITCHYARD_ADMIN_TOKEN", "t0k"}}));
  ASSERT_TRUE(env_only.config);
  EXPECT_EQ(env_only.config->admin.token, "t0k");
  EXPECT_FALSE(env_only.config->admin.separate());
  const LoadResult listen = load_config_string("admin: {listen: '127.0.0.1:9901'}",
                                               env_of({{"SWITCHYARD_ADMIN_TOKEN", "t0k"}}));
  ASSERT_THAT(texts(listen.errors), IsEmpty());
  EXPECT_EQ(listen.config->admin.token, "t0k");
  EXPECT_TRUE(listen.config->admin.separate());
  EXPECT_EQ(listen.config->admin.port, 9901);
  EXPECT_THAT(errors_of("admin: {token: x, listen: nope}"),
              ElementsAre(testing::StartsWith("admin.listen: ")));
}

// ---------------------------------------------------------------------------------------------
// Health, retry budget, probes and the admin token

TEST(Routing, HealthRetryBudgetAndProbeAreRead) {
  const LoadResult r =
      load_config_file(fixture("routing.yaml"), env_of({{"SWITCHYARD_ADMIN_TOKEN", "s3cret"}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.config->admin.enabled());
  EXPECT_EQ(r.config->admin.token, "s3cret");
  ASSERT_EQ(r.config->routes.size(), 2u);
  const RouteConfig& chat = r.config->routes[0];
  EXPECT_EQ(chat.health.consecutive_failures, 3u);
  EXPECT_DOUBLE_EQ(chat.health.error_rate, 0.25);
  EXPECT_EQ(chat.health.min_requests, 50u);
  EXPECT_EQ(chat.health.window, 1min);
  EXPECT_EQ(chat.health.base_ejection, 10s);
  EXPECT_EQ(chat.health.max_ejection, 5min);
  EXPECT_DOUBLE_EQ(chat.retry_budget.ratio, 0.1);
  EXPECT_DOUBLE_EQ(chat.retry_budget.min_per_second, 0.5);
  EXPECT_EQ(chat.retry_budget.window, 30s);
  EXPECT_EQ(chat.probe_interval, 15s);

  const RouteConfig& plain = r.config->routes[1];  // defaults
  EXPECT_EQ(plain.health.consecutive_failures, 5u);
  EXPECT_DOUBLE_EQ(plain.health.error_rate, 0.5);
  EXPECT_EQ(plain.health.min_requests, 20u);
  EXPECT_EQ(plain.health.window, 30s);
  EXPECT_EQ(plain.health.base_ejection, 30s);
  EXPECT_EQ(plain.health.max_ejection, 300s);
  EXPECT_DOUBLE_EQ(plain.retry_budget.ratio, 0.2);
  EXPECT_DOUBLE_EQ(plain.retry_budget.min_per_second, 3.0);
  EXPECT_EQ(plain.retry_budget.window, 10s);
  EXPECT_EQ(plain.probe_interval, 0ms);
}

TEST(Routing, PartialSectionsKeepTheOtherDefaults) {
  const LoadResult r = load_config_string(
      std::string(kSim) +
          "routes: [{name: r, target: s/m, health: {consecutive_failures: 0}, "
          "retry_budget: {ratio: 1}, probe: {interval: 0}}]",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  const RouteConfig& route = r.config->routes[0];
  EXPECT_EQ(route.health.consecutive_failures, 0u);  // 0 = that rule is off
  EXPECT_DOUBLE_EQ(route.health.error_rate, 0.5);
  EXPECT_DOUBLE_EQ(route.retry_budget.ratio, 1.0);
  EXPECT_DOUBLE_EQ(route.retry_budget.min_per_second, 3.0);
  EXPECT_EQ(route.probe_interval, 0ms);
}

TEST(Routing, BadValuesAreReportedAtTheirPaths) {
  EXPECT_THAT(
      errors_of(std::string(kSim) +
                "routes: [{name: r, target: s/m,\n"
                "  health: {consecutive_failures: -1, error_rate: 1.5, min_requests: 0,\n"
                "           window: 0, base_ejection: 1m, max_ejection: 30s, windw: 1s},\n"
                "  retry_budget: {ratio: 2, min_per_second: -3, window: 1.5s},\n"
                "  probe: {interval: soon, every: 1s}}]"),
      ElementsAre(
          "routes[0].health.windw: unknown key (did you mean \"window\"?)",
          "routes[0].health.consecutive_failures: must be an integer 0..1000000000, got \"-1\"",
          "routes[0].health.error_rate: must be in [0, 1], got 1.5",
          "routes[0].health.min_requests: must be an integer 1..1000000000, got \"0\"",
          "routes[0].health.window: must be greater than 0",
          "routes[0].health.max_ejection: must not be less than base_ejection",
          "routes[0].retry_budget.ratio: must be in [0, 1], got 2",
          "routes[0].retry_budget.min_per_second: must be a number 0..1000000, got \"-3\"",
          StartsWith("routes[0].retry_budget.window: "),
          "routes[0].probe.every: unknown key",
          StartsWith("routes[0].probe.interval: ")));
  EXPECT_THAT(errors_of(std::string(kSim) + "routes: [{name: r, target: s/m, health: 5}]"),
              ElementsAre("routes[0].health: expected a map, got a value"));
}

TEST(Admin, UnsetTokenVariableDisablesTheAdminApiWithOneWarning) {
  const LoadResult r = load_config_file(fixture("routing.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings),
              ElementsAre("admin: disabled: environment variable SWITCHYARD_ADMIN_TOKEN is not "
                          "set"));
  EXPECT_FALSE(r.config->admin.enabled());
  EXPECT_EQ(r.config->admin.token, "");
}

TEST(Admin, TokenFromTheFileOrTheEnvironment) {
  const LoadResult literal = load_config_string("admin: {token: abc}", kNoEnv);
  ASSERT_THAT(texts(literal.errors), IsEmpty());
  EXPECT_THAT(texts(literal.warnings), IsEmpty());
  EXPECT_TRUE(literal.config->admin.enabled());
  EXPECT_EQ(literal.config->admin.token, "abc");

  const LoadResult empty = load_config_string("admin: {token: '${T}'}", env_of({{"T", ""}}));
  ASSERT_THAT(texts(empty.errors), IsEmpty());
  EXPECT_THAT(texts(empty.warnings),
              ElementsAre("admin: disabled: token is empty (environment: T)"));
  EXPECT_FALSE(empty.config->admin.enabled());

  const LoadResult none = load_config_string("admin: {}\n", kNoEnv);
  ASSERT_THAT(texts(none.errors), IsEmpty());
  EXPECT_THAT(texts(none.warnings), ElementsAre("admin: disabled: no token"));
  EXPECT_FALSE(none.config->admin.enabled());

  const LoadResult null = load_config_string("admin:\n", kNoEnv);  // same as leaving it out
  ASSERT_THAT(texts(null.errors), IsEmpty());
  EXPECT_THAT(texts(null.warnings), IsEmpty());
  EXPECT_FALSE(null.config->admin.enabled());
}

TEST(Admin, BadAdminSectionsAreErrorsAndTheTokenIsNeverQuoted) {
  EXPECT_THAT(errors_of("admin: {token: ''}"), ElementsAre("admin.token: must not be empty"));
  EXPECT_THAT(errors_of("admin: {lisen: '127.0.0.1:9000'}"),
              ElementsAre("admin.lisen: unknown key (did you mean \"listen\"?)"));
  EXPECT_THAT(errors_of("admin: [a]"), ElementsAre("admin: expected a map, got a list"));
  const LoadResult r =
      load_config_string("admin: {token: '${T}'}", env_of({{"T", "top\nsecret"}}));
  ASSERT_THAT(texts(r.errors), ElementsAre("admin.token: must not contain line breaks"));
  for (const std::string& text : texts(r.errors)) {
    EXPECT_THAT(text, Not(HasSubstr("secret")));
  }
}

// ---------------------------------------------------------------------------------------------
// Environment variables and disabled providers

TEST(ExpandEnv, SetUnsetDefaultAndLiteral) {
  const EnvLookup env = env_of({{"A", "alpha"}, {"EMPTY", ""}});
  EXPECT_EQ(expand_env("x${A}y", env).value, "xalphay");
  EXPECT_EQ(expand_env("${A}${A}", env).value, "alphaalpha");
  EXPECT_EQ(expand_env("${A:-d}", env).value, "alpha");
  EXPECT_EQ(expand_env("${B:-d e}", env).value, "d e");
  EXPECT_EQ(expand_env("${EMPTY:-d}", env).value, "d");  // empty counts as unset for :-
  EXPECT_EQ(expand_env("${EMPTY}", env).value, "");      // but is set for plain ${VAR}
  EXPECT_TRUE(expand_env("${EMPTY}", env).unset.empty());
  EXPECT_EQ(expand_env("${B:-}", env).value, "");
  EXPECT_EQ(expand_env("$${A}", env).value, "${A}");
  EXPECT_EQ(expand_env("$$${A}", env).value, "$${A}");
  EXPECT_EQ(expand_env("cost $5 and $A", env).value, "cost $5 and $A");
  EXPECT_EQ(expand_env("$", env).value, "$");

  const Expansion unset = expand_env("${B}-${C}-${B}", env);
  EXPECT_EQ(unset.value, "--");
  EXPECT_THAT(unset.unset, ElementsAre("B", "C"));
  EXPECT_TRUE(unset.error.empty());

  EXPECT_FALSE(expand_env("${A", env).error.empty());
  EXPECT_FALSE(expand_env("${}", env).error.empty());
  EXPECT_FALSE(expand_env("${A-B}", env).error.empty());
}

TEST(LoadConfig, EnvExpansionInAnyScalar) {
  const LoadResult r = load_config_file(
      fixture("env.yaml"), env_of({{"PORT", "9000"}, {"LOCAL_KEY", "k-1"}, {"TEAM", ""}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const Config& c = *r.config;
  EXPECT_EQ(c.server.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.providers[0].base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(c.providers[0].api_key, "k-1");
  EXPECT_EQ(c.providers[0].headers.at("X-Template"), "${NOT_EXPANDED} and none");

  const LoadResult set =
      load_config_file(fixture("env.yaml"), env_of({{"PORT", "1"},
                                                    {"LOCAL_KEY", "k"},
                                                    {"HOST", "127.0.0.2"},
                                                    {"LOCAL_URL", "https://x.example/v1"},
                                                    {"TEAM", "ml"}}));
  ASSERT_THAT(texts(set.errors), IsEmpty());
  EXPECT_EQ(set.config->server.host, "127.0.0.2");
  EXPECT_EQ(set.config->providers[0].base_url, "https://x.example/v1");
  EXPECT_EQ(set.config->providers[0].headers.at("X-Template"), "${NOT_EXPANDED} and ml");
}

TEST(LoadConfig, UnsetVariableOutsideApiKeyIsAnErrorAtItsPath) {
  const LoadResult r = load_config_file(fixture("env.yaml"), env_of({{"LOCAL_KEY", "k"}}));
  EXPECT_FALSE(r.config);
  EXPECT_THAT(texts(r.errors), ElementsAre("server.listen: environment variable PORT is not set"));
}

TEST(LoadConfig, UnsetApiKeyVariableDisablesTheProviderWithOneWarning) {
  const LoadResult r = load_config_file(fixture("disabled.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(
      texts(r.warnings),
      ElementsAre("providers.openai: disabled: environment variable OPENAI_API_KEY is not set",
                  "providers.anthropic_like: disabled: environment variable OTHER_KEY is not set",
                  "routes[0]: every target is disabled; requests will get 503"));
  const ProviderConfig* openai = r.config->find_provider("openai");
  ASSERT_NE(openai, nullptr);
  EXPECT_FALSE(openai->enabled);
  EXPECT_EQ(openai->disabled_reason, "OPENAI_API_KEY is not set");
  EXPECT_EQ(openai->api_key, "");
  EXPECT_TRUE(r.config->find_provider("sim")->enabled);
}

TEST(LoadConfig, KeyValuesNeverAppearInMessages) {
  const std::string secret = "sk-very-secret-value";
  const LoadResult r = load_config_file(
      fixture("disabled.yaml"), env_of({{"OPENAI_API_KEY", secret}, {"OTHER_KEY", secret}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  EXPECT_TRUE(r.config->find_provider("openai")->enabled);
  EXPECT_EQ(r.config->find_provider("openai")->api_key, secret);

  // Problems next to a set key: the messages name the variables, never the value.
  const LoadResult bad = load_config_string(
      "providers:\n"
      "  o: {type: openai, api_key: '${K}', base_url: '${K}', headers: {X-Key: \"${K}\\n\"}}\n"
      "  p: {type: openai, api_key: \"${K}\\r\\n\"}\n"
      "  q: {type: openai, api_key: '${A}${B}'}\n"
      "storage: {ledger: '${K}'}\n",
      env_of({{"K", secret}}));
  EXPECT_THAT(texts(bad.errors),
              ElementsAre("storage.ledger: expected \"sqlite:<path>\", a postgres:// URL or \"off\"",
                          "providers.o.base_url: must start with http:// or https://",
                          "providers.o.headers.X-Key: must not contain line breaks",
                          "providers.p.api_key: must not contain line breaks"));
  EXPECT_THAT(texts(bad.warnings),
              ElementsAre("providers.q: disabled: environment variables A, B are not set"));
  for (const auto* list : {&bad.errors, &bad.warnings}) {
    for (const ConfigIssue& issue : *list) {
      EXPECT_THAT(issue.text(), Not(HasSubstr(secret)));
    }
  }
}

TEST(LoadConfig, EmptyOpenAiKeyFromTheEnvironmentDisablesTheProvider) {
  const LoadResult r =
      load_config_string("providers: {o: {type: openai, api_key: '${K:-}'}}", kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings),
              ElementsAre("providers.o: disabled: api_key is empty (environment: K)"));
  EXPECT_FALSE(r.config->providers[0].enabled);
}

TEST(LoadConfig, TlsSkipVerifyWarns) {
  const LoadResult r = load_config_string(
      "providers: {c: {type: openai-compatible, base_url: 'https://h', tls_skip_verify: true}}",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings),
              ElementsAre("providers.c.tls_skip_verify: TLS certificate verification is off for "
                          "this provider"));
  EXPECT_TRUE(r.config->providers[0].tls_skip_verify);
}

TEST(LoadConfig, CanaryWithoutLowerTiersWarns) {
  const LoadResult r = load_config_string(
      std::string(kSim) + "routes: [{name: a, target: s/m, canary: 0.5}]", kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings),
              ElementsAre("routes[0].canary: has no effect without secondary or fallback "
                          "targets"));
}

// ---------------------------------------------------------------------------------------------
// anthropic, gemini, azure-openai, bedrock

const std::map<std::string, std::string> kProviderEnv = {{"ANTHROPIC_API_KEY", "sk-ant-1"},
                                                         {"GEMINI_API_KEY", "AIza-1"},
                                                         {"AZURE_OPENAI_API_KEY", "az-1"},
                                                         {"BEDROCK_API_KEY", "ABSK-1"},
                                                         {"AWS_REGION", "us-east-1"},
                                                         {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                         {"AWS_SECRET_ACCESS_KEY", "aws-sec-1"},
                                                         {"LOCAL_AWS_ID", "AKIDLOCAL"},
                                                         {"LOCAL_AWS_SECRET", "aws-sec-2"}};

TEST(ProviderTypes, FixtureFillsDefaultsAndReadsEveryKey) {
  const LoadResult r = load_config_file(fixture("providers.yaml"), env_of(kProviderEnv));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const Config& c = *r.config;
  ASSERT_EQ(c.providers.size(), 8u);

  const ProviderConfig& claude = *c.find_provider("claude");
  EXPECT_EQ(claude.type, "anthropic");
  EXPECT_EQ(claude.base_url, "https://api.anthropic.com");
  EXPECT_EQ(claude.api_key, "sk-ant-1");
  EXPECT_EQ(claude.anthropic_version, "2023-06-01");
  EXPECT_TRUE(claude.enabled);
  const ProviderConfig& claude_old = *c.find_provider("claude-old");
  EXPECT_EQ(claude_old.base_url, "http://127.0.0.1:9001");
  EXPECT_EQ(claude_old.api_key, "k-2");
  EXPECT_EQ(claude_old.anthropic_version, "2023-01-01");

  const ProviderConfig& gemini = *c.find_provider("gemini");
  EXPECT_EQ(gemini.base_url, "https://generativelanguage.googleapis.com");
  EXPECT_EQ(gemini.api_key, "AIza-1");
  EXPECT_EQ(gemini.headers.at("X-Goog-User-Project"), "p-1");

  const ProviderConfig& azure = *c.find_provider("azure-eu");
  EXPECT_EQ(azure.base_url, "https://sy-eu.openai.azure.com");
  EXPECT_EQ(azure.api_key, "az-1");
  EXPECT_EQ(azure.api_version, "2024-10-21");
  EXPECT_EQ(azure.attributes.at("region"), "eu");
  const ProviderConfig& preview = *c.find_provider("azure-preview");
  EXPECT_EQ(preview.base_url, "https://sy-us.openai.azure.com");
  EXPECT_EQ(preview.api_version, "2025-01-01-preview");

  // Region and credentials from the environment.
  const ProviderConfig& bedrock = *c.find_provider("bedrock");
  EXPECT_EQ(bedrock.region, "us-east-1");
  EXPECT_EQ(bedrock.base_url, "https://bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(bedrock.api_key, "");
  EXPECT_EQ(bedrock.aws_access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(bedrock.aws_secret_access_key, "aws-sec-1");
  EXPECT_EQ(bedrock.aws_session_token, "");
  EXPECT_TRUE(bedrock.enabled);

  // A Bedrock API key wins over the AWS credentials in the environment.
  const ProviderConfig& bedrock_eu = *c.find_provider("bedrock-eu");
  EXPECT_EQ(bedrock_eu.region, "eu-central-1");
  EXPECT_EQ(bedrock_eu.base_url, "https://bedrock-runtime.eu-central-1.amazonaws.com");
  EXPECT_EQ(bedrock_eu.api_key, "ABSK-1");
  EXPECT_EQ(bedrock_eu.aws_access_key_id, "");
  EXPECT_EQ(bedrock_eu.aws_secret_access_key, "");

  // Written aws_* keys win over the environment; an empty session token means none.
  const ProviderConfig& bedrock_local = *c.find_provider("bedrock-local");
  EXPECT_EQ(bedrock_local.region, "us-west-2");
  EXPECT_EQ(bedrock_local.base_url, "http://127.0.0.1:9002");
  EXPECT_EQ(bedrock_local.aws_access_key_id, "AKIDLOCAL");
  EXPECT_EQ(bedrock_local.aws_secret_access_key, "aws-sec-2");
  EXPECT_EQ(bedrock_local.aws_session_token, "");
  EXPECT_TRUE(bedrock_local.enabled);
}

TEST(ProviderTypes, UnsetKeyVariablesDisableEachProviderWithOneWarning) {
  const LoadResult r = load_config_file(fixture("providers.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors),
              ElementsAre("providers.bedrock.region: required (or set AWS_REGION)"));
  EXPECT_THAT(
      texts(r.warnings),
      ElementsAre(
          "providers.claude: disabled: environment variable ANTHROPIC_API_KEY is not set",
          "providers.gemini: disabled: environment variable GEMINI_API_KEY is not set",
          "providers.azure-eu: disabled: environment variable AZURE_OPENAI_API_KEY is not set",
          "providers.bedrock: disabled: no AWS credentials (set AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY, or api_key)",
          "providers.bedrock-eu: disabled: environment variable BEDROCK_API_KEY is not set",
          "providers.bedrock-local: disabled: environment variables LOCAL_AWS_ID, "
          "LOCAL_AWS_SECRET are not set",
          "routes[0]: every target is disabled; requests will get 503"));

  const LoadResult region_only =
      load_config_file(fixture("providers.yaml"), env_of({{"AWS_DEFAULT_REGION", "eu-west-1"}}));
  ASSERT_THAT(texts(region_only.errors), IsEmpty());
  const Config& c = *region_only.config;
  for (const char* name : {"claude", "gemini", "azure-eu", "bedrock", "bedrock-eu"}) {
    EXPECT_FALSE(c.find_provider(name)->enabled) << name;
  }
  EXPECT_TRUE(c.find_provider("claude-old")->enabled);
  EXPECT_EQ(c.find_provider("claude")->disabled_reason, "ANTHROPIC_API_KEY is not set");
  EXPECT_EQ(c.find_provider("bedrock")->disabled_reason, "no AWS credentials");
  EXPECT_EQ(c.find_provider("bedrock")->region, "eu-west-1");
}

TEST(ProviderTypes, EmptyKeyFromTheEnvironmentDisablesKeyedTypes) {
  const LoadResult r = load_config_string(
      "providers:\n"
      "  a: {type: anthropic, api_key: '${A:-}'}\n"
      "  g: {type: gemini, api_key: '${G}'}\n"
      "  z: {type: azure-openai, base_url: 'https://r.openai.azure.com', api_key: '${Z:-}'}\n",
      env_of({{"G", ""}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings),
              ElementsAre("providers.a: disabled: api_key is empty (environment: A)",
                          "providers.g: disabled: api_key is empty (environment: G)",
                          "providers.z: disabled: api_key is empty (environment: Z)"));
  for (const ProviderConfig& p : r.config->providers) {
    EXPECT_FALSE(p.enabled) << p.name;
  }
}

LoadResult load_bedrock(const std::string& keys, std::map<std::string, std::string> env) {
  return load_config_string("providers: {b: {type: bedrock" + keys + "}}", env_of(std::move(env)));
}

TEST(Bedrock, RegionFromKeyThenAwsRegionThenAwsDefaultRegion) {
  const std::map<std::string, std::string> creds = {{"AWS_ACCESS_KEY_ID", "AK"},
                                                    {"AWS_SECRET_ACCESS_KEY", "S"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    extra.insert(creds.begin(), creds.end());
    return extra;
  };
  const LoadResult written =
      load_bedrock(", region: ap-south-1", with({{"AWS_REGION", "us-east-1"}}));
  ASSERT_THAT(texts(written.errors), IsEmpty());
  EXPECT_EQ(written.config->providers[0].region, "ap-south-1");
  EXPECT_EQ(written.config->providers[0].base_url,
            "https://bedrock-runtime.ap-south-1.amazonaws.com");

  const LoadResult both =
      load_bedrock("", with({{"AWS_REGION", "us-east-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}}));
  ASSERT_THAT(texts(both.errors), IsEmpty());
  EXPECT_EQ(both.config->providers[0].region, "us-east-2");

  // An empty AWS_REGION counts as unset.
  const LoadResult fallback =
      load_bedrock("", with({{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", "eu-west-1"}}));
  ASSERT_THAT(texts(fallback.errors), IsEmpty());
  EXPECT_EQ(fallback.config->providers[0].region, "eu-west-1");
  EXPECT_EQ(fallback.config->providers[0].base_url,
            "https://bedrock-runtime.eu-west-1.amazonaws.com");

  EXPECT_THAT(texts(load_bedrock("", creds).errors),
              ElementsAre("providers.b.region: required (or set AWS_REGION)"));
  EXPECT_THAT(texts(load_bedrock("", with({{"AWS_REGION", "us east"}})).errors),
              ElementsAre("providers.b.region: expected an AWS region such as \"us-east-1\", got "
                          "\"us east\" (from AWS_REGION)"));
  EXPECT_THAT(texts(load_bedrock(", region: '${R}'", creds).errors),
              ElementsAre("providers.b.region: environment variable R is not set"));
}

TEST(Bedrock, CredentialsFromTheEnvironmentWithSessionToken) {
  const LoadResult r = load_bedrock(
      ", region: us-east-1",
      {{"AWS_ACCESS_KEY_ID", "ASIAX"}, {"AWS_SECRET_ACCESS_KEY", "S"}, {"AWS_SESSION_TOKEN", "T"}});
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const ProviderConfig& p = r.config->providers[0];
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.aws_access_key_id, "ASIAX");
  EXPECT_EQ(p.aws_secret_access_key, "S");
  EXPECT_EQ(p.aws_session_token, "T");
  EXPECT_EQ(p.api_key, "");
}

TEST(Bedrock, MissingCredentialsDisableWithOneWarning) {
  const std::string warning =
      "providers.b: disabled: no AWS credentials (set AWS_ACCESS_KEY_ID and "
      "AWS_SECRET_ACCESS_KEY, or api_key)";
  for (const auto& env : std::vector<std::map<std::string, std::string>>{
           {},
           {{"AWS_ACCESS_KEY_ID", "AK"}},
           {{"AWS_SECRET_ACCESS_KEY", "S"}, {"AWS_SESSION_TOKEN", "T"}},
           {{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", "S"}}}) {
    const LoadResult r = load_bedrock(", region: us-east-1", env);
    ASSERT_THAT(texts(r.errors), IsEmpty());
    EXPECT_THAT(texts(r.warnings), ElementsAre(warning));
    const ProviderConfig& p = r.config->providers[0];
    EXPECT_FALSE(p.enabled);
    EXPECT_EQ(p.disabled_reason, "no AWS credentials");
    EXPECT_EQ(p.aws_access_key_id, "");
    EXPECT_EQ(p.aws_secret_access_key, "");
    EXPECT_EQ(p.aws_session_token, "");
  }
}

TEST(Bedrock, ApiKeyWinsAndAnEmptyOneFallsBackToAwsCredentials) {
  const std::map<std::string, std::string> env = {
      {"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "S"}, {"KEY", "ABSK-2"}};
  const LoadResult key = load_bedrock(", region: us-east-1, api_key: '${KEY}'", env);
  ASSERT_THAT(texts(key.errors), IsEmpty());
  EXPECT_THAT(texts(key.warnings), IsEmpty());
  EXPECT_EQ(key.config->providers[0].api_key, "ABSK-2");
  EXPECT_EQ(key.config->providers[0].aws_access_key_id, "");

  // Written aws_* keys are checked but not used when the api_key is set.
  const LoadResult key_and_written = load_bedrock(
      ", region: us-east-1, api_key: k, aws_access_key_id: AK2, aws_secret_access_key: S2", env);
  ASSERT_THAT(texts(key_and_written.errors), IsEmpty());
  EXPECT_EQ(key_and_written.config->providers[0].api_key, "k");
  EXPECT_EQ(key_and_written.config->providers[0].aws_access_key_id, "");

  const LoadResult optional = load_bedrock(", region: us-east-1, api_key: '${NOKEY:-}'", env);
  ASSERT_THAT(texts(optional.errors), IsEmpty());
  EXPECT_THAT(texts(optional.warnings), IsEmpty());
  EXPECT_EQ(optional.config->providers[0].api_key, "");
  EXPECT_EQ(optional.config->providers[0].aws_access_key_id, "AK");
  EXPECT_TRUE(optional.config->providers[0].enabled);

  // An api_key naming an unset variable disables the provider, as for every type.
  const LoadResult unset = load_bedrock(", region: us-east-1, api_key: '${NOKEY}'", env);
  ASSERT_THAT(texts(unset.errors), IsEmpty());
  EXPECT_THAT(texts(unset.warnings),
              ElementsAre("providers.b: disabled: environment variable NOKEY is not set"));
  EXPECT_FALSE(unset.config->providers[0].enabled);
}

TEST(Bedrock, WrittenAwsKeysReplaceTheEnvironment) {
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AK-ENV"},
                                                  {"AWS_SECRET_ACCESS_KEY", "S-ENV"},
                                                  {"AWS_SESSION_TOKEN", "T-ENV"},
                                                  {"MY_ID", "AK-MINE"},
                                                  {"MY_SECRET", "S-MINE"}};
  const LoadResult r = load_bedrock(
      ", region: us-east-1, aws_access_key_id: '${MY_ID}', aws_secret_access_key: '${MY_SECRET}'",
      env);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const ProviderConfig& p = r.config->providers[0];
  EXPECT_EQ(p.aws_access_key_id, "AK-MINE");
  EXPECT_EQ(p.aws_secret_access_key, "S-MINE");
  EXPECT_EQ(p.aws_session_token, "");  // the environment's token is not mixed in

  const LoadResult token = load_bedrock(
      ", region: us-east-1, aws_access_key_id: A, aws_secret_access_key: S, aws_session_token: T",
      {});
  ASSERT_THAT(texts(token.errors), IsEmpty());
  EXPECT_EQ(token.config->providers[0].aws_session_token, "T");

  const LoadResult unset = load_bedrock(
      ", region: us-east-1, aws_access_key_id: '${X}', aws_secret_access_key: '${Y}${X}', "
      "aws_session_token: '${Z}'",
      env);
  ASSERT_THAT(texts(unset.errors), IsEmpty());
  EXPECT_THAT(texts(unset.warnings),
              ElementsAre("providers.b: disabled: environment variables X, Y, Z are not set"));
  EXPECT_FALSE(unset.config->providers[0].enabled);

  const LoadResult empty = load_bedrock(
      ", region: us-east-1, aws_access_key_id: '${X:-}', aws_secret_access_key: S", env);
  ASSERT_THAT(texts(empty.errors), IsEmpty());
  EXPECT_THAT(texts(empty.warnings),
              ElementsAre("providers.b: disabled: aws_access_key_id is empty (environment: X)"));

  EXPECT_THAT(texts(load_bedrock(", region: us-east-1, aws_session_token: T", env).errors),
              ElementsAre("providers.b.aws_access_key_id: required when other aws_* keys are set",
                          "providers.b.aws_secret_access_key: required when other aws_* keys are "
                          "set"));
}

TEST(Bedrock, SecretsNeverAppearInMessages) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", secret + "-id"},
                                                  {"AWS_SECRET_ACCESS_KEY", secret + "\n"},
                                                  {"AWS_SESSION_TOKEN", secret + "-token"},
                                                  {"K", secret}};
  std::vector<LoadResult> results;
  results.push_back(load_bedrock(", region: us-east-1", env));
  results.push_back(load_bedrock(", region: us-east-1, api_key: \"${K}\\n\"", env));
  results.push_back(load_bedrock(
      ", region: us-east-1, aws_access_key_id: '${K}', aws_secret_access_key: \"${K}\\r\"", env));
  results.push_back(load_bedrock(", region: us-east-1, aws_access_key_id: '${K}'", env));
  results.push_back(load_config_string(
      "providers:\n"
      "  a: {type: anthropic, api_key: '${K}', anthropic_version: '1 2'}\n"
      "  g: {type: gemini, api_key: \"${K}\\n\", base_url: '${K}'}\n"
      "  z: {type: azure-openai, base_url: 'https://r', api_key: '${K}', api_version: 'a b'}\n",
      env_of(env)));
  EXPECT_THAT(texts(results[0].errors),
              ElementsAre("providers.b: environment variable AWS_SECRET_ACCESS_KEY must not "
                          "contain line breaks"));
  EXPECT_THAT(texts(results[1].errors),
              ElementsAre("providers.b.api_key: must not contain line breaks"));
  EXPECT_THAT(texts(results[2].errors),
              ElementsAre("providers.b.aws_secret_access_key: must not contain line breaks"));
  for (const LoadResult& r : results) {
    EXPECT_FALSE(r.errors.empty());
    for (const auto* list : {&r.errors, &r.warnings}) {
      for (const ConfigIssue& issue : *list) {
        EXPECT_THAT(issue.text(), Not(HasSubstr("EXAMPLEKEY")));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// catalog

TEST(Catalog, EntriesAreParsedInFileOrder) {
  const LoadResult r = load_config_file(fixture("catalog.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());  // prices are used now
  const std::vector<CatalogEntry>& catalog = r.config->catalog;
  ASSERT_EQ(catalog.size(), 4u);
  EXPECT_EQ(catalog[0].target, "openai/gpt-4o");
  EXPECT_TRUE(catalog[0].has_capabilities);
  EXPECT_THAT(catalog[0].capabilities,
              ElementsAre("tools", "parallel_tool_calls", "vision", "json_object", "json_schema",
                          "logprobs", "multiple_choices"));
  EXPECT_EQ(catalog[1].target, "openai/o3");
  EXPECT_THAT(catalog[1].capabilities, ElementsAre("tools", "reasoning"));
  EXPECT_EQ(catalog[2].target, "local/meta-llama/Llama-3.1-8B");
  EXPECT_TRUE(catalog[2].has_capabilities);  // an empty list: explicitly none
  EXPECT_THAT(catalog[2].capabilities, IsEmpty());
  EXPECT_EQ(catalog[3].target, "openai/gpt-4o-mini");
  EXPECT_FALSE(catalog[3].has_capabilities);  // left to the adapter's defaults

  // Prices are exact micro-dollars per million tokens, read from the scalar's text.
  EXPECT_FALSE(catalog[0].price.has_value());
  ASSERT_TRUE(catalog[1].price.has_value());
  EXPECT_EQ(catalog[1].price->input, 2'000'000);
  EXPECT_EQ(catalog[1].price->output, 8'000'000);
  EXPECT_EQ(catalog[1].price->cached_input, std::nullopt);
  EXPECT_EQ(catalog[1].price_version, "2025-06");
  ASSERT_TRUE(catalog[3].price.has_value());
  EXPECT_EQ(catalog[3].price->input, 150'000);
  EXPECT_EQ(catalog[3].price->output, 600'000);
  EXPECT_EQ(catalog[3].price_version, "");
}

TEST(Catalog, PricesAreExactDecimalsWithOptionalParts) {
  const LoadResult r = load_config_string(
      std::string(kSim) +
          "catalog:\n"
          "  - target: s/a\n"
          "    price: {input: 0.1, output: \"0.3\", cached_input: 0.025, cache_write: 3.75,\n"
          "            reasoning: 1000000}\n"
          "  - {target: s/b, price: {input: 1.234567, output: 2.5000000}}\n",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  ASSERT_EQ(r.config->catalog.size(), 2u);
  const CatalogPrice& a = r.config->catalog[0].price.value();
  EXPECT_EQ(a.input, 100'000);  // 0.1 is not exact as a double; here it is
  EXPECT_EQ(a.output, 300'000);
  EXPECT_EQ(a.cached_input, 25'000);
  EXPECT_EQ(a.cache_write, 3'750'000);
  EXPECT_EQ(a.reasoning, 1'000'000'000'000);
  const CatalogPrice& b = r.config->catalog[1].price.value();
  EXPECT_EQ(b.input, 1'234'567);
  EXPECT_EQ(b.output, 2'500'000);  // zeros past the sixth decimal are exact
  EXPECT_EQ(b.cache_write, std::nullopt);
}

TEST(Catalog, BadPricesAreReportedWithTheirPath) {
  EXPECT_THAT(
      errors_of(std::string(kSim) +
                "catalog:\n"
                "  - {target: s/a, price: {input: 1e-3, output: -1}}\n"
                "  - {target: s/b, price: {input: 0.0000001, output: 1000000.000001}}\n"
                "  - {target: s/c, price: {output: 1, cached_inptu: 2}}\n"
                "  - {target: s/d, price: 2.50}\n"
                "  - {target: s/e, price: {input: .5, output: 5.}}\n"),
      ElementsAre(
          "catalog[0].price.input: expected a decimal number such as 2.50 (at most 6 decimals), "
          "got \"1e-3\"",
          "catalog[0].price.output: expected a decimal number such as 2.50 (at most 6 decimals), "
          "got \"-1\"",
          "catalog[1].price.input: more than 6 decimals in \"0.0000001\" (prices are exact "
          "micro-units)",
          "catalog[1].price.output: \"1000000.000001\" is too large (at most 1000000)",
          "catalog[2].price.cached_inptu: unknown key (did you mean \"cached_input\"?)",
          "catalog[2].price.input: required",
          "catalog[3].price: expected a map, got a value",
          "catalog[4].price.input: expected a decimal number such as 2.50 (at most 6 decimals), "
          "got \".5\"",
          "catalog[4].price.output: expected a decimal number such as 2.50 (at most 6 decimals), "
          "got \"5.\""));
}

TEST(Values, DecimalMicrosAreExact) {
  EXPECT_EQ(parse_decimal_micros("0").value, 0);
  EXPECT_EQ(parse_decimal_micros("2.50").value, 2'500'000);
  EXPECT_EQ(parse_decimal_micros("0.000001").value, 1);
  EXPECT_EQ(parse_decimal_micros("007.5").value, 7'500'000);
  EXPECT_EQ(parse_decimal_micros("1000000").value, kMaxDecimalMicros);
  EXPECT_FALSE(parse_decimal_micros("").ok());
  EXPECT_FALSE(parse_decimal_micros("+1").ok());
  EXPECT_FALSE(parse_decimal_micros("1,5").ok());
  EXPECT_FALSE(parse_decimal_micros("1.2.3").ok());
  EXPECT_FALSE(parse_decimal_micros(" 1").ok());
  EXPECT_FALSE(parse_decimal_micros("99999999999999999999999").ok());
}

TEST(Catalog, PriceVersionAloneIsKeptAndNullCapabilitiesAreAbsent) {
  const LoadResult r = load_config_string(
      std::string(kSim) +
          "catalog: [{target: s/a, price_version: v1}, {target: s/b, capabilities:}]",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  ASSERT_EQ(r.config->catalog.size(), 2u);
  EXPECT_EQ(r.config->catalog[0].price_version, "v1");
  EXPECT_FALSE(r.config->catalog[0].price.has_value());
  EXPECT_FALSE(r.config->catalog[1].has_capabilities);

  const LoadResult none = load_config_string(std::string(kSim) + "catalog:\n", kNoEnv);
  ASSERT_THAT(texts(none.errors), IsEmpty());
  EXPECT_THAT(texts(none.warnings), IsEmpty());
  EXPECT_TRUE(none.config->catalog.empty());
}

TEST(Catalog, TargetsMayNameDisabledProviders) {
  const LoadResult r = load_config_string(
      "providers: {a: {type: anthropic, api_key: '${ANTHROPIC_API_KEY}'}}\n"
      "catalog: [{target: a/claude-sonnet-4-5, capabilities: [tools, vision, reasoning]}]\n",
      kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(
      texts(r.warnings),
      ElementsAre("providers.a: disabled: environment variable ANTHROPIC_API_KEY is not set"));
  ASSERT_EQ(r.config->catalog.size(), 1u);
  EXPECT_EQ(r.config->catalog[0].target, "a/claude-sonnet-4-5");
}

TEST(Catalog, EveryProblemIsReported) {
  EXPECT_THAT(errors_of(std::string(kSim) + "catalog:\n"
                                            "  - {target: s/m, capabilities: [tool, vision, 3]}\n"
                                            "  - {target: nope/m, capabilities: [json]}\n"
                                            "  - {target: s/m}\n"),
              ElementsAre("catalog[0].capabilities[0]: unknown capability \"tool\" (did you mean "
                          "\"tools\"?)",
                          "catalog[0].capabilities[2]: unknown capability \"3\" (known: tools, "
                          "parallel_tool_calls, vision, json_object, json_schema, logprobs, "
                          "multiple_choices, reasoning)",
                          "catalog[1].target: unknown provider \"nope\"",
                          "catalog[1].capabilities[0]: unknown capability \"json\" (known: tools, "
                          "parallel_tool_calls, vision, json_object, json_schema, logprobs, "
                          "multiple_choices, reasoning)",
                          "catalog[2].target: duplicate target \"s/m\""));
}

TEST(ProcessEnv, ReadsTheProcessEnvironment) {
  ::setenv("SY_CONFIG_TEST_VARIABLE", "value-1", 1);
  const EnvLookup env = process_env();
  EXPECT_EQ(env("SY_CONFIG_TEST_VARIABLE"), "value-1");
  ::unsetenv("SY_CONFIG_TEST_VARIABLE");
  EXPECT_EQ(env("SY_CONFIG_TEST_VARIABLE"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Files and examples

TEST(LoadConfigFile, MissingFileIsOneErrorNamingIt) {
  const std::string path = fixture("does-not-exist.yaml");
  const LoadResult r = load_config_file(path, kNoEnv);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].text(),
            "cannot read config file \"" + path + "\": No such file or directory");

  const LoadResult dir = load_config_file(fixture(""), kNoEnv);
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_THAT(dir.errors[0].text(), HasSubstr("is a directory"));
}

TEST(Examples, QuickstartWithoutKeyFallsBackToTheSimulator) {
  const LoadResult r = load_config_file(example("quickstart.yaml"), kNoEnv);
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(
      texts(r.warnings),
      ElementsAre("providers.openai: disabled: environment variable OPENAI_API_KEY is not set"));
  const Config& c = *r.config;
  EXPECT_FALSE(c.find_provider("openai")->enabled);
  EXPECT_TRUE(c.find_provider("sim")->enabled);
  EXPECT_EQ(c.find_provider("sim")->simulator.ttft, 20ms);
  EXPECT_EQ(c.find_provider("sim")->simulator.token_delay, 5ms);
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].name, "chat");
  ASSERT_EQ(c.routes[0].core.size(), 1u);
  EXPECT_EQ(c.routes[0].core[0].text(), "openai/gpt-4o-mini");
  ASSERT_EQ(c.routes[0].fallback.size(), 1u);
  EXPECT_EQ(c.routes[0].fallback[0].text(), "sim/sim-1");
}

TEST(Examples, QuickstartWithKeyEnablesOpenAi) {
  const LoadResult r =
      load_config_file(example("quickstart.yaml"), env_of({{"OPENAI_API_KEY", "sk-test"}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  EXPECT_TRUE(r.config->find_provider("openai")->enabled);
  EXPECT_EQ(r.config->find_provider("openai")->api_key, "sk-test");
}

TEST(Examples, FullLoads) {
  const LoadResult r =
      load_config_file(example("full.yaml"), env_of({{"OPENAI_API_KEY", "sk-test"},
                                                     {"ANTHROPIC_API_KEY", "sk-ant-test"},
                                                     {"GEMINI_API_KEY", "AIza-test"},
                                                     {"AZURE_OPENAI_API_KEY", "az-test"},
                                                     {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                     {"AWS_SECRET_ACCESS_KEY", "secret"}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(texts(r.warnings), IsEmpty());
  const Config& c = *r.config;
  EXPECT_EQ(c.providers.size(), 7u);
  for (const ProviderConfig& p : c.providers) {
    EXPECT_TRUE(p.enabled) << p.name;
  }
  EXPECT_EQ(c.find_provider("bedrock")->base_url,
            "https://bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(c.find_provider("azure-eu")->api_version, "2024-10-21");
  EXPECT_FALSE(c.catalog.empty());
  EXPECT_EQ(c.find_provider("openai")->headers.at("OpenAI-Organization"), "org-example");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[1].core[1].model, "meta-llama/Llama-3.1-8B");
  EXPECT_EQ(c.routes[1].timeouts.total, 300s);
  EXPECT_EQ(c.routes[1].limits, (RateLimits{5000, 2000000, 500}));
  ASSERT_EQ(c.tenants.size(), 2u);
  EXPECT_EQ(c.tenants[0].budget, (Budget{50'000'000, 1'000'000'000}));
  EXPECT_TRUE(c.tenants[0].policy.enforce);
  EXPECT_THAT(c.tenants[1].policy.providers, ElementsAre("openai", "sim"));
}

TEST(Examples, FullWithOnlyTheOpenAiKeyDisablesTheOthers) {
  const LoadResult r =
      load_config_file(example("full.yaml"), env_of({{"OPENAI_API_KEY", "sk-test"}}));
  ASSERT_THAT(texts(r.errors), IsEmpty());
  EXPECT_THAT(
      texts(r.warnings),
      ElementsAre(
          "providers.claude: disabled: environment variable ANTHROPIC_API_KEY is not set",
          "providers.gemini: disabled: environment variable GEMINI_API_KEY is not set",
          "providers.azure-eu: disabled: environment variable AZURE_OPENAI_API_KEY is not set",
          "providers.bedrock: disabled: no AWS credentials (set AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY, or api_key)"));
}

// ---------------------------------------------------------------------------------------------
// Value parsers

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("250ms").value, 250ms);
  EXPECT_EQ(parse_duration("2s").value, 2s);
  EXPECT_EQ(parse_duration("1m").value, 1min);
  EXPECT_EQ(parse_duration("1h").value, 1h);
  EXPECT_EQ(parse_duration("1500").value, 1500ms);  // bare integer = milliseconds
  EXPECT_EQ(parse_duration("0").value, 0ms);
  EXPECT_EQ(parse_duration("007s").value, 7s);
  for (const char* bad : {"", "s", "ms", "1.5s", "-1s", "+1s", "2 s", " 2s", "1d", "2S", "1sec",
                          "1e3", "99999999999999999999", "9999999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_duration("9999999999999999h").error,
            "duration \"9999999999999999h\" is too large");
}

TEST(ParseSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(parse_size("1000").value, 1000u);
  EXPECT_EQ(parse_size("100B").value, 100u);
  EXPECT_EQ(parse_size("512KiB").value, 512u * 1024);
  EXPECT_EQ(parse_size("8MiB").value, 8u << 20);
  EXPECT_EQ(parse_size("1GiB").value, 1u << 30);
  EXPECT_EQ(parse_size("8KB").value, 8'000u);
  EXPECT_EQ(parse_size("8MB").value, 8'000'000u);
  EXPECT_EQ(parse_size("2GB").value, 2'000'000'000u);
  EXPECT_EQ(parse_size("0").value, 0u);
  for (const char* bad : {"", "MiB", "8mib", "8 MiB", "1.5MiB", "-1", "8TiB", "8K", "8k",
                          "99999999999999999999999", "99999999999GiB"}) {
    EXPECT_FALSE(parse_size(bad).ok()) << bad;
  }
}

TEST(ParseListen, HostsAndPorts) {
  const auto v4 = parse_listen("0.0.0.0:0");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value.host, "0.0.0.0");
  EXPECT_EQ(v4.value.port, 0);
  const auto v6 = parse_listen("[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value.host, "::1");
  EXPECT_EQ(v6.value.port, 8080);
  EXPECT_EQ(parse_listen("localhost:65535").value.port, 65535);
  for (const char* bad : {"", ":80", "h:", "h", "h:-1", "h:65536", "h:8o", "[::1]", "[::1]80",
                          "[::1:80", "[]:80", "::1:80", "a b:80"}) {
    EXPECT_FALSE(parse_listen(bad).ok()) << bad;
  }
}

TEST(ParseBaseUrl, SchemesHostsAndTrailingSlash) {
  EXPECT_EQ(parse_base_url("https://api.example.com/v1/").value, "https://api.example.com/v1");
  EXPECT_EQ(parse_base_url("http://h/v1//").value, "http://h/v1/");  // only one '/' removed
  EXPECT_EQ(parse_base_url("http://127.0.0.1:8000").value, "http://127.0.0.1:8000");
  EXPECT_EQ(parse_base_url("https://h/").value, "https://h");
  EXPECT_EQ(parse_base_url("HTTPS://h").value, "HTTPS://h");
  for (const char* bad : {"", "h/v1", "ftp://h", "http://", "https:///v1", "http://:80/v1",
                          "http://h /v1", "https//h"}) {
    EXPECT_FALSE(parse_base_url(bad).ok()) << bad;
  }
}

TEST(ParseScalars, NumbersAndBooleans) {
  EXPECT_EQ(parse_uint("42").value, 42u);
  EXPECT_FALSE(parse_uint("-1").ok());
  EXPECT_FALSE(parse_uint("1.0").ok());
  EXPECT_FALSE(parse_uint("18446744073709551616").ok());
  EXPECT_DOUBLE_EQ(parse_number("0.25").value, 0.25);
  EXPECT_DOUBLE_EQ(parse_number("1e-3").value, 0.001);
  EXPECT_DOUBLE_EQ(parse_number("+1").value, 1.0);
  for (const char* bad : {"", "abc", "0.5x", "nan", "inf", ".inf"}) {
    EXPECT_FALSE(parse_number(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse_bool("True").value);
  EXPECT_FALSE(parse_bool("false").value);
  EXPECT_FALSE(parse_bool("yes").ok());
}

TEST(DidYouMean, EditDistance) {
  EXPECT_EQ(edit_distance("timeout", "timeouts"), 1u);
  EXPECT_EQ(edit_distance("wieght", "weight"), 1u);  // a transposition counts once
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(closest_key("listn", {"listen", "workers"}), "listen");
  EXPECT_EQ(closest_key("zzz", {"listen", "workers"}), "");
  EXPECT_EQ(closest_key("x", {"id"}), "");  // too short to guess from
}

}  // namespace
}  // namespace sy::config

namespace sy::config {
namespace {

TEST(LoadConfig, LedgerCanBeOffAndTheWriterIsTunable) {
  auto r = load_config_string(
      "storage: {ledger: \"off\", flush_interval: 250ms, queue_capacity: 50, batch_size: 10}\n",
      [](std::string_view) { return std::optional<std::string>(); });
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().text();
  EXPECT_FALSE(r.config->storage.ledger_enabled());
  EXPECT_EQ(r.config->storage.flush_interval, Duration(250));
  EXPECT_EQ(r.config->storage.queue_capacity, 50u);
  EXPECT_EQ(r.config->storage.batch_size, 10u);
  auto d = load_config_string("{}", [](std::string_view) { return std::optional<std::string>(); });
  ASSERT_TRUE(d.config.has_value());
  EXPECT_TRUE(d.config->storage.ledger_enabled());
  EXPECT_EQ(d.config->storage.flush_interval, Duration(100));
  auto bad = load_config_string("storage: {queue_capacity: 0}",
                                [](std::string_view) { return std::optional<std::string>(); });
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].path, "storage.queue_capacity");
}

}  // namespace
}  // namespace sy::config
