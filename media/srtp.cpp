#include "media/srtp.hpp"

#include <srtp2/srtp.h>

#include <mutex>
#include <utility>

#include "base/assert.hpp"

namespace hailer {

namespace {

constexpr std::size_t rtp_header_bytes = 12;
static_assert(sizeof(SrtpMasterKey) == SRTP_AES_GCM_128_KEY_LEN_WSALT);
static_assert(srtp_tag_bytes == 16);

// libsrtp keeps global tables (its crypto kernel); they are made once per process.
void init_libsrtp() {
  static std::once_flag once;
  std::call_once(once, [] { HAILER_ASSERT(srtp_init() == srtp_err_status_ok); });
}

}  // namespace

SrtpSession::SrtpSession(const SrtpMasterKey& key, bool outbound) {
  init_libsrtp();
  srtp_policy_t policy{};
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  SrtpMasterKey copy = key;  // libsrtp takes a non-const pointer; it only reads
  policy.key = copy.data();
  policy.window_size = 128;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  HAILER_ASSERT(srtp_create(&ctx_, &policy) == srtp_err_status_ok);
  HAILER_ASSERT(ctx_ != nullptr);
}

SrtpSession::SrtpSession(SrtpSession&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

SrtpSession& SrtpSession::operator=(SrtpSession&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) srtp_dealloc(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

SrtpSession::~SrtpSession() {
  if (ctx_ != nullptr) srtp_dealloc(ctx_);
}

void SrtpSender::protect(std::vector<uint8_t>& packet) {
  HAILER_ASSERT(ctx_ != nullptr);
  HAILER_ASSERT(packet.size() >= rtp_header_bytes);
  const std::size_t plain = packet.size();
  packet.resize(plain + SRTP_MAX_TRAILER_LEN);  // libsrtp writes up to this much past the end
  int len = static_cast<int>(plain);
  // Our own packets are well formed and their sequence numbers only grow: a failure is a bug.
  HAILER_ASSERT(srtp_protect(ctx_, packet.data(), &len) == srtp_err_status_ok);
  HAILER_ASSERT(static_cast<std::size_t>(len) == plain + srtp_tag_bytes);
  packet.resize(static_cast<std::size_t>(len));
}

SrtpRefusal SrtpReceiver::unprotect(std::vector<uint8_t>& packet) {
  HAILER_ASSERT(ctx_ != nullptr);
  if (packet.size() < rtp_header_bytes + srtp_tag_bytes) return SrtpRefusal::truncated;
  int len = static_cast<int>(packet.size());
  const srtp_err_status_t status = srtp_unprotect(ctx_, packet.data(), &len);
  switch (status) {
    case srtp_err_status_ok:
      HAILER_ASSERT(len >= static_cast<int>(rtp_header_bytes) && static_cast<std::size_t>(len) < packet.size());
      packet.resize(static_cast<std::size_t>(len));
      return SrtpRefusal::none;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpRefusal::replayed;
    case srtp_err_status_auth_fail:
      return SrtpRefusal::forged;
    default:
      return SrtpRefusal::truncated;  // not parseable as SRTP (a header that lies about its length)
  }
}

}  // namespace hailer
