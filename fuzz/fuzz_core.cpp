// The server host and core driven by any sequence of connections, requests (well-formed from a
// small vocabulary, malformed ones, or raw bytes), audio frames, UDP proofs, closes, time jumps
// and a server shutdown, under small limits so the deep states (full queues, full rooms, wrong
// tokens) are reached. After every
// event the core checks its invariants (the host runs it that way) and the port checks: nothing
// is sent to a closed session, every message decodes with the client's strict decoder and
// encodes back to the same text, every request gets exactly one reply with its id. At the
// end everything is closed and nothing may remain: no session, room, route or timer.
// HAILER_FUZZ_REPORT=1 prints the message types, reasons and error codes reached, at exit;
// HAILER_FUZZ_TRACE=1 prints every message sent.
// The committed seeds are stories written by fuzz/core_seeds.py (calls, waits, floor, limits).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "client/client.hpp"
#include "fuzz/fuzz_input.hpp"
#include "host/server_host.hpp"
#include "protocol/codec.hpp"
#include "protocol/ptt_frame.hpp"

using namespace hailer;

namespace {

std::set<std::string> reached;  // message types and error codes seen, over the whole run
const bool trace = std::getenv("HAILER_FUZZ_TRACE") != nullptr;  // every message sent, for writing seeds

void report() {
  std::string all;
  for (const auto& r : reached) all += r + " ";
  std::fprintf(stderr, "reached %zu: %s\n", reached.size(), all.c_str());
}

class CheckingPort final : public HostPort {
 public:
  std::set<SessionId> open;
  std::optional<Time> timer;
  std::set<std::pair<std::string, std::string>> tokens;  // media keys and ids handed out (hex)

  void send_text(SessionId to, std::string_view view) override {
    const std::string text(view);
    if (!open.contains(to)) std::abort();  // sent to a session the port closed
    if (trace) std::fprintf(stderr, "-> %llu %s\n", static_cast<unsigned long long>(to.value), text.c_str());
    bool decoded = false;
    bool round_trips = false;
    for (int k = 0; k < 6 && !round_trips; ++k) {
      auto r = decode_server_message(text, any_reply_is(static_cast<ReplyKind>(k)), 1u << 20);
      if (const auto* m = std::get_if<ServerMessage>(&r)) {
        // Decoded as the reply kind the client expects, it encodes back to the very same text.
        round_trips = encode(*m) == text;
        if (decoded) continue;
        decoded = true;
        if (const auto* ok = std::get_if<OkReply>(m)) replies.emplace_back(to, ok->id);
        if (const auto* e = std::get_if<ErrorReply>(m)) replies.emplace_back(to, e->id);
        reached.insert(std::string(message_type(*m)));
        // The outcome a reason names (floor_denied.queue_full, wait_ended.expired, ...) counts too.
        if (const auto at = text.find(R"("reason":")"); at != std::string::npos) {
          reached.insert(std::string(message_type(*m)) + "." + text.substr(at + 10, text.find('"', at + 10) - at - 10));
        }
        if (const auto* e = std::get_if<ErrorReply>(m)) reached.insert("error." + std::string(to_string(e->code)));
        // A register reply may decode first as another reply kind: take the key and id from the text.
        const auto key_at = text.find(R"("media_token":")");
        const auto id_at = text.find(R"("media_id":")");
        if (key_at != std::string::npos && id_at != std::string::npos) {
          tokens.emplace(text.substr(key_at + 15, 32), text.substr(id_at + 12, 16));
        }
      }
    }
    if (!decoded || !round_trips) {  // the server sent what its own clients refuse, or cannot say again
      std::fprintf(stderr, "%s server message: %s\n", decoded ? "not round-tripping" : "undecodable", text.c_str());
      std::abort();
    }
  }
  std::vector<std::pair<SessionId, std::optional<uint64_t>>> replies;  // ok and error replies, in order
  void close(SessionId session, CloseReason) override { closing.insert(session); }
  void arm_timer(std::optional<Time> at) override { timer = at; }

