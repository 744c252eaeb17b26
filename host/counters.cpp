#include "host/counters.hpp"

namespace hailer {

Counters core_counters(const CoreStats& s) {
  std::vector<std::pair<std::string, uint64_t>> out{
      {"events", s.events},
      {"requests", s.requests},
      {"errors", s.errors},
      {"sessions_opened", s.sessions_opened},
      {"calls_placed", s.calls_placed},
      {"calls_connected", s.calls_connected},
      {"waits_notified", s.waits_notified},
      {"floor_grants", s.floor_grants},
      {"audio_frames_admitted", s.audio_frames_admitted},
      {"audio_frames_dropped", s.audio_frames_dropped},
      {"media_probes", s.media_probes},
      {"media_probes_unknown", s.media_probes_unknown},
      {"media_probes_forged", s.media_probes_forged},
      {"media_probes_replayed", s.media_probes_replayed},
      {"media_probes_limited", s.media_probes_limited},
      {"token_failures", s.token_failures},
      {"token_tries_limited", s.token_tries_limited},
      {"recordings_refused", s.recordings_refused},
  };
  for (std::size_t r = 0; r < close_reason_count; ++r) {
    out.emplace_back("closed." + std::string(to_string(static_cast<CloseReason>(r))), s.closed_by_reason[r]);
  }
  return out;
}

Counters host_counters(const HostStats& h, const SpeakerStats& sp) {
  return {{"texts_in", h.texts_in},
          {"binary_in", h.binary_in},
          {"messages_out", h.messages_out},
          {"broadcasts", h.broadcasts},
          {"bad_frames", h.bad_frames},
          {"datagrams_in", h.datagrams_in},
          {"datagrams_ignored", h.datagrams_ignored},
          {"refused_per_address", h.refused_per_address},
          {"floods", h.floods},
          {"relay_refused", h.relay_refused},
          {"relay_told", h.relay_told},
          {"relay_forwarded", h.relay_forwarded},
          {"relay_rebinds", h.relay_rebinds},
          {"relay_malformed", h.relay_malformed},
          {"relay_unknown_leg", h.relay_unknown_leg},
          {"relay_oversized", h.relay_oversized},
          {"relay_too_fast", h.relay_too_fast},
          {"relay_answered", h.relay_answered},
          {"tunnel_frames_in", h.tunnel_frames_in},
          {"tunnel_frames_out", h.tunnel_frames_out},
          {"tunnel_told_no_call", h.tunnel_told_no_call},
          {"speaker_frames_in", sp.frames_in},
          {"speaker_frames_played", sp.frames_played},
          {"speaker_frames_concealed", sp.frames_concealed},
          {"speaker_turns", sp.turns}};
}

}  // namespace hailer
