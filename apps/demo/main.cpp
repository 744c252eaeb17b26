// hailer-demo: the server host (the same one hailer-server and the simulator run) driven by a
// scripted call with a busy callee and a PTT contention on a virtual clock, printing every
// message each participant receives. No sockets: a port that prints.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "host/server_host.hpp"
#include "protocol/codec.hpp"

using namespace hailer;

namespace {

// The host's port and media sink as a printer: every message sent is shown with its recipient
// and time, and every recorded turn with its file.
class PrintingPort : public HostPort, public MediaSink {
 public:
  explicit PrintingPort(bool raw) : raw_(raw) {}

  std::map<SessionId, std::string> who;
  std::optional<Time> timer;
  Time now{0};

  void send_text(SessionId to, std::string_view text) override {
    if (!raw_ && text.starts_with(R"({"type":"ok")")) return;  // acknowledgements are noise here
    std::printf("%8.3f s  %-8s <- %.*s\n", seconds(), who[to].c_str(), static_cast<int>(text.size()), text.data());
  }
  void close(SessionId session, CloseReason reason) override {
    std::printf("%8.3f s  [server]    closes %s: %s\n", seconds(), who[session].c_str(),
                std::string(to_string(reason)).c_str());
  }
  void arm_timer(std::optional<Time> at) override { timer = at; }
  void play(const SpeakerFrame&) override {}
  std::optional<RecordingStopReason> record_start(uint64_t, const std::string&, const std::string& file) override {
    std::printf("%8.3f s  [server]    records the turn to %s\n", seconds(), file.c_str());
    return std::nullopt;
  }
  std::optional<RecordingStopReason> record_append(uint64_t, std::span<const int16_t>) override { return std::nullopt; }
  void record_stop(uint64_t) override {}
  void turn_ended(SessionId, const StreamStats&) override {}

 private:
  double seconds() const { return static_cast<double>(now.us) / 1e6; }
  bool raw_;
};

class Demo {
 public:
  explicit Demo(bool raw) : port_(raw), host_(Config{}, secrets_, HostConfig{}, port_, port_) {}

  SessionId user(const std::string& name) {
    const SessionId s = open(name);
    say(s, RegisterRequest{protocol_version, name, 5004, {}, {}, {}});
    return s;
  }

  SessionId member(const std::string& name, Role role) {
    const SessionId s = open(name);
    say(s, JoinRequest{protocol_version, name, "class", role, AudioCodec::pcm16, 48'000, ""});
    return s;
  }

  void say(SessionId s, RequestBody body) {
    const std::string text = encode_request(Request{next_id_++, std::move(body)});
    std::printf("%8.3f s  %-8s -> %s\n", static_cast<double>(port_.now.us) / 1e6, port_.who[s].c_str(), text.c_str());
    host_.text(port_.now, s, text);
  }

  // Moves the clock, letting the host's timer fire on the way.
  void wait_ms(int64_t ms) {
    const Time target = port_.now + Duration::from_ms(ms);
    while (port_.timer && *port_.timer <= target) {
      port_.now = std::max(port_.now, *port_.timer);
      host_.timer(port_.now);
    }
    port_.now = target;
  }

  void heading(const char* text) { std::printf("\n== %s\n", text); }

 private:
  SessionId open(const std::string& name) {
    const SessionId s{next_session_++};
    port_.who[s] = name;
    host_.opened(port_.now, s, "127.0.0.1");
    return s;
  }

  PrintingPort port_;
  SeededSecrets secrets_{1};  // before host_: the host draws from it
  ServerHost host_;
  uint64_t next_session_ = 1;
  uint64_t next_id_ = 1;
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
  d.heading("Push-to-talk: two presses 1 ms apart, one talker, a clear answer for the other");
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
  d.wait_ms(6'000);              // ben sends no voice: after the 5 s silence timeout the floor is revoked
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hailer-demo: the hailer server host driven by a scripted call and a PTT contention"};
  bool raw = false;
  app.add_flag("--raw", raw, "also print the ok replies");
  CLI11_PARSE(app, argc, argv);
  Demo demo(raw);
  calls_demo(demo);
  ptt_demo(demo);
  return 0;
}
