#include "ir/chat.h"

namespace sy::ir {

std::string_view feature_name(Feature f) {
  switch (f) {
    case Feature::Tools: return "tools";
    case Feature::ParallelToolCalls: return "parallel_tool_calls";
    case Feature::Vision: return "vision";
    case Feature::JsonObject: return "json_object";
    case Feature::JsonSchema: return "json_schema";
    case Feature::Logprobs: return "logprobs";
    case Feature::MultipleChoices: return "multiple_choices";
    case Feature::Reasoning: return "reasoning";
  }
  return "unknown";
}

std::vector<Feature> required_features(const ChatRequest& req) {
  std::vector<Feature> out;
  bool images = false;
  for (const auto& m : req.messages) {
    for (const auto& p : m.content) {
      images = images || std::holds_alternative<ImagePart>(p);
    }
  }
  if (!req.tools.empty()) {
    out.push_back(Feature::Tools);
  }
  if (req.parallel_tool_calls.value_or(false) && !req.tools.empty()) {
    out.push_back(Feature::ParallelToolCalls);
  }
  if (images) {
    out.push_back(Feature::Vision);
  }
  if (req.response_format) {
    if (req.response_format->type == ResponseFormatType::JsonObject) {
      out.push_back(Feature::JsonObject);
    } else if (req.response_format->type == ResponseFormatType::JsonSchema) {
      out.push_back(Feature::JsonSchema);
    }
  }
  if (req.logprobs || req.top_logprobs) {
    out.push_back(Feature::Logprobs);
  }
  if (req.n && *req.n > 1) {
    out.push_back(Feature::MultipleChoices);
  }
  if (req.reasoning) {
    out.push_back(Feature::Reasoning);
  }
  return out;
}

bool Capabilities::has(Feature f) const {
  switch (f) {
    case Feature::Tools: return tools;
    case Feature::ParallelToolCalls: return parallel_tool_calls;
    case Feature::Vision: return vision;
    case Feature::JsonObject: return json_object;
    case Feature::JsonSchema: return json_schema;
    case Feature::Logprobs: return logprobs;
    case Feature::MultipleChoices: return multiple_choices;
    case Feature::Reasoning: return reasoning;
  }
  return false;
}

std::optional<Feature> Capabilities::first_missing(const std::vector<Feature>& needed) const {
  for (Feature f : needed) {
    if (!has(f)) {
      return f;
    }
  }
  return std::nullopt;
}

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::StopSequence: return "stop_sequence";
    case FinishReason::Length: return "length";
    case FinishReason::ToolCalls: return "tool_calls";
    case FinishReason::ContentFilter: return "content_filter";
    case FinishReason::Other: return "other";
  }
  return "other";
}

}  // namespace sy::ir