  std::set<SessionId> closing;  // asked to close by the host: reported back on the next step
};

const char* names[] = {"ann", "bob", "cat", "dan", "Ann", "../x", ""};
const char* rooms[] = {"r1", "r2", "r3"};

/// What a request's answer must be: a reply with this id, a reply with a null id, or (raw
/// bytes) at most one reply of any id.
enum class Expect : uint8_t { its_id, id_1, null_id, at_most_one };

std::string request_text(fuzz::Input& in, uint64_t id, Expect& expect) {
  expect = Expect::its_id;
  const std::string name = names[in.byte() % 7];
  const std::string other = names[in.byte() % 4];
  const std::string room = rooms[in.byte() % 3];
  const std::string sid = std::to_string(id);
  switch (in.byte() % 21) {
    case 0:
      return R"({"type":"register","id":)" + sid + R"(,"version":1,"name":")" + name + R"(","media_port":4000})";
    case 1:
      return R"({"type":"call","id":)" + sid + R"(,"to":")" + other + R"("})";
    case 2:
      return R"({"type":"call","id":)" + sid + R"(,"to":")" + other + R"(","auto_connect":true})";
    case 3:
      return R"({"type":"accept","id":)" + sid + "}";
    case 4:
      return R"({"type":"reject","id":)" + sid + "}";
    case 5:
      return R"({"type":"hangup","id":)" + sid + "}";
    case 6:
      return R"({"type":"cancel","id":)" + sid + "}";
    case 7:
      return R"({"type":"cancel_wait","id":)" + sid + "}";
    case 8:
      return R"({"type":"who","id":)" + sid + "}";
    case 9:
      return R"({"type":"missed","id":)" + sid + "}";
    case 10:
      return R"({"type":"ping","id":)" + sid + "}";
    case 11:
      return R"({"type":"join","id":)" + sid + R"(,"version":1,"name":")" + name + R"(","room":")" + room +
             R"(","codec":"pcm16","sample_rate":16000})";
    case 12:
      return R"({"type":"join","id":)" + sid + R"(,"version":1,"name":")" + name + R"(","room":")" + room +
             R"(","role":"instructor","token":")" + (in.byte() & 1 ? "t" : "x") + R"("})";
    case 13:
      return R"({"type":"press","id":)" + sid + "}";
    case 14:
      return R"({"type":"release","id":)" + sid + "}";
    case 15:
      return R"({"type":"revoke","id":)" + sid + "}";
    case 16:
      return R"({"type":"set_policy","id":)" + sid + R"(,"policy":")" + (in.byte() & 1 ? "queue" : "deny") + R"("})";
    case 17:
      return R"({"type":"accept","id":)" + sid + R"(,"call_id":)" + std::to_string(in.byte() % 8) + "}";
    case 18:
      return R"({"type":"grant","id":)" + sid + R"(,"name":")" + other + R"("})";
    case 19:
      return R"({"type":"skip","id":)" + sid + R"(,"name":")" + other + R"("})";
    default: {
      // Requests a decoder must refuse, one per error code a client can earn, or anything at all.
      static const char* const malformed[] = {
          R"({"type":"call","id":1})",                                         // missing_field
          R"({"type":"call","id":1,"to":5})",                                  // bad_field
          R"({"type":"dance","id":1})",                                        // unknown_type
          R"({"type":"register","id":1,"version":2,"name":"ann"})",            // unsupported_version
          R"({"type":"join","id":1,"version":1,"name":"ann","room":"../r"})",  // bad_room
      };
      const uint8_t pick_malformed = in.byte();
      if (pick_malformed < 5) {
        expect = Expect::id_1;
        return malformed[pick_malformed];
      }
      if (pick_malformed == 5) {
        expect = Expect::null_id;
        return std::string(5000, 'x');  // message_too_large
      }
      expect = Expect::at_most_one;
      return in.text(300);  // anything at all
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool do_report = [] {
    if (std::getenv("HAILER_FUZZ_REPORT") != nullptr) std::atexit(report);
    return true;
  }();
  (void)do_report;
  fuzz::Input in(data, size);
  Config config;
  config.max_sessions = 3 + in.byte() % 6;
  config.max_waiters_per_callee = 1 + in.byte() % 3;
  config.max_floor_queue = 1 + in.byte() % 3;
  config.max_room_members = 2 + in.byte() % 3;
  config.max_rooms = 1 + in.byte() % 2;
  config.max_missed_calls = 1 + in.byte() % 3;
  config.instructor_token = in.byte() & 1 ? "t" : "";
  const uint8_t floor_bits = in.byte();
  config.default_floor_policy = floor_bits & 1 ? FloorPolicy::queue : FloorPolicy::deny;
  config.ring_timeout_ms = 1000;
  config.recall_window_ms = 500;
  config.wait_expiry_ms = 5000;
  config.heartbeat_timeout_ms = 3000;
  config.max_talk_ms = 2000;
  config.silence_timeout_ms = floor_bits & 2 ? 60'000 : 700;  // long: a silent holder reaches max_talk_ms
  CheckingPort port;
  NullMediaSink no_media;
  SeededSecrets secrets(7);
  ServerHost host(config, secrets, HostConfig{true, {}}, port, no_media);
  Time now{0};
  uint64_t next_session = 1, next_id = 1;
  auto settle = [&] {  // report what the host asked to close, as the socket layer would
    while (!port.closing.empty()) {
      const SessionId s = *port.closing.begin();
      port.closing.erase(port.closing.begin());
      port.open.erase(s);
      host.closed(now, s, CloseReason::peer_closed);
    }
  };
  auto pick = [&]() -> std::optional<SessionId> {
    if (port.open.empty()) return std::nullopt;
    auto it = port.open.begin();
    std::advance(it, in.byte() % port.open.size());
    return *it;
  };
  auto advance = [&](int64_t ms) {
    const Time until = now + Duration::from_ms(ms);
    int spins = 0;
    while (port.timer && *port.timer <= until) {
      now = std::max(now, *port.timer);
      port.timer.reset();  // a timer request is used up when it fires (HostPort::arm_timer)
      host.timer(now);
      settle();
      if (++spins > 100000) {
        std::fprintf(stderr, "timer stuck at %lld (now %lld), core deadline %lld\n", (long long)port.timer->us,
                     (long long)now.us,
                     host.core().next_deadline() ? (long long)host.core().next_deadline()->us : -1LL);
        std::abort();
      }
    }
    now = until;
  };
  for (int step = 0; step < 400 && !in.empty(); ++step) {
    const uint8_t op = in.byte() % 11;
    if (op == 0 || port.open.empty()) {
      const SessionId s{next_session++};
      port.open.insert(s);
      host.opened(now, s, "192.0.2." + std::to_string(in.byte() % 3));
    } else if (op <= 5) {
      const auto s = pick();
      // Exactly one reply per request, carrying the request's id when it could be read.
      Expect expect = Expect::its_id;
      const uint64_t id = next_id++;
      const std::string text = request_text(in, id, expect);
      port.replies.clear();
      host.text(now, *s, text);
      std::size_t count = 0;
      std::optional<uint64_t> reply_id;
      for (const auto& [to, rid] : port.replies) {
        if (to != *s) continue;
        ++count;
        reply_id = rid;
      }
      const bool right = expect == Expect::at_most_one ? count <= 1
                         : count != 1                  ? false
                         : expect == Expect::its_id    ? reply_id == id
                         : expect == Expect::id_1      ? reply_id == 1u
                                                       : !reply_id.has_value();
      if (!right) {
        std::fprintf(stderr, "request %s got %zu replies\n", text.c_str(), count);
        std::abort();
      }
    } else if (op == 6) {
      const auto s = pick();
      std::vector<uint8_t> payload(in.byte() & 1 ? 640 : in.byte());
      for (auto& b : payload) b = in.byte();
      const uint16_t sequence = in.u16();  // read in order: argument evaluation order is unspecified
      const bool last = in.byte() & 1;
      host.binary(now, *s, encode_ptt_frame(sequence, last, payload));
    } else if (op == 7) {
      std::string datagram = "junk";
      if (!port.tokens.empty() && (in.byte() & 3) != 0) {
        auto it = port.tokens.begin();
        std::advance(it, in.byte() % port.tokens.size());
        SecretKey key;
        std::array<uint8_t, 8> id{};
        if (from_hex(it->first, key.bytes) && from_hex(it->second, id)) {
          uint64_t media_id = 0;
          for (uint8_t b : id) media_id = (media_id << 8) | b;
          const uint8_t how = in.byte();
          if (how & 1) key.bytes[0] ^= 1;  // a forged proof: it must move nothing
          // Small counters: replays and reorderings happen often.
          datagram = encode_media_probe(key, media_id, how >> 1);
        }
      }
      const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(datagram.data()), datagram.size());
      host.datagram(now, MediaEndpoint{"203.0.113.1", static_cast<uint16_t>(40000 + in.byte() % 3)}, bytes);
    } else if (op == 8) {
      const auto s = pick();
      port.open.erase(*s);
      host.closed(now, *s, static_cast<CloseReason>(in.byte() % 2));
    } else if (op == 9) {
      advance(in.byte() * 20);
    } else {
      host.shutdown(now);  // server_closing to everyone, then every session closed
    }
    settle();
  }
  // Everyone leaves: nothing may remain.
  while (!port.open.empty()) {
    const SessionId s = *port.open.begin();
    port.open.erase(port.open.begin());
    host.closed(now, s, CloseReason::peer_closed);
    settle();
  }
  advance(10'000);
  if (host.core().session_count() != 0 || !host.call_routes().empty() || !host.speaker_routes().empty()) std::abort();
  if (host.core().next_deadline().has_value()) std::abort();
  return 0;
}
