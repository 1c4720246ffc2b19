// Gemini adapter conformance: the recorded Gemini API traffic in ../shared/fixtures/gemini and
// the @google/genai captures in ../shared/fixtures/sdk-requests/gemini, plus hand-written cases
// in tests/fixtures/providers/gemini/synthetic (see the README there). Goldens are regenerated
// with SY_UPDATE_GOLDENS=1 and must be read before they are committed.

#include "providers/gemini.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "ir/debug_json.h"

namespace sy::providers {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const fs::path kShared = fs::path(SY_FIXTURES_DIR) / "gemini";
const fs::path kSdk = fs::path(SY_FIXTURES_DIR) / "sdk-requests" / "gemini";
const fs::path kLocal = fs::path(SY_TEST_FIXTURES_DIR) / "providers" / "gemini";
const fs::path kSynthetic = kLocal / "synthetic";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value read_json(const fs::path& p) { return json::parse(read_file(p)); }

bool updating_goldens() {
  const char* v = std::getenv("SY_UPDATE_GOLDENS");
  return v != nullptr && std::string(v) == "1";
}

void check_golden(const fs::path& golden, const std::string& actual) {
  if (updating_goldens()) {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing (SY_UPDATE_GOLDENS=1 writes it)";
  EXPECT_EQ(read_file(golden), actual) << "golden " << golden;
}

// Files in `dir` whose names end in `suffix`, sorted.
std::vector<fs::path> files_ending(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(suffix)) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string strip_suffix(const fs::path& p, std::string_view suffix) {
  std::string name = p.filename().string();
  return name.substr(0, name.size() - suffix.size());
}

std::string test_name(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return s;
}

Target target_for(std::string model) {
  static const config::ProviderConfig provider = [] {
    config::ProviderConfig p;
    p.name = "gemini";
    p.type = "gemini";
    p.base_url = std::string(kGeminiDefaultBaseUrl);
    return p;
  }();
  return Target{&provider, std::move(model)};
}

// ---------------------------------------------------------------------------------------------
// Encode: an IR input on disk -> the body the real client sent, compared as JSON values.
//
// Tolerated differences, removed from the recorded body before comparing (each is something the
// IR does not carry or a spelling Gemini treats the same way):
//  - "generationConfig": {} and "responseModalities": ["TEXT"] (the default for text models);
//  - "systemInstruction.role" (Gemini ignores a role there);
//  - "description": "" on a function declaration (we omit empty descriptions);
//  - "parameters_json_schema" (proto field name) is "parametersJsonSchema" (JSON name), and the
//    older "parameters" (OpenAPI subset, upper-case "OBJECT"/"STRING") is plain JSON Schema in
//    "parametersJsonSchema" (the IR holds JSON Schema);
//  - mode ANY with "allowedFunctionNames" listing every declared function is mode ANY alone.

void lower_types(json::value& schema) {
  if (schema.is_object()) {
    for (auto& kv : schema.get_object()) {
      if (kv.key() == "type" && kv.value().is_string()) {
        std::string t(kv.value().get_string());
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) {
          return static_cast<char>(std::tolower(c));
        });
        kv.value() = t;
      } else {
        lower_types(kv.value());
      }
    }
  } else if (schema.is_array()) {
    for (auto& e : schema.get_array()) {
      lower_types(e);
    }
  }
}

