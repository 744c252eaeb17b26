// The client side's decoder of server messages on any bytes, under every reply kind: never
// crashes, and what it accepts re-encodes to a text that decodes to the same message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto kind = static_cast<hailer::ReplyKind>(data[0] % 6);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto r = hailer::decode_server_message(text, hailer::any_reply_is(kind), 1u << 16);
  if (const auto* m = std::get_if<hailer::ServerMessage>(&r)) {
    const auto again = hailer::decode_server_message(hailer::encode(*m), hailer::any_reply_is(kind), 1u << 20);
    if (!std::holds_alternative<hailer::ServerMessage>(again) || std::get<hailer::ServerMessage>(again) != *m)
      std::abort();
  }
  return 0;
}
