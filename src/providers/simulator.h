#pragma once
// The built-in simulator's content: deterministic OpenAI-exact chat completions and stream
// chunks. Timing and failure injection are the transport's job (upstream/simulator_transport);
// this file only writes bytes. Pure: no I/O, no clock, no randomness.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::providers {

struct SimulatorContent {
  std::uint32_t tokens = 20;  // words in a text answer (one stream chunk each)
  std::string text;           // if set, the answer is this text verbatim, one chunk per word
  bool tool_calls = true;     // answer with a tool call when the request offers tools
};

// What the simulator reads from the (validated) client request.
struct SimRequest {
  std::string model;                 // upstream model name echoed in "model"
  bool stream = false;
  bool include_usage = false;        // add the usage chunk (choices:[]) before [DONE]
  std::string tool_name;             // tool to call (tool_choice's, else the first function
                                     // tool's name); empty = none offered or tool_choice "none"
  std::int64_t max_tokens = -1;      // max_completion_tokens / max_tokens; -1 = none
  std::int64_t prompt_tokens = 0;    // ceil(message content characters / 4), at least 1
};

// Builds a SimRequest from a client body (already validated by inspect_chat_request). Never
// throws; missing or oddly shaped fields keep their defaults. "model" is `upstream_model`, or the
// body's "model" when `upstream_model` is empty.
SimRequest sim_request_from_body(std::string_view body, std::string_view upstream_model);

class SimulatorScript {
 public:
  SimulatorScript(SimulatorContent content, std::string id, std::int64_t created);

  // A complete chat.completion JSON body. completion_tokens counts words (or argument
  // fragments); max_tokens below that truncates the answer with finish_reason "length".
  std::string completion(const SimRequest& req) const;
  // Every SSE event of a streamed answer, each "data: {...}\n\n", the last "data: [DONE]\n\n".
  // Text: the role chunk, then one content chunk per word. Tool call: as OpenAI streams it, one
  // first chunk with the role and the call's id, type and name (arguments ""), then one chunk
  // per argument fragment. Then the finish_reason chunk (empty delta); then, when
  // req.include_usage, the usage chunk ("choices":[]; every other chunk has "usage":null).
  // Concatenated, the deltas give exactly completion()'s content or arguments.
  std::vector<std::string> stream_events(const SimRequest& req) const;

 private:
  SimulatorContent content_;
  std::string id_;
  std::int64_t created_;
};

}  // namespace sy::providers