json::value normalize_recorded(json::value body) {
  auto& o = body.get_object();
  if (auto* gc = o.if_contains("generationConfig")) {
    auto& g = gc->get_object();
    if (auto* m = g.if_contains("responseModalities");
        m != nullptr && *m == json::array{json::string("TEXT")}) {
      g.erase("responseModalities");
    }
    if (g.empty()) {
      o.erase("generationConfig");
    }
  }
  if (auto* si = o.if_contains("systemInstruction")) {
    si->get_object().erase("role");
  }
  std::vector<std::string> declared;
  if (auto* tools = o.if_contains("tools")) {
    for (auto& t : tools->get_array()) {
      for (auto& d : t.get_object().at("functionDeclarations").get_array()) {
        auto& decl = d.get_object();
        declared.emplace_back(decl.at("name").get_string());
        if (auto* desc = decl.if_contains("description"); desc && *desc == json::string("")) {
          decl.erase("description");
        }
        if (auto* p = decl.if_contains("parameters_json_schema")) {
          json::value schema = *p;
          decl.erase("parameters_json_schema");
          decl["parametersJsonSchema"] = std::move(schema);
        }
        if (auto* p = decl.if_contains("parameters")) {
          json::value schema = *p;
          lower_types(schema);
          decl.erase("parameters");
          decl["parametersJsonSchema"] = std::move(schema);
        }
      }
    }
  }
  if (auto* tc = o.if_contains("toolConfig")) {
    auto& fcc = tc->get_object().at("functionCallingConfig").get_object();
    if (auto* names = fcc.if_contains("allowedFunctionNames"); names && fcc.at("mode") == "ANY") {
      std::vector<std::string> allowed;
      for (const auto& n : names->get_array()) {
        allowed.emplace_back(n.get_string());
      }
      std::sort(allowed.begin(), allowed.end());
      std::sort(declared.begin(), declared.end());
      if (allowed == declared) {
        fcc.erase("allowedFunctionNames");
      }
    }
  }
  return body;
}

struct EncodeCase {
  std::string name;
  fs::path input;            // IR request (ir::request_from_json form)
  std::string model;         // upstream model id
  std::string path;          // expected request path (with query)
  json::value recorded_body;  // what the client sent
};

std::vector<EncodeCase> encode_cases() {
  std::vector<EncodeCase> cases;
  const std::string host(kGeminiDefaultBaseUrl);
  for (const auto& req : files_ending(kShared, ".request.json")) {
    const std::string base = strip_suffix(req, ".request.json");
    const auto meta = read_json(kShared / (base + ".meta.json"));
    std::string url(meta.at("url").as_string());
    std::string path = url.substr(host.size());
    const auto from = path.find("/models/") + 8;
    cases.push_back({base, kLocal / (base + ".input.json"),
                     path.substr(from, path.find(':') - from), path, read_json(req)});
  }
  for (const auto& cap : files_ending(kSdk, ".json")) {
    const auto doc = read_json(cap);
    const auto& r = doc.at("request");
    std::string path(r.at("raw_url").as_string());
    const auto from = path.find("/models/") + 8;
    const std::string base = strip_suffix(cap, ".json");
    cases.push_back({base, kLocal / (base + ".input.json"),
                     path.substr(from, path.find(':') - from), path,
                     json::parse(r.at("body_raw").as_string())});
  }
  return cases;
}

class GeminiEncodeTest : public ::testing::TestWithParam<EncodeCase> {};

TEST_P(GeminiEncodeTest, MatchesRecordedRequest) {
  const EncodeCase& c = GetParam();
  ASSERT_TRUE(fs::exists(c.input)) << c.input;
  const ir::ChatRequest req = ir::request_from_json(read_json(c.input));
  auto out = gemini_adapter().encode(req, target_for(c.model));
  ASSERT_TRUE(out.has_value()) << out.error().public_message;
  EXPECT_EQ(out->path, c.path);
  EXPECT_EQ(out->stream, req.stream);
  const json::value actual = json::parse(out->body);
  const json::value expected = normalize_recorded(c.recorded_body);
  EXPECT_EQ(actual, expected) << "encoded:\n"
                              << ir::pretty(actual) << "recorded (normalized):\n"
                              << ir::pretty(expected);
}

INSTANTIATE_TEST_SUITE_P(Recorded, GeminiEncodeTest, ::testing::ValuesIn(encode_cases()),
                         [](const auto& p) { return test_name(p.param.name); });

