// Drives a Core on a virtual clock for tests, checking invariants after every event.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/core.hpp"

namespace hailer::test {

/// A Core plus a virtual clock and helpers to speak to it as clients would.
class CoreHarness {
 public:
  explicit CoreHarness(Config config = {}) : core(config) {}

  Core core;
  Time now{0};
  std::vector<Effect> last;  ///< effects of the most recent step (event or advance)

  /// Feeds one event at the current time and checks the core's invariants (the one feed step).
  const std::vector<Effect>& feed(const Event& event) {
    last.clear();
    step(core, now, event, last, true);
    return last;
  }

  /// Opens a session from `address`, with the seeded stand-in secrets of its id.
  SessionId open(const std::string& address = "192.0.2.1", bool instructor_cookie = false) {
    const SessionId id{next_session_++};
    feed(SessionOpened{id, address, stand_in_secrets(id.value), instructor_cookie});
    return id;
  }

  /// Opens a session over a connection with `binding` (TLS: a login signs it).
  SessionId open_bound(const ChannelBinding& binding, const std::string& address = "192.0.2.1") {
    const SessionId id{next_session_++};
    feed(SessionOpened{id, address, stand_in_secrets(id.value), false, binding});
    return id;
  }

  /// Sends a request and returns the effects.
  const std::vector<Effect>& request(SessionId s, RequestBody body) {
    return feed(RequestReceived{s, Request{next_request_id_++, std::move(body)}});
  }

  /// Opens a session and registers `name` on the calls face; the registration must succeed.
  SessionId user(const std::string& name, uint16_t media_port = 4000, const std::string& address = "192.0.2.1") {
    const SessionId s = open(address);
    request(s, RegisterRequest{protocol_version, name, media_port, {}, {}, {}});
    if (!ok_to(s)) throw std::runtime_error("register failed for " + name);
    return s;
  }

  /// Opens a session and joins `room` as `role`; the join must succeed.
  SessionId member(const std::string& name, const std::string& room, Role role = Role::student,
                   const std::string& token = "") {
    const SessionId s = open();
    request(s, JoinRequest{protocol_version, name, room, role, AudioCodec::pcm16, 48'000, token});
    if (!ok_to(s)) throw std::runtime_error("join failed for " + name);
    return s;
  }

  /// Closes a session as its peer would.
  const std::vector<Effect>& close(SessionId s) { return feed(SessionClosed{s}); }

  /// Moves the clock forward by `d`, firing every timer on the way at its deadline.
  const std::vector<Effect>& advance(Duration d) {
    const Time target = now + d;
    std::vector<Effect> all;
    while (auto deadline = core.next_deadline()) {
      if (*deadline > target) break;
      now = std::max(now, *deadline);
      feed(TimerFired{});
      all.insert(all.end(), last.begin(), last.end());
    }
    now = target;
    last = std::move(all);
    return last;
  }

  /// Messages of type T sent to `s` in the last step, in order (broadcasts included).
  template <typename T>
  std::vector<T> sent(SessionId s) const {
    std::vector<T> found;
    for (const ServerMessage& m : messages(s)) {
      if (const auto* t = std::get_if<T>(&m)) found.push_back(*t);
    }
    return found;
  }

  /// Every message sent to `s` in the last step, in order (broadcasts included).
  std::vector<ServerMessage> messages(SessionId s) const {
    std::vector<ServerMessage> found;
    for (const Effect& e : last) {
      if (const auto* m = std::get_if<SendMessage>(&e); m != nullptr && m->to == s) found.push_back(m->message);
      if (const auto* b = std::get_if<Broadcast>(&e)) {
        for (SessionId to : b->to) {
          if (to == s) found.push_back(b->message);
        }
      }
    }
    return found;
  }

  /// Effects of type T in the last step.
  template <typename T>
  std::vector<T> effects() const {
    std::vector<T> found;
    for (const Effect& e : last) {
      if (const auto* t = std::get_if<T>(&e)) found.push_back(*t);
    }
    return found;
  }

  /// True when `s` got an ok reply in the last step.
  bool ok_to(SessionId s) const { return !sent<OkReply>(s).empty(); }

  /// The error code `s` got in the last step; throws when it got none.
  ErrorCode error_to(SessionId s) const {
    auto errors = sent<ErrorReply>(s);
    if (errors.size() != 1) throw std::runtime_error("expected exactly one error reply");
    return errors.front().code;
  }

  /// The register reply `s` got in the last step.
  RegisteredData registered(SessionId s) const { return std::get<RegisteredData>(sent<OkReply>(s).at(0).data); }

  /// A media proof with `counter` under the key and id of a register reply (a forged one when
  /// `forged`: another key).
  static MediaProbeDatagram proof(const RegisteredData& reg, uint64_t counter, bool forged = false) {
    SecretKey key;
    std::array<uint8_t, 8> id{};
    if (!from_hex(reg.media_token, key.bytes) || !from_hex(reg.media_id, id))
      throw std::runtime_error("bad register reply");
    if (forged) key.bytes[0] ^= 1;
    MediaProbeDatagram p;
    for (uint8_t b : id) p.media_id = (p.media_id << 8) | b;
    p.counter = counter;
    p.mac = media_probe_mac(key, p.media_id, counter);
    return p;
  }

  /// Ids of the sessions that received anything in the last step (broadcasts included).
  std::vector<SessionId> recipients() const {
    std::vector<SessionId> ids;
    for (const Effect& e : last) {
      if (const auto* m = std::get_if<SendMessage>(&e)) ids.push_back(m->to);
      if (const auto* b = std::get_if<Broadcast>(&e)) ids.insert(ids.end(), b->to.begin(), b->to.end());
    }
    return ids;
  }

 private:
  uint64_t next_session_ = 1;
  uint64_t next_request_id_ = 1;
};

}  // namespace hailer::test
