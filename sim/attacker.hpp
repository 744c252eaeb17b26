// The attacker of a scenario: not a user but someone on the media path of one call, and, with
// swap_keys, in control of the server's relay of call keys. It taps every datagram between its
// two victims (both ways) and tries what docs/scenarios.md lists: eavesdropping (what it taps,
// decoded as Opus frame by frame and set beside what was spoken at the same moment), injection
// (forged RTP to each end as from the other),
// replay (every tapped packet again, later) and the man in the middle (its own keys in place of
// each victim's, so it can open what they send, and their safety numbers differ). What it did is
// counted; what the victims refused is counted by them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/prng.hpp"
#include "base/secret.hpp"
#include "client/call_crypto.hpp"
#include "media/io/opus_codec.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"
#include "sim/scenario.hpp"
#include "sim/streams.hpp"

namespace hailer::sim {

class World;

/// What the attacker did in a run.
struct AttackStats {
  uint64_t tapped = 0;           ///< RTP datagrams seen between the victims
  uint64_t injected = 0;         ///< forged RTP packets sent to a victim in a call
  uint64_t injected_played = 0;  ///< of those, played by the victim (0 unless the media is plain RTP)
  uint64_t replayed = 0;         ///< tapped packets sent again to a victim in a call
  uint64_t replayed_played = 0;  ///< of those, played by the victim again
  uint64_t keys_swapped = 0;     ///< peer_media_key messages rewritten (swap_keys)
  uint64_t opened = 0;           ///< tapped packets it could decrypt (only with swapped keys)
  uint64_t heard_frames = 0;     ///< tapped frames decoded beside what was spoken
  /// The highest, over the legs it tapped, Pearson correlation of the 20 ms energy envelopes (dB)
  /// of what it decoded and what was spoken in the same frames: near 0 for ciphertext, near 1
  /// for speech it can open.
  double heard_correlation = 0;
};

/// The attacker participant.
class Attacker {
 public:
  /// The attacker `p` (p.attack is set) in world `w`.
  Attacker(World& w, const Participant& p);

  /// A datagram from `from` to `to`'s `port` is on the wire (seen as it arrives); `source` is the
  /// sender's measured stream.
  void tapped(const std::string& from, uint16_t from_port, const std::string& to, uint16_t port,
              const std::vector<uint8_t>& datagram, AudioStream* source);
  /// A message the server is about to write to `to`: as is, or rewritten (swap_keys).
  std::string rewrite(const std::string& to, const std::string& text);
  /// The run is over: what it decoded is set beside what was spoken.
  void finish();
  /// What it did.
  const AttackStats& stats() const { return stats_; }

 private:
  struct Seen {  // the last packet from one victim to the other, what a forgery imitates
    RtpHeader header;
    uint16_t from_port = 0;  // the sender's source port (the forgery's, spoofed)
    uint16_t port = 0;
    AudioStream* source = nullptr;
  };
  struct Heard {  // one tapped leg, decoded frame by frame
    AudioStream* source = nullptr;
    std::unique_ptr<OpusFrameDecoder> decoder;
    std::map<std::size_t, std::vector<int16_t>> frames;  // the sent frame's index -> what it decoded there
  };

  bool is_victim(const std::string& name) const;
  const std::string& other(const std::string& victim) const;
  void eavesdrop(std::vector<uint8_t> datagram, AudioStream* source);
  void inject_tick();
  void swap_key(const std::string& to, nlohmann::ordered_json& m);
  CallKeyAgreement& agreement_toward(const std::string& victim, uint64_t call_id);

  World& w_;
  std::string name_;
  AttackPlan plan_;
  Prng rng_;
  SeededSecrets secrets_;
  LoginKey account_;
  std::map<std::string, Seen> last_from_;           // sender -> its last packet to the other
  std::vector<Heard> heard_;                        // one per tapped leg
  std::map<std::string, CallRole> role_;            // each victim's role in its current call
  std::map<std::string, CallKeyAgreement> toward_;  // the keys it shows each victim (swap_keys)
  std::map<std::string, SrtpReceiver> opener_;      // opens what each victim sends it (swap_keys)
  AttackStats stats_;
};

}  // namespace hailer::sim