// Every request feature at once; the golden was checked by hand against
// https://ai.google.dev/api/generate-content.
TEST(GeminiEncode, AllFeaturesGolden) {
  const ir::ChatRequest req =
      ir::request_from_json(read_json(kSynthetic / "encode-features.input.json"));
  auto out = gemini_adapter().encode(req, target_for("gemini-2.5-pro"));
  ASSERT_TRUE(out.has_value()) << out.error().public_message;
  EXPECT_EQ(out->path, "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  EXPECT_EQ(out->headers, (Headers{{"content-type", "application/json"}}));
  check_golden(kSynthetic / "encode-features.request.json", ir::pretty(json::parse(out->body)));
  // Numbers are written as decimals, not Boost.JSON's exponent form.
  EXPECT_NE(out->body.find("\"temperature\":0.7"), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("\"days\":2.5"), std::string::npos) << out->body;
}

TEST(GeminiEncode, ModelResourceNamesAndEscaping) {
  ir::ChatRequest req;
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"hi"}}, {}});
  EXPECT_EQ(gemini_adapter().encode(req, target_for("models/gemini-2.5-flash"))->path,
            "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(gemini_adapter().encode(req, target_for("tunedModels/my-model"))->path,
            "/v1beta/tunedModels/my-model:generateContent");
  EXPECT_EQ(gemini_adapter().encode(req, target_for("a b?"))->path,
            "/v1beta/models/a%20b%3F:generateContent");
  EXPECT_FALSE(gemini_adapter().encode(req, target_for("")).has_value());
}

TEST(GeminiEncode, RejectsWhatGeminiCannotTake) {
  ir::ChatRequest orphan;
  orphan.messages.push_back(
      ir::Message{ir::Role::Tool, {ir::ToolResultPart{"call_x", "42", false}}, {}});
  auto r = gemini_adapter().encode(orphan, target_for("m"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidRequest);
  EXPECT_EQ(r.error().param, "messages[0].content[0].tool_call_id");

  ir::ChatRequest bad_args;
  bad_args.messages.push_back(
      ir::Message{ir::Role::Assistant, {ir::ToolCallPart{"c1", "f", "[1]", ""}}, {}});
  r = gemini_adapter().encode(bad_args, target_for("m"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().param, "messages[0].content[0].arguments");

  ir::ChatRequest bad_schema;
  bad_schema.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"hi"}}, {}});
  bad_schema.tools.push_back(ir::Tool{"f", "", "not json", false});
  r = gemini_adapter().encode(bad_schema, target_for("m"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().param, "tools[0].parameters");
}

// ---------------------------------------------------------------------------------------------
// Decode: every recorded (and synthetic) response body -> golden IR JSON.

struct FileCase {
  std::string name;
  fs::path file;
  fs::path golden;
};

std::vector<FileCase> file_cases(std::string_view suffix, std::string_view golden_suffix) {
  std::vector<FileCase> cases;
  for (const auto& [dir, prefix] : {std::pair{kShared, ""}, std::pair{kSynthetic, "synthetic_"}}) {
    const fs::path golden_dir = dir == kShared ? kLocal : kSynthetic;
    for (const auto& f : files_ending(dir, suffix)) {
      const std::string base = strip_suffix(f, suffix);
      cases.push_back({std::string(prefix) + base, f,
                       golden_dir / (base + std::string(golden_suffix))});
    }
  }
  return cases;
}

class GeminiDecodeTest : public ::testing::TestWithParam<FileCase> {};

TEST_P(GeminiDecodeTest, MatchesGolden) {
  const FileCase& c = GetParam();
  auto r = gemini_adapter().decode(UpstreamReply{200, "application/json", read_file(c.file), {}});
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  check_golden(c.golden, ir::pretty(ir::to_json(*r)));
}

