// The request decoder on any bytes: never crashes, and what it accepts re-encodes to a text it
// decodes to the same request.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = hailer::decode_request(text, 4096);
  if (const auto* request = std::get_if<hailer::Request>(&r)) {
    const auto again = hailer::decode_request(hailer::encode_request(*request), 1u << 20);
    if (!std::holds_alternative<hailer::Request>(again) || std::get<hailer::Request>(again) != *request) std::abort();
  }
  return 0;
}
