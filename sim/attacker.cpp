#include "sim/attacker.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <span>

#include "base/assert.hpp"
#include "protocol/names.hpp"
#include "sim/simulated_client.hpp"
#include "sim/world.hpp"

namespace hailer::sim {

namespace {
constexpr Duration frame_period = Duration::from_ms(20);
constexpr std::size_t forged_payload_bytes = 80;  // about a 32 kbit/s Opus frame and an SRTP tag

LoginKey attacker_account(uint64_t seed) {
  std::array<uint8_t, 32> s{};
  SeededSecrets(seed).fill(s);
  return login_key_from_seed(s);
}
}  // namespace

Attacker::Attacker(World& w, const Participant& p)
    : w_(w),
      name_(p.name),
      plan_(*p.attack),
      rng_(derive_seed(w.scenario().seed, "attacker:" + p.name)),
      secrets_(derive_seed(w.scenario().seed, "attacker-keys:" + p.name)),
      account_(attacker_account(derive_seed(w.scenario().seed, "attacker-account:" + p.name))) {
  HAILER_ASSERT(plan_.on.size() == 2 && plan_.on[0] != plan_.on[1]);
  if (plan_.inject_per_second > 0) w_.queue().at(Time{0}, [this] { inject_tick(); });
}

bool Attacker::is_victim(const std::string& name) const { return name == plan_.on[0] || name == plan_.on[1]; }

const std::string& Attacker::other(const std::string& victim) const {
  HAILER_ASSERT(is_victim(victim));
  return victim == plan_.on[0] ? plan_.on[1] : plan_.on[0];
}

// ------------------------------------------------------------------ the tap

void Attacker::tapped(const std::string& from, uint16_t from_port, const std::string& to, uint16_t port,
                      const std::vector<uint8_t>& datagram, AudioStream* source) {
  if (!is_victim(from) || to != other(from) || source == nullptr) return;
  const auto packet = rtp_parse(datagram);
  if (!packet) return;  // a consent check or answer: nothing to hear or imitate
  ++stats_.tapped;
  last_from_[from] = Seen{packet->header, from_port, port, source};
  if (plan_.replay_after_ms) {
    w_.queue().after(Duration::from_ms(*plan_.replay_after_ms), [this, from, from_port, to, port, datagram, source] {
      SimulatedClient* victim = w_.find_client(to);
      if (victim == nullptr || !victim->in_call_with(from)) return;  // only replays a call could take count
      ++stats_.replayed;
      if (victim->on_datagram(from, from_port, port, datagram, source) == DatagramFate::played)
        ++stats_.replayed_played;
    });
  }
  if (plan_.eavesdrop) eavesdrop(datagram, source);
}

// What it taps, decoded as Opus (ciphertext, unless the keys were swapped) and kept beside the
// frame that was spoken: the sender's stream says when each timestamp was spoken.
void Attacker::eavesdrop(std::vector<uint8_t> datagram, AudioStream* source) {
  if (auto o = opener_.find(source->from); o != opener_.end()) {
    if (o->second.unprotect(datagram) != SrtpRefusal::none) return;
    ++stats_.opened;
  }
  const auto packet = rtp_parse(datagram);
  if (!packet) return;
  const auto spoken = source->capture_time.find(packet->header.timestamp);
  if (spoken == source->capture_time.end() || spoken->second.us < source->started_us) return;
  auto it = std::find_if(heard_.begin(), heard_.end(), [&](const Heard& h) { return h.source == source; });
  if (it == heard_.end()) {
    heard_.push_back(Heard{source, std::make_unique<OpusFrameDecoder>(), {}});
    it = std::prev(heard_.end());
  }
  const auto index = static_cast<std::size_t>((spoken->second.us - source->started_us) / frame_period.us);
  it->frames[index] = it->decoder->decode(packet->payload);
}

// Forged packets that look like the next of each victim's stream: right SSRC, sequence number
// and timestamp, from the other victim's address; the payload and tag are random.
void Attacker::inject_tick() {
  for (const std::string& victim : plan_.on) {
    const auto seen = last_from_.find(other(victim));
    SimulatedClient* target = w_.find_client(victim);
    if (seen == last_from_.end() || target == nullptr || !target->in_call_with(other(victim))) continue;
    RtpHeader h = seen->second.header;
    h.sequence = static_cast<uint16_t>(h.sequence + 1);
    h.timestamp += static_cast<uint32_t>(opus_frame_samples);
    h.marker = false;
    std::vector<uint8_t> payload(forged_payload_bytes);
    for (auto& b : payload) b = static_cast<uint8_t>(rng_.next());
    ++stats_.injected;
    if (target->on_datagram(other(victim), seen->second.from_port, seen->second.port, rtp_encode(h, payload),
                            seen->second.source) == DatagramFate::played)
      ++stats_.injected_played;
  }
  w_.queue().after(Duration::from_ms(1000 / plan_.inject_per_second), [this] { inject_tick(); });
}

namespace {
double envelope_db(std::span<const int16_t> frame) {
  double energy = 0;
  for (const int16_t v : frame) energy += static_cast<double>(v) * v;
  return 10.0 * std::log10(std::max(1.0, energy / static_cast<double>(frame.size())));
}

// Pearson correlation of two equally long series; 0 when either is flat.
double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  HAILER_ASSERT(a.size() == b.size());
  const auto n = static_cast<double>(a.size());
  if (a.size() < 2) return 0;
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= n;
  mb /= n;
  double c = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    c += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
  }
  return va > 0 && vb > 0 ? c / std::sqrt(va * vb) : 0;
}
}  // namespace