INSTANTIATE_TEST_SUITE_P(Recorded, GeminiDecodeTest,
                         ::testing::ValuesIn(file_cases(".response.json", ".expected.json")),
                         [](const auto& p) { return test_name(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Stream: every SSE fixture whole, in 1-byte and in 7-byte pieces gives the same events.

std::vector<ir::StreamEvent> run_stream(const std::string& bytes, std::size_t chunk) {
  auto dec = gemini_adapter().stream_decoder(ir::ChatRequest{});
  std::vector<ir::StreamEvent> out;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    auto r = dec->feed(std::string_view(bytes).substr(i, chunk), out);
    EXPECT_TRUE(r.has_value()) << r.error().detail;
  }
  EXPECT_TRUE(dec->finish(out).has_value());
  return out;
}

class GeminiStreamTest : public ::testing::TestWithParam<FileCase> {};

TEST_P(GeminiStreamTest, AnySplitGivesTheGoldenEvents) {
  const FileCase& c = GetParam();
  const std::string bytes = read_file(c.file);
  const auto whole = ir::events_to_jsonl(run_stream(bytes, bytes.size()));
  EXPECT_EQ(ir::events_to_jsonl(run_stream(bytes, 1)), whole);
  EXPECT_EQ(ir::events_to_jsonl(run_stream(bytes, 7)), whole);
  check_golden(c.golden, whole);
}

TEST_P(GeminiStreamTest, ShapeAndCumulativeUsage) {
  const FileCase& c = GetParam();
  const std::string bytes = read_file(c.file);
  const auto events = run_stream(bytes, 7);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().type, ir::StreamEvent::Type::Start);
  const auto finishes = std::count_if(events.begin(), events.end(), [](const auto& e) {
    return e.type == ir::StreamEvent::Type::Finish;
  });
  EXPECT_LE(finishes, 1);

  // The last usageMetadata of the stream, read here independently: the last Usage event must
  // carry exactly its numbers (usage is cumulative, not a sum of deltas).
  std::optional<json::object> last_meta;
  std::istringstream lines(bytes);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("data: ")) {
      auto v = json::parse(line.substr(6));
      if (auto* m = v.as_object().if_contains("usageMetadata")) {
        last_meta = m->as_object();
      }
    }
  }
  const auto last_usage = std::find_if(events.rbegin(), events.rend(), [](const auto& e) {
    return e.type == ir::StreamEvent::Type::Usage;
  });
  if (!last_meta) {
    EXPECT_EQ(last_usage, events.rend());
    return;
  }
  ASSERT_NE(last_usage, events.rend());
  const auto count = [&](const char* k) -> std::int64_t {
    const auto* v = last_meta->if_contains(k);
    return v != nullptr ? v->to_number<std::int64_t>() : 0;
  };
  EXPECT_EQ(last_usage->usage.input_tokens, count("promptTokenCount"));
  if (last_meta->contains("candidatesTokenCount") || last_meta->contains("thoughtsTokenCount")) {
    EXPECT_EQ(last_usage->usage.output_tokens,
              count("candidatesTokenCount") + count("thoughtsTokenCount"));
  }
  if (last_meta->contains("thoughtsTokenCount")) {
    EXPECT_EQ(last_usage->usage.reasoning_tokens, count("thoughtsTokenCount"));
  }
}

INSTANTIATE_TEST_SUITE_P(Recorded, GeminiStreamTest,
                         ::testing::ValuesIn(file_cases(".response.sse", ".expected.jsonl")),
                         [](const auto& p) { return test_name(p.param.name); });

// Usage is live: the mid-stream fixture's usage grows chunk by chunk and each change is an
// event before the answer ends.
TEST(GeminiStream, UsageIsReportedMidStream) {
  const auto events = run_stream(read_file(kShared / "stream-usage-mid-stream.response.sse"), 7);
  std::vector<std::int64_t> outputs;
  for (const auto& e : events) {
    if (e.type == ir::StreamEvent::Type::Usage) {
      outputs.push_back(e.usage.output_tokens.value_or(-1));
    }
  }
  EXPECT_EQ(outputs, (std::vector<std::int64_t>{66, 114, 115}));  // candidates + 35 thoughts
}

// ---------------------------------------------------------------------------------------------
// thoughtSignature round trip: what Gemini sent comes back on the functionCall part.

// The assistant message a client builds from the streamed events.
ir::Message assistant_from(const std::vector<ir::StreamEvent>& events) {
  ir::Message m;
  m.role = ir::Role::Assistant;
  for (const auto& e : events) {
    if (e.type == ir::StreamEvent::Type::TextDelta) {
      m.content.emplace_back(ir::TextPart{e.text});
    } else if (e.type == ir::StreamEvent::Type::ToolCallStart) {
      m.content.emplace_back(ir::ToolCallPart{e.id, e.name, "", e.signature});
    } else if (e.type == ir::StreamEvent::Type::ToolCallDelta) {
      std::get<ir::ToolCallPart>(m.content.back()).arguments += e.text;
    }
  }
  return m;
}

