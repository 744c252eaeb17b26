// What anyone can send to a UDP port: the rendezvous port's media proofs, a call's consent checks
// and answers; and the escape that makes network text safe to print. Never crashes; what parses
// writes back the same; an answer echoes only its check's nonce; escaped text is valid UTF-8
// with nothing a terminal obeys left in it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/consent.hpp"
#include "protocol/media_probe.hpp"
#include "protocol/untrusted_text.hpp"
#include "protocol/utf8.hpp"

using namespace hailer;

namespace {
std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Every code point of valid UTF-8 `text` is safe to print.
bool all_safe(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint8_t>(text[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
    if (is_unsafe_code_point(c)) return false;
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto p = parse_media_probe(text)) {
    const std::string again =
        "hailer-probe " + media_id_text(p->media_id) + " " + std::to_string(p->counter) + " " + to_hex(p->mac);
    if (lowercase(text) != again) std::abort();
    SecretKey key;
    (void)verify_media_probe(key, *p);
  }
  if (const auto answer = consent_answer(text)) {
    if (*answer != "hailer-consent-ok " + std::string(text.substr(15))) std::abort();
  }
  Consent consent;
  consent.start(Time{0});
  const auto check = consent.poll(Time{0}, ConsentNonce{});
  if (!check) std::abort();
  // Nothing but the answer to our own (all-zero) nonce grants consent.
  const bool granted = consent.on_answer(Time{1}, text);
  if (granted != (text == "hailer-consent-ok " + std::string(32, '0'))) std::abort();
  const std::string shown = escape_untrusted(text);
  if (!valid_utf8(shown) || !all_safe(shown)) std::abort();
  return 0;
}