// Each decoded frame beside the frame spoken at the same moment: no lag to search, so nothing
// correlates by chance.
void Attacker::finish() {
  for (const Heard& h : heard_) {
    std::vector<double> spoken, heard;
    for (const auto& [index, pcm] : h.frames) {
      const std::size_t at = index * opus_frame_samples;
      if (at + opus_frame_samples > h.source->sent.size()) continue;
      spoken.push_back(envelope_db(std::span(h.source->sent).subspan(at, opus_frame_samples)));
      heard.push_back(envelope_db(pcm));
    }
    stats_.heard_frames += spoken.size();
    stats_.heard_correlation = std::max(stats_.heard_correlation, pearson(spoken, heard));
  }
}

// ------------------------------------------------------------------ the lying server (swap_keys)

std::string Attacker::rewrite(const std::string& to, const std::string& text) {
  if (!plan_.swap_keys || !is_victim(to)) return text;
  auto m = nlohmann::ordered_json::parse(text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("type")) return text;
  const std::string type = m["type"].get<std::string>();
  if (type == "call_ringing") {
    role_[to] = m.value("role", "") == "caller" ? CallRole::caller : CallRole::callee;
    return text;
  }
  if (type != "peer_media_key" || !is_victim(m.value("peer", ""))) return text;
  swap_key(to, m);
  return m.dump();
}

// The key `to` gets is the attacker's, signed with its own account key; the key it replaces is
// the peer's, which the attacker keeps to open what the peer sends.
void Attacker::swap_key(const std::string& to, nlohmann::ordered_json& m) {
  const std::string peer = m["peer"].get<std::string>();
  const auto call_id = m["call_id"].get<uint64_t>();
  const PeerMediaKey original{call_id, peer, m["key"].get<std::string>(), m["account_key"].get<std::string>(),
                              m["signature"].get<std::string>()};
  const MediaKeyRequest ours = agreement_toward(to, call_id).request(name_key(peer));
  m["key"] = ours.key;
  m["account_key"] = ours.account_key;
  m["signature"] = ours.signature;
  ++stats_.keys_swapped;
  auto result = agreement_toward(peer, call_id).accept(original, name_key(peer));
  if (auto* crypto = std::get_if<CallCrypto>(&result))
    opener_.insert_or_assign(peer, SrtpReceiver(crypto->keys.receive));
}

// The agreement the attacker holds with `victim` in `call_id`, playing the victim's peer's role.
CallKeyAgreement& Attacker::agreement_toward(const std::string& victim, uint64_t call_id) {
  auto it = toward_.find(victim);
  if (it != toward_.end() && it->second.call_id() == call_id) return it->second;
  if (it != toward_.end()) toward_.erase(it);
  const auto role = role_.find(victim);
  HAILER_ASSERT(role != role_.end());  // call_ringing came before any key
  std::array<uint8_t, 32> seed{};
  secrets_.fill(seed);
  const CallRole as = role->second == CallRole::caller ? CallRole::callee : CallRole::caller;
  return toward_.emplace(victim, CallKeyAgreement(call_id, as, account_, seed)).first->second;
}

}  // namespace hailer::sim