TEST(GeminiSignature, DecodedCallGoesBackWithItsSignature) {
  auto resp = gemini_adapter().decode(UpstreamReply{
      200, "application/json",
      read_file(kShared / "generate-function-call-thought-signature.response.json"), {}});
  ASSERT_TRUE(resp.has_value());
  ASSERT_EQ(resp->content.size(), 1u);
  const auto call = std::get<ir::ToolCallPart>(resp->content[0]);
  ASSERT_FALSE(call.signature.empty());

  ir::ChatRequest req;
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"Weather in SF?"}}, {}});
  req.messages.push_back(ir::Message{ir::Role::Assistant, resp->content, {}});
  req.messages.push_back(
      ir::Message{ir::Role::Tool, {ir::ToolResultPart{call.id, "sunny", false}}, {}});
  auto out = gemini_adapter().encode(req, target_for("gemini-3-pro-preview"));
  ASSERT_TRUE(out.has_value());
  const auto body = json::parse(out->body);
  const auto& contents = body.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  const auto& part = contents[1].at("parts").at(0).as_object();
  EXPECT_EQ(part.at("thoughtSignature"), json::string(call.signature));
  EXPECT_EQ(part.at("functionCall").at("name"), "weather");
  EXPECT_EQ(part.at("functionCall").at("args"), json::parse(R"({"location":"San Francisco"})"));
  const auto& fr = contents[2].at("parts").at(0).at("functionResponse");
  EXPECT_EQ(fr.at("name"), "weather");
  EXPECT_EQ(fr.at("id"), json::string(call.id));
  EXPECT_EQ(fr.at("response"), json::parse(R"({"result":"sunny"})"));
}

// The whole multi-turn loop against the real client's second request: stream turn 1, rebuild
// the assistant message from our events, encode turn 2, compare with what pydantic-ai sent.
// Beyond the encode tolerances, two differences are expected: the call id (the client invented
// its own, we synthesize ours) and the signature's base64 alphabet (the client re-encoded the
// bytes URL-safe; we return Gemini's own standard-alphabet text, and proto3 JSON accepts both,
// https://protobuf.dev/programming-guides/json/).
TEST(GeminiSignature, StreamedCallRoundTripsLikeTheRealClient) {
  const auto events =
      run_stream(read_file(kShared / "stream-function-call-thought-signature.1.response.sse"), 7);
  const ir::Message assistant = assistant_from(events);
  ASSERT_EQ(assistant.content.size(), 1u);
  const auto call = std::get<ir::ToolCallPart>(assistant.content[0]);
  EXPECT_EQ(call.arguments, "{}");

  ir::ChatRequest req = ir::request_from_json(
      read_json(kLocal / "stream-function-call-thought-signature.1.input.json"));
  req.messages.push_back(assistant);
  req.messages.push_back(ir::Message{
      ir::Role::Tool, {ir::ToolResultPart{call.id, R"({"return_value":"Mexico"})", false}}, {}});
  auto out = gemini_adapter().encode(req, target_for("gemini-3-pro-preview"));
  ASSERT_TRUE(out.has_value());

  json::value expected = normalize_recorded(
      read_json(kShared / "stream-function-call-thought-signature.2.request.json"));
  auto& contents = expected.at("contents").as_array();
  auto& model_part = contents[1].at("parts").at(0).as_object();
  model_part.at("functionCall").as_object()["id"] = call.id;
  std::string sig(model_part.at("thoughtSignature").as_string());
  std::replace(sig.begin(), sig.end(), '-', '+');
  std::replace(sig.begin(), sig.end(), '_', '/');
  model_part["thoughtSignature"] = sig;
  contents[2].at("parts").at(0).at("functionResponse").as_object()["id"] = call.id;
  EXPECT_EQ(sig, call.signature);
  const auto actual = json::parse(out->body);
  EXPECT_EQ(actual, expected) << ir::pretty(actual) << ir::pretty(expected);
}

