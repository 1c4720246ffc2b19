// The Azure OpenAI outbound adapter against the recorded azure-chat-basic exchange
// (shared/fixtures/azure), the AzureOpenAI SDK's request (shared/fixtures/sdk-requests/azure)
// and synthetic content-filter / error replies (tests/fixtures/providers/azure, see its README).

#include "providers/azure.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/schema.h"
#include "ir/debug_json.h"
#include "providers/openai.h"

namespace sy::providers {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kShared = SY_FIXTURES_DIR;
const fs::path kOwn = fs::path(SY_TEST_FIXTURES_DIR) / "providers" / "azure";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_azure_golden(const fs::path& golden, const std::string& actual) {
  const char* update = std::getenv("SY_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << "missing golden " << golden
                                  << " (generate with SY_UPDATE_GOLDENS=1, then review it)";
  EXPECT_EQ(read_text(golden), actual) << golden;
}

config::ProviderConfig azure_provider(const std::string& api_version) {
  config::ProviderConfig p;
  p.name = "azure-eu";
  p.type = "azure-openai";
  p.api_version = api_version;
  return p;
}

UpstreamReply reply_from(unsigned status, const fs::path& body) {
  UpstreamReply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = read_text(body);
  return r;
}

// The recorded request: same body (the recording has exactly the SDK's two members, so plain
// JSON equality, no tolerance), and the recorded deployment path and api-version query.
TEST(AzureEncode, ChatBasicMatchesRecording) {
  const json::value meta = json::parse(read_text(kShared / "azure" / "azure-chat-basic.meta.json"));
  const std::string url(meta.at("url").as_string());
  const std::string recorded_path = url.substr(url.find("/openai/"));
  const std::string api_version(meta.at("query").at("api-version").at(0).as_string());
  const std::string deployment = "gpt-5-nano";  // the X-Ms-Deployment-Name of the recording
  ASSERT_EQ(recorded_path, "/openai/deployments/" + deployment + "/chat/completions");

  const config::ProviderConfig provider = azure_provider(api_version);
  const ir::ChatRequest req = ir::request_from_json(
      json::parse(read_text(kOwn / "encode" / "azure-chat-basic.ir.json")));
  const auto r = azure_adapter().encode(req, Target{&provider, deployment});
  ASSERT_TRUE(r) << r.error().public_message;
  EXPECT_EQ(r->path, recorded_path + "?api-version=" + api_version);
  EXPECT_EQ(json::parse(r->body),
            json::parse(read_text(kShared / "azure" / "azure-chat-basic.request.json")));
  EXPECT_FALSE(r->stream);
}

// What the official AzureOpenAI client puts on the wire for deployment "my-gpt4o".
TEST(AzureEncode, PathMatchesTheSdk) {
  const json::value sdk =
      json::parse(read_text(kShared / "sdk-requests" / "azure" / "azure.chat.nonstream.json"));
  const config::ProviderConfig provider = azure_provider("2024-10-21");
  const ir::ChatRequest req = ir::request_from_json(
      json::parse(read_text(kOwn / "encode" / "azure-chat-basic.ir.json")));
  const auto r = azure_adapter().encode(req, Target{&provider, "my-gpt4o"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, sdk.at("request").at("raw_url").as_string());
  // The SDK keeps "model" in the body although Azure routes by deployment; so do we.
  EXPECT_EQ(json::parse(r->body).at("model"), "my-gpt4o");
}

TEST(AzureEncode, DeploymentAndVersionArePercentEncoded) {
  EXPECT_EQ(azure_chat_path("my gpt/4o:eu", "2024-10-21"),
            "/openai/deployments/my%20gpt%2F4o%3Aeu/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(azure_chat_path("gpt-4o_mini.v2~x", "2025-04-01-preview&x=1"),
            "/openai/deployments/gpt-4o_mini.v2~x/chat/completions"
            "?api-version=2025-04-01-preview%26x%3D1");
}

// The body is the OpenAI encoder's, with OpenAI's choices (max_completion_tokens, no reasoning
// history, stream_options).
TEST(AzureEncode, SameBodyAsOpenAi) {
  const fs::path ir_path =
      fs::path(SY_TEST_FIXTURES_DIR) / "providers" / "openai" / "encode" / "agent-turn.ir.json";
  const ir::ChatRequest req = ir::request_from_json(json::parse(read_text(ir_path)));
  const config::ProviderConfig azure = azure_provider("2024-10-21");
  config::ProviderConfig openai;
  openai.type = "openai";
  const auto a = azure_adapter().encode(req, Target{&azure, "gpt-4o"});
  const auto o = openai_adapter().encode(req, Target{&openai, "gpt-4o"});
  ASSERT_TRUE(a);
  ASSERT_TRUE(o);
  EXPECT_EQ(a->body, o->body);
  EXPECT_TRUE(a->stream);
  EXPECT_EQ(a->headers, (Headers{{"accept", "text/event-stream"}}));
}

// prompt_filter_results / content_filter_results are ignored; finish_reason content_filter is
// FinishReason::ContentFilter.
TEST(AzureDecode, RecordedAndContentFilter) {
  const auto basic =
      azure_adapter().decode(reply_from(200, kShared / "azure" / "azure-chat-basic.response.json"));
  ASSERT_TRUE(basic) << basic.error().detail;
  expect_azure_golden(kOwn / "decode" / "azure-chat-basic.expected.json",
                      ir::pretty(ir::to_json(*basic)));
  EXPECT_EQ(basic->usage.input_tokens, 8);
  EXPECT_EQ(basic->usage.output_tokens, 271);
  EXPECT_EQ(basic->usage.reasoning_tokens, 192);

  const auto filtered = azure_adapter().decode(
      reply_from(200, kOwn / "decode" / "content-filter-finish.response.json"));
  ASSERT_TRUE(filtered);
  expect_azure_golden(kOwn / "decode" / "content-filter-finish.expected.json",
                      ir::pretty(ir::to_json(*filtered)));
  EXPECT_EQ(filtered->finish, ir::FinishReason::ContentFilter);
  EXPECT_EQ(filtered->finish_raw, "content_filter");
}

TEST(AzureMapError, FilteredPromptIsInvalidRequest) {
  const Error e = azure_adapter().map_error(
      reply_from(400, kOwn / "errors" / "content-filter-prompt.error.json"));
  EXPECT_EQ(e.kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(e.code, "content_filter");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "prompt");
  EXPECT_TRUE(e.public_message.starts_with("The response was filtered"));
  EXPECT_TRUE(e.detail.starts_with("azure-openai upstream HTTP 400")) << e.detail;
}

TEST(AzureMapError, RateLimitAndAuth) {
  UpstreamReply limited = reply_from(429, kOwn / "errors" / "rate-limited.error.json");
  limited.retry_after = "6";
  const Error e = azure_adapter().map_error(limited);
  EXPECT_EQ(e.kind, ErrorKind::RateLimited);
  EXPECT_EQ(e.retry_after, "6");
  EXPECT_EQ(e.code, "429");  // Azure writes the code as a string of the status

  const Error auth =
      azure_adapter().map_error(reply_from(401, kOwn / "errors" / "auth-failed.error.json"));
  EXPECT_EQ(auth.kind, ErrorKind::UpstreamAuth);
  EXPECT_EQ(auth.public_message.find("subscription key"), std::string::npos);
}

// Azure streams OpenAI's chunks (plus filter results, ignored): the same decoder.
TEST(AzureStream, SameEventsAsOpenAi) {
  const std::string bytes = read_text(kShared / "openai" / "chat-streaming.response.sse");
  std::vector<ir::StreamEvent> a;
  std::vector<ir::StreamEvent> o;
  auto ad = azure_adapter().stream_decoder(ir::ChatRequest{});
  auto od = openai_adapter().stream_decoder(ir::ChatRequest{});
  ASSERT_TRUE(ad->feed(bytes, a));
  ASSERT_TRUE(ad->finish(a));
  ASSERT_TRUE(od->feed(bytes, o));
  ASSERT_TRUE(od->finish(o));
  EXPECT_EQ(ir::events_to_jsonl(a), ir::events_to_jsonl(o));
}

TEST(AzureAdapter, TypeAndCapabilities) {
  EXPECT_EQ(azure_adapter().type(), "azure-openai");
  const config::ProviderConfig provider = azure_provider("2024-10-21");
  const ir::Capabilities c = azure_adapter().capabilities(Target{&provider, "gpt-4o"});
  const ir::Capabilities o = openai_capabilities();
  EXPECT_TRUE(c.tools == o.tools && c.parallel_tool_calls == o.parallel_tool_calls &&
              c.vision == o.vision && c.json_object == o.json_object &&
              c.json_schema == o.json_schema && c.logprobs == o.logprobs &&
              c.multiple_choices == o.multiple_choices && c.reasoning == o.reasoning);
  EXPECT_TRUE(c.reasoning);
}

}  // namespace
}  // namespace sy::providers
