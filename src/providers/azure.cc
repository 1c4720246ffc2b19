#include "providers/azure.h"

#include <array>
#include <utility>

#include "providers/openai.h"

namespace sy::providers {

namespace {

// RFC 3986 section 2.3 unreserved characters stay; every other byte becomes %XX. A deployment
// name is user-chosen ("my gpt/4o" must not change the path's shape).
std::string percent_encode(std::string_view s) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

class AzureAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "azure-openai"; }

  Result<UpstreamRequest> encode(const ir::ChatRequest& req,
                                 const Target& target) const override {
    // The body is OpenAI's. Azure routes by deployment and ignores "model", but the official
    // AzureOpenAI client still sends it (fixtures/sdk-requests/azure), so it stays: here it is
    // the deployment name, the only model name the gateway knows for this target.
    // Azure's GA API versions since 2024-10-21 take max_completion_tokens (its reasoning
    // deployments require it), and like OpenAI it has no input field for reasoning text.
    OpenAiBodyOptions options;
    options.model = target.model;
    auto body = encode_openai_chat_body(req, options);
    if (!body) {
      return body.error();
    }
    const std::string api_version =
        target.provider != nullptr ? target.provider->api_version : std::string("2024-10-21");
    UpstreamRequest out;
    out.path = azure_chat_path(target.model, api_version);
    out.headers.emplace_back("accept", req.stream ? "text/event-stream" : "application/json");
    out.body = std::move(*body);
    out.stream = req.stream;
    return out;
  }

  // Azure adds prompt_filter_results and per-choice content_filter_results to the OpenAI reply;
  // the decoder ignores them. A filtered answer says finish_reason "content_filter"
  // (-> FinishReason::ContentFilter); a filtered prompt is a 400 whose error.code is
  // "content_filter" (-> InvalidRequest, code kept).
  Result<ir::ChatResponse> decode(const UpstreamReply& reply) const override {
    if (reply.status >= 300) {
      return map_error(reply);
    }
    return decode_openai_chat_body(reply.body);
  }

  std::unique_ptr<StreamDecoder> stream_decoder(const ir::ChatRequest&) const override {
    return make_openai_stream_decoder();
  }

  Error map_error(const UpstreamReply& reply) const override {
    Error e = map_openai_error(reply);
    e.detail.replace(0, std::string_view("openai").size(), "azure-openai");
    return e;
  }

  ir::Capabilities capabilities(const Target&) const override { return openai_capabilities(); }
};

}  // namespace

const Adapter& azure_adapter() {
  static const AzureAdapter adapter;
  return adapter;
}

std::string azure_chat_path(std::string_view deployment, std::string_view api_version) {
  return "/openai/deployments/" + percent_encode(deployment) +
         "/chat/completions?api-version=" + percent_encode(api_version);
}

}  // namespace sy::providers
