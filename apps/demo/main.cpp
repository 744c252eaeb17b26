// hailer-demo: drives the pure core through a scripted call with a busy callee and a PTT
// contention, on a virtual clock, and prints every notice each participant receives.
// It is the README's first command until the servers exist.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/codec.hpp"
#include "core/core.hpp"

using namespace hailer;

namespace {

class Demo {
 public:
  explicit Demo(bool raw) : raw_(raw) {}

  SessionId user(const std::string& name) {
    const SessionId s = open(name);
    say(s, RegisterRequest{protocol_version, name, 5004});
    return s;
  }

  SessionId member(const std::string& name, Role role) {
    const SessionId s = open(name);
    say(s, JoinRequest{protocol_version, name, "class", role, AudioCodec::pcm16, 48'000, ""});
    return s;
  }

  void say(SessionId s, RequestBody body) {
    const Request r{next_id_++, std::move(body)};
    std::printf("%8.3f s  %-8s -> %s\n", static_cast<double>(now_.us) / 1e6, who_[s].c_str(), encode_request(r).c_str());
    feed(RequestReceived{s, r});
  }

  void wait_ms(int64_t ms) {
    const Time target = now_ + Duration::from_ms(ms);
    while (auto deadline = core_.next_deadline()) {
      if (*deadline > target) break;
      now_ = std::max(now_, *deadline);
      feed(TimerFired{});
    }
    now_ = target;
  }

  void heading(const char* text) { std::printf("\n== %s\n", text); }

 private:
  SessionId open(const std::string& name) {
    const SessionId s{next_session_++};
    who_[s] = name;
    feed(SessionOpened{s, "127.0.0.1"});
    return s;
  }

  void feed(const Event& e) {
    std::vector<Effect> out;
    core_.handle(now_, e, out);
    core_.check_invariants();
    for (const Effect& effect : out) print(effect);
  }

  void print(const Effect& effect) {
    if (const auto* m = std::get_if<SendMessage>(&effect)) {
      if (!raw_ && std::holds_alternative<OkReply>(m->message)) return;  // acknowledgements are noise here
      std::printf("%8.3f s  %-8s <- %s\n", static_cast<double>(now_.us) / 1e6, who_[m->to].c_str(),
                  encode(m->message).c_str());
    } else if (const auto* r = std::get_if<StartRecording>(&effect)) {
      std::printf("%8.3f s  [server]    record %s's turn to %s\n", static_cast<double>(now_.us) / 1e6,
                  who_[r->session].c_str(), r->file_name.c_str());
    }
  }

  bool raw_;
  Core core_{Config{}};
  Time now_{0};
  uint64_t next_session_ = 1;
  uint64_t next_id_ = 1;
  std::map<SessionId, std::string> who_;
};

void calls_demo(Demo& d) {
  d.heading("Calls: carol finds bob busy, is queued, and is told the instant he is free");
  const SessionId alice = d.user("alice");
  const SessionId bob = d.user("bob");
  const SessionId carol = d.user("carol");
  d.say(alice, CallRequest{"bob", std::nullopt});
  d.wait_ms(1200);
  d.say(bob, AcceptRequest{});
  d.wait_ms(500);
  d.say(carol, CallRequest{"bob", std::nullopt});
  d.wait_ms(3000);
  d.say(alice, HangupRequest{});  // the OTHER party hangs up: carol is still told
  d.wait_ms(800);
  d.say(carol, CallRequest{"bob", std::nullopt});
  d.wait_ms(900);
  d.say(bob, AcceptRequest{});
}

void ptt_demo(Demo& d) {
  d.heading("Push-to-talk: two presses 1 ms apart; one talker, a clear answer for the other");
  const SessionId teacher = d.member("teacher", Role::instructor);
  const SessionId ann = d.member("ann", Role::student);
  const SessionId ben = d.member("ben", Role::student);
  d.say(ann, PressRequest{});
  d.wait_ms(1);
  d.say(ben, PressRequest{});
  d.wait_ms(500);
  d.say(teacher, SetPolicyRequest{FloorPolicy::queue});
  d.say(ben, PressRequest{});
  d.wait_ms(2000);
  d.say(ann, ReleaseRequest{});  // the queued press is granted without pressing again
  d.wait_ms(6'000);  // ben sends no voice: after the 5 s silence timeout the floor is revoked
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hailer-demo: the hailer core driven by a scripted call and a PTT contention"};
  bool raw = false;
  app.add_flag("--raw", raw, "also print the ok replies");
  CLI11_PARSE(app, argc, argv);
  Demo demo(raw);
  calls_demo(demo);
  ptt_demo(demo);
  return 0;
}
