// SRTP (RFC 3711) with AEAD_AES_128_GCM (RFC 7714), through libsrtp2: what protects a call's RTP
// between the two peers. One SrtpSender protects the packets one side sends; one SrtpReceiver
// checks and opens what the other side sent, with libsrtp's replay window (128 packets), so a
// packet seen twice, an altered one or one made without the key is dropped and counted. Keys
// come from protocol/call_keys (agreed per call by the two clients); a key is never reused for a
// second stream, so an SSRC and its rollover counter never meet the same key twice.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/call_keys.hpp"

struct srtp_ctx_t_;

namespace hailer {

/// Bytes SRTP adds to an RTP packet: the GCM tag.
inline constexpr std::size_t srtp_tag_bytes = 16;

/// Why a received packet was not opened.
enum class SrtpRefusal : uint8_t { none, truncated, forged, replayed };

/// One direction's libsrtp session (move-only).
class SrtpSession {
 public:
  SrtpSession(SrtpSession&& other) noexcept;
  SrtpSession& operator=(SrtpSession&& other) noexcept;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;
  ~SrtpSession();

 protected:
  /// A session for any SSRC in one direction (`outbound`), keyed with `key`.
  SrtpSession(const SrtpMasterKey& key, bool outbound);
  srtp_ctx_t_* ctx_ = nullptr;
};

/// Protects the RTP packets one side sends.
class SrtpSender : public SrtpSession {
 public:
  /// A sender keyed with `key` (the side's SrtpKeys::send).
  explicit SrtpSender(const SrtpMasterKey& key) : SrtpSession(key, true) {}
  /// Encrypts `packet` (an RTP packet, header in the clear) in place and appends its tag.
  void protect(std::vector<uint8_t>& packet);
};

/// Checks and opens the packets the peer sends.
class SrtpReceiver : public SrtpSession {
 public:
  /// A receiver keyed with `key` (the side's SrtpKeys::receive).
  explicit SrtpReceiver(const SrtpMasterKey& key) : SrtpSession(key, false) {}
  /// Opens `packet` in place (the RTP packet is left, tag removed), or says why not (then
  /// `packet` is unspecified).
  SrtpRefusal unprotect(std::vector<uint8_t>& packet);
};

}  // namespace hailer