// A text part's signature survives decode -> encode on the same text part.
TEST(GeminiSignature, TextPartSignatureRoundTrips) {
  auto resp = gemini_adapter().decode(UpstreamReply{
      200, "application/json",
      read_file(kSynthetic / "generate-thinking-text-signature.response.json"), {}});
  ASSERT_TRUE(resp.has_value());
  ir::ChatRequest req;
  req.messages.push_back(ir::Message{ir::Role::User, {ir::TextPart{"Capital?"}}, {}});
  req.messages.push_back(ir::Message{ir::Role::Assistant, resp->content, {}});
  auto out = gemini_adapter().encode(req, target_for("gemini-2.5-pro"));
  ASSERT_TRUE(out.has_value());
  const auto body = json::parse(out->body);
  EXPECT_EQ(body.at("contents").at(1).at("parts"),
            json::parse(R"([{"text":"The capital of France is Paris.",
                             "thoughtSignature":"c2lnLXRleHQ="}])"));
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(GeminiErrors, RecordedQuotaErrorIsRateLimitedWithRetryInfo) {
  const std::string body = read_file(kShared / "error-429-resource-exhausted.json");
  const Error e = gemini_adapter().map_error(UpstreamReply{429, "application/json", body, {}});
  EXPECT_EQ(e.kind, ErrorKind::RateLimited);
  EXPECT_EQ(e.retry_after, "35");  // RetryInfo.retryDelay "34.4s", rounded up
  EXPECT_EQ(e.public_message, "You exceeded your current quota, please check your plan.");
  EXPECT_TRUE(retryable(e.kind));
}

ErrorKind kind_named(std::string_view name) {
  static const std::map<std::string_view, ErrorKind> kKinds = {
      {"InvalidRequest", ErrorKind::InvalidRequest},
      {"NotFound", ErrorKind::NotFound},
      {"RateLimited", ErrorKind::RateLimited},
      {"UpstreamUnavailable", ErrorKind::UpstreamUnavailable},
      {"UpstreamAuth", ErrorKind::UpstreamAuth},
      {"UpstreamTimeout", ErrorKind::UpstreamTimeout}};
  return kKinds.at(name);
}

TEST(GeminiErrors, StatusTable) {
  const auto doc = read_json(kLocal / "errors.json");
  for (const auto& cv : doc.at("cases").as_array()) {
    const auto& c = cv.as_object();
    SCOPED_TRACE(std::string(c.at("name").as_string()));
    UpstreamReply reply;
    reply.status = static_cast<unsigned>(c.at("status").to_number<int>());
    reply.body = c.contains("body") ? json::serialize(c.at("body"))
                                    : std::string(c.at("body_text").as_string());
    if (const auto* ra = c.if_contains("retry_after")) {
      reply.retry_after = std::string(ra->as_string());
    }
    const Error e = gemini_adapter().map_error(reply);
    const auto& want = c.at("expect").as_object();
    EXPECT_EQ(e.kind, kind_named(want.at("kind").as_string()));
    EXPECT_EQ(e.public_message, want.at("message").as_string());
    const auto* status = want.if_contains("status");
    EXPECT_EQ(e.status, status != nullptr ? status->to_number<int>() : 0);
    const auto* ra = want.if_contains("retry_after");
    EXPECT_EQ(e.retry_after, ra != nullptr ? std::string(ra->as_string()) : std::string());
    EXPECT_EQ(e.public_message.find("AIza"), std::string::npos);
  }
}

TEST(GeminiErrors, ErrorBodyWith200DecodesAsError) {
  auto r = gemini_adapter().decode(UpstreamReply{
      200, "application/json", read_file(kShared / "error-429-resource-exhausted.json"), {}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::RateLimited);
  EXPECT_FALSE(gemini_adapter().decode(UpstreamReply{200, "application/json", "{nope", {}}));
}

TEST(GeminiStream, MalformedEventIsAStreamError) {
  auto dec = gemini_adapter().stream_decoder(ir::ChatRequest{});
  std::vector<ir::StreamEvent> out;
  EXPECT_FALSE(dec->feed("data: {not json\r\n\r\n", out).has_value());
}

TEST(GeminiAdapter, TypeAndCapabilities) {
  const Adapter& a = gemini_adapter();
  EXPECT_EQ(a.type(), "gemini");
  const auto c = a.capabilities(target_for("gemini-2.5-flash"));
  EXPECT_TRUE(c.tools && c.parallel_tool_calls && c.vision && c.json_object && c.json_schema &&
              c.reasoning);
  EXPECT_FALSE(c.logprobs);
  EXPECT_FALSE(c.multiple_choices);  // the IR answer has one choice: n > 1 is refused, not cut
}

}  // namespace
}  // namespace sy::providers
