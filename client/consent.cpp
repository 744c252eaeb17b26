#include "client/consent.hpp"

#include <algorithm>

#include "base/assert.hpp"
#include "base/secret.hpp"

namespace hailer {

namespace {
constexpr std::string_view check_prefix = "hailer-consent ";
constexpr std::string_view answer_prefix = "hailer-consent-ok ";
constexpr std::size_t nonce_hex_digits = 32;

// The nonce of "<prefix><32 hex>", or nothing.
std::optional<std::string_view> nonce_after(std::string_view datagram, std::string_view prefix) {
  if (!datagram.starts_with(prefix) || datagram.size() != prefix.size() + nonce_hex_digits) return std::nullopt;
  const std::string_view nonce = datagram.substr(prefix.size());
  ConsentNonce bytes{};
  if (!from_hex(nonce, bytes)) return std::nullopt;
  return nonce;
}
}  // namespace

Consent::Consent(ConsentConfig config) : config_(config) {
  HAILER_ASSERT(config_.retry_ms > 0 && config_.check_interval_ms > 0 && config_.expiry_ms > config_.check_interval_ms);
}

void Consent::start(Time now) {
  active_ = true;
  started_ = now;
  next_check_ = now;
  answered_at_.reset();
  outstanding_.clear();
  checks_sent_ = 0;
  grants_ = 0;
}

void Consent::stop() {
  active_ = false;
  next_check_.reset();
  answered_at_.reset();
  outstanding_.clear();
}

std::optional<std::string> Consent::poll(Time now, const ConsentNonce& fresh) {
  if (!active_ || !next_check_ || *next_check_ > now) return std::nullopt;
  std::string nonce = to_hex(fresh);
  outstanding_.push_back(nonce);
  if (outstanding_.size() > remembered_nonces) outstanding_.pop_front();
  ++checks_sent_;
  // Quick retries only while nothing was ever answered, and only for a while: an address that
  // never answers gets at most retry_for_ms / retry_ms checks, then one per interval.
  const bool eager = !answered_at_ && now - started_ < Duration::from_ms(config_.retry_for_ms);
  next_check_ = now + Duration::from_ms(eager ? config_.retry_ms : config_.check_interval_ms);
  HAILER_ASSERT(outstanding_.size() <= remembered_nonces);
  return std::string(check_prefix) + nonce;
}

bool Consent::on_answer(Time now, std::string_view datagram) {
  if (!active_) return false;
  const auto nonce = nonce_after(datagram, answer_prefix);
  if (!nonce) return false;
  const auto it = std::find(outstanding_.begin(), outstanding_.end(), *nonce);
  if (it == outstanding_.end()) return false;  // not ours, or answered already
  outstanding_.erase(it);                      // each nonce counts once: a replayed answer proves nothing new
  if (!granted(now)) ++grants_;
  answered_at_ = now;
  return true;
}

bool Consent::granted(Time now) const {
  return active_ && answered_at_ && now - *answered_at_ < Duration::from_ms(config_.expiry_ms);
}

std::optional<Time> Consent::next_deadline() const { return active_ ? next_check_ : std::nullopt; }

bool is_consent_datagram(std::string_view datagram) { return datagram.starts_with("hailer-consent"); }

std::optional<std::string> consent_answer(std::string_view datagram) {
  const auto nonce = nonce_after(datagram, check_prefix);
  if (!nonce) return std::nullopt;
  return std::string(answer_prefix) + std::string(*nonce);
}

}  // namespace hailer
