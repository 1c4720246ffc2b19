// The explicit table of provider adapters: one line per upstream protocol. No static
// self-registration (the linker drops unreferenced objects from static libraries).

#include "providers/adapter.h"
#include "providers/anthropic.h"
#include "providers/azure.h"
#include "providers/bedrock.h"
#include "providers/gemini.h"
#include "providers/openai.h"

namespace sy::providers {

const Adapter* adapter_for(std::string_view type) {
  if (type == "openai" || type == "openai-compatible") {
    return &openai_adapter();
  }
  if (type == "azure-openai") {
    return &azure_adapter();
  }
  if (type == "anthropic") {
    return &anthropic_adapter();
  }
  if (type == "bedrock") {
    return &bedrock_adapter();
  }
  if (type == "gemini") {
    return &gemini_adapter();
  }
  return nullptr;
}

}  // namespace sy::providers
