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
  std::string text;           // if set, the answer is this text split on spaces
  bool tool_calls = true;     // answer with a tool call when the request offers tools
};

// What the simulator reads from the (validated) client request.
struct SimRequest {
  std::string model;                 // upstream model name echoed in "model"
  bool stream = false;
  bool include_usage = false;        // add the usage chunk (choices:[]) before [DONE]
  std::string tool_name;             // first tool's function name; empty = no tools offered
  std::int64_t max_tokens = -1;      // max_completion_tokens / max_tokens; -1 = none
  std::int64_t prompt_tokens = 0;    // estimated from the request size
};

// Builds a SimRequest from a client body (already validated by inspect_chat_request).
SimRequest sim_request_from_body(std::string_view body, std::string_view upstream_model);

class SimulatorScript {
 public:
  SimulatorScript(SimulatorContent content, std::string id, std::int64_t created);

  // A complete chat.completion JSON body.
  std::string completion(const SimRequest& req) const;
  // Every SSE event of a streamed answer, each "data: {...}\n\n", the last "data: [DONE]\n\n".
  // The role chunk first; one content chunk per word (or tool-call name chunk then argument
  // fragments); the finish_reason chunk; the usage chunk when req.include_usage.
  std::vector<std::string> stream_events(const SimRequest& req) const;

 private:
  SimulatorContent content_;
  std::string id_;
  std::int64_t created_;
};

}  // namespace sy::providers
