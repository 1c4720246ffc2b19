#pragma once
// Canonical JSON renderings of IR values, for golden files and logs in tests. Stable key order,
// optional fields omitted when unset.

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "ir/chat.h"

namespace sy::ir {

boost::json::value to_json(const Usage& u);
boost::json::value to_json(const Part& p);
boost::json::value to_json(const ChatRequest& r);
boost::json::value to_json(const ChatResponse& r);
boost::json::value to_json(const StreamEvent& e);

// The inverse of to_json(ChatRequest): reads the same canonical form (used for test inputs on
// disk). Throws std::invalid_argument naming the field on a malformed value.
ChatRequest request_from_json(const boost::json::value& v);

// One event per line, each line a compact JSON object: the golden format for streams.
std::string events_to_jsonl(const std::vector<StreamEvent>& events);
// Pretty-ish (2-space indented) JSON text of a value, with a trailing newline.
std::string pretty(const boost::json::value& v);

}  // namespace sy::ir
