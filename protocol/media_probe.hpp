// The UDP proof of a calls client's media endpoint: "hailer-probe <media_id> <counter> <mac>".
// It proves that its sender holds the session's media key without carrying the key: the MAC is
// HMAC-SHA256 (truncated to 128 bits) over the rest of the datagram, keyed with the media key,
// and the counter must grow with every proof the server accepts, so a captured proof replayed
// from another address moves nothing. The key itself only ever travels in the register reply.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/secret.hpp"

namespace hailer {

/// A parsed proof, not yet verified.
struct MediaProbeDatagram {
  uint64_t media_id = 0;
  uint64_t counter = 0;
  std::array<uint8_t, 16> mac{};
  bool operator==(const MediaProbeDatagram&) const = default;
};

/// The datagram proving `key` for `media_id` with `counter`.
std::string encode_media_probe(const SecretKey& key, uint64_t media_id, uint64_t counter);
/// The proof in a datagram, or nothing when it is not one (its MAC is not checked here).
std::optional<MediaProbeDatagram> parse_media_probe(std::string_view datagram);
/// True when the proof's MAC was made with `key` (compared in constant time).
bool verify_media_probe(const SecretKey& key, const MediaProbeDatagram& probe);
/// The MAC a proof of `media_id` and `counter` carries under `key`.
std::array<uint8_t, 16> media_probe_mac(const SecretKey& key, uint64_t media_id, uint64_t counter);

/// A call leg's id on the server's relay: 128 bits only that leg's client and the server know.
using RelayLegId = std::array<uint8_t, 16>;
/// The relay leg id of the session holding `key` in call `call_id`: HMAC-SHA256 under the
/// session's media key of "hailer-relay-leg <call_id>", truncated to 128 bits. Both ends derive it
/// (the client has the key from its register reply), so no message carries it.
RelayLegId relay_leg_id(const SecretKey& key, uint64_t call_id);

/// A media id as it travels: 16 lowercase hex digits.
std::string media_id_text(uint64_t media_id);

}  // namespace hailer
