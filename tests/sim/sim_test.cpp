// The simulator's own parts: event order, the network model, scenario validation.
#include <catch2/catch.hpp>

#include "sim/event_queue.hpp"
#include "sim/network.hpp"
#include "sim/report.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/swarm.hpp"

using namespace hailer;
using namespace hailer::sim;
using json = nlohmann::json;

TEST_CASE("event queue runs by time, then by insertion order", "[sim]") {
  EventQueue q;
  std::vector<int> order;
  q.at(Time::from_ms(5), [&] { order.push_back(2); });
  q.at(Time::from_ms(1), [&] { order.push_back(1); });
  q.at(Time::from_ms(5), [&] {
    order.push_back(3);
    q.after(Duration{}, [&] { order.push_back(4); });  // same time, scheduled later: runs after
  });
  while (q.step()) {
  }
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(q.now() == Time::from_ms(5));
}

TEST_CASE("network: latency, jitter bounds, loss rate and burstiness follow the profile", "[sim]") {
  LinkProfile p;
  p.latency_ms = 30;
  p.jitter_ms = 10;
  p.loss.random = 0.05;
  Network net(42, p);
  int lost = 0;
  for (int i = 0; i < 20'000; ++i) {
    const Time now = Time::from_ms(20 * i);
    const auto arrivals = net.datagram(now, "a", "b");
    if (arrivals.empty()) {
      ++lost;
      continue;
    }
    REQUIRE(arrivals[0] >= now + Duration::from_ms(30));
    REQUIRE(arrivals[0] <= now + Duration::from_ms(40));
  }
  CHECK(lost == Approx(1000).margin(150));

  LinkProfile bursty;
  bursty.loss.burst_enter = 0.01;
  bursty.loss.burst_exit = 0.25;
  Network b(7, bursty);
  int runs = 0, burst_lost = 0;
  bool previous = false;
  for (int i = 0; i < 20'000; ++i) {
    const bool l = b.datagram(Time::from_ms(20 * i), "a", "b").empty();
    burst_lost += l;
    runs += (l && !previous);
    previous = l;
  }
  CHECK(static_cast<double>(burst_lost) / runs > 2.5);  // mean burst length ~ 1 / burst_exit = 4
}

TEST_CASE("network: streams stay in order and wait out partitions, the same seed repeats", "[sim]") {
  LinkProfile p;
  p.latency_ms = 20;
  p.jitter_ms = 50;
  p.loss.random = 0.1;
  Network a(9, p), b(9, p);
  a.partition({{"x"}, {"server"}}, Time::from_ms(1000), Time::from_ms(3000));
  b.partition({{"x"}, {"server"}}, Time::from_ms(1000), Time::from_ms(3000));
  Time last{0};
  for (int i = 0; i < 500; ++i) {
    const Time now = Time::from_ms(10 * i);
    const Time t = a.stream(now, "x", "server", 1);
    CHECK(t == b.stream(now, "x", "server", 1));
    REQUIRE(t >= last);
    if (now >= Time::from_ms(1000) && now < Time::from_ms(3000)) REQUIRE(t >= Time::from_ms(3020));
    last = t;
  }
  CHECK(a.datagram(Time::from_ms(1500), "x", "server").empty());  // datagrams across a cut are lost
}

namespace {
json minimal() {
  return json::parse(R"({"name":"t","duration_ms":1000,"participants":[{"name":"alice"},{"name":"bob"}],
    "steps":[{"at_ms":10,"who":"alice","do":"call","to":"bob","label":"go"}],
    "expect":[{"notice":"call_ringing","to":"bob","after":"go","within_ms":100}]})");
}
std::string error_of(const json& j) {
  try {
    parse_scenario(j, "s");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("scenario validation names the offending path", "[sim]") {
  CHECK(error_of(minimal()).empty());
  auto j = minimal();
  j["steps"][0]["who"] = "zed";
  CHECK(error_of(j) == "s.steps[0].who: names no participant");
  j = minimal();
  j["expect"][0]["withn_ms"] = 5;
  CHECK(error_of(j) == "s.expect[0].withn_ms: unknown field");
  j = minimal();
  j["expect"][0]["after"] = "nope";
  CHECK(error_of(j).find("names no step or fault label") != std::string::npos);
  j = minimal();
  j["expect"][0]["notice"] = "call_rnging";
  CHECK(error_of(j).find("unknown notice type") != std::string::npos);
  j = minimal();
  j["network"] = {{"default", {{"loss", 1.5}}}};
  CHECK(error_of(j).find("s.network.default.loss") != std::string::npos);
  j = minimal();
  j["server"] = {{"ring_timeout_ms", 0}};
  CHECK(error_of(j).find("ring_timeout_ms") != std::string::npos);
  // The server block takes any settable row of the config table, within its range.
  j = minimal();
  j["server"] = {{"max_rooms_per_address", 2}, {"max_media_probes_per_second", 100}};
  CHECK(error_of(j).empty());
  j["server"] = {{"max_rooms_per_address", 0}};
  CHECK(error_of(j) == "s.server.max_rooms_per_address: must be in 1..10000");
  j["server"] = {{"rendezvous_udp_port", 7701}};  // the adapter's, never a scenario's
  CHECK(error_of(j) == "s.server.rendezvous_udp_port: unknown field");
  j = minimal();
  j["steps"][0]["do"] = "dance";
  CHECK(error_of(j).find("s.steps[0].do: must be one of connect, disconnect") != std::string::npos);
  j = minimal();
  j["expect"].push_back({{"no_notice", "call_ended"}, {"to", "bob"}, {"after", "go"}, {"before", "go"}});
  CHECK(error_of(j).find("the window is empty") != std::string::npos);  // a check that cannot fail
  j = minimal();
  j["participants"][1]["name"] = "alice";
  CHECK(error_of(j).find("duplicate name") != std::string::npos);
}

TEST_CASE("a run reports a missed expectation with what was seen instead", "[sim]") {
  auto j = minimal();
  j["expect"].push_back({{"notice", "call_connected"}, {"to", "alice"}});  // bob never accepts
  const RunResult r = run_scenario(parse_scenario(j, "s"), "s", "");
  CHECK_FALSE(r.passed);
  REQUIRE(r.expectations.size() == 2);
  CHECK(r.expectations[0].passed);
  CHECK_FALSE(r.expectations[1].passed);
  CHECK(r.expectations[1].detail.find("no 'call_connected' reached alice") != std::string::npos);
  CHECK(r.failure.empty());
}

TEST_CASE("swarm scenarios are valid, reproducible from their seed, and keep every invariant", "[sim]") {
  for (uint64_t i = 0; i < 10; ++i) {
    const uint64_t seed = swarm_run_seed(99, i);
    CHECK(random_scenario(seed) == random_scenario(seed));
    const Scenario s = parse_scenario(random_scenario(seed), "swarm");
    const RunResult r = run_scenario(s, "swarm", "");
    INFO(r.failure);
    CHECK(r.passed);
  }
}

TEST_CASE("the swarm reaches the transport rules: stalled readers closed as slow_reader, floods refused", "[sim]") {
  // Without this the random scenarios would never exercise the simulator's slow-reader cut or the
  // host's flood rule, and the invariants would never be checked around them.
  int slow_readers = 0;
  int floods = 0;
  for (uint64_t i = 0; i < 120 && (slow_readers == 0 || floods == 0); ++i) {
    const Scenario s = parse_scenario(random_scenario(swarm_run_seed(20261122, i)), "swarm");
    const RunResult r = run_scenario(s, "swarm", "");
    INFO("run " << i << ": " << r.failure);
    REQUIRE(r.passed);
    slow_readers += r.core.closed_by_reason[static_cast<std::size_t>(CloseReason::slow_reader)] > 0 ? 1 : 0;
    floods += r.host.floods > 0 ? 1 : 0;
  }
  CHECK(slow_readers > 0);
  CHECK(floods > 0);
}

TEST_CASE("where: unknown keys and wrongly typed values are refused, not silently unmatched", "[sim]") {
  auto with_where = [](json where) {
    auto j = minimal();
    j["expect"].push_back({{"no_notice", "wait_update"}, {"to", "bob"}, {"where", where}});
    return error_of(j);
  };
  CHECK(with_where({{"position", 1}}).empty());
  CHECK(with_where({{"positon", 1}}).find("where.positon: 'wait_update' has no such field") != std::string::npos);
  CHECK(with_where({{"position", "1"}}).find("where.position: must be an integer") != std::string::npos);
  CHECK(with_where({{"position", 1.5}}).find("must be an integer") != std::string::npos);
  CHECK(with_where({{"status", "waiting"}}).find("is not a value 'status' can have") != std::string::npos);
  CHECK(with_where({{"callee", nullptr}}).find("must be a string") != std::string::npos);
  auto j = minimal();
  j["expect"].push_back({{"notice", "error"}, {"to", "bob"}, {"where", {{"id", nullptr}, {"code", "bad_json"}}}});
  CHECK(error_of(j).empty());  // an error's id may be null
  j["expect"].back()["where"]["code"] = "bad_jsn";
  CHECK(error_of(j).find("is not a value 'code' can have") != std::string::npos);
  j = minimal();
  j["expect"].push_back({{"notice", "disconnected"}, {"to", "bob"}, {"where", {{"x", 1}}}});
  CHECK(error_of(j).find("has no such field") != std::string::npos);
}

TEST_CASE("a nested where is checked field by field and matches the fields it names", "[sim]") {
  auto with_where = [](const json& where) {
    auto j = minimal();
    j["expect"].push_back({{"no_notice", "call_connected"}, {"to", "bob"}, {"where", where}});
    return error_of(j);
  };
  CHECK(with_where({{"peer_media", {{"port", 5004}}}}).empty());
  CHECK(with_where({{"peer_media", {{"prot", 5004}}}})
            .find("where.peer_media.prot: 'call_connected.peer_media' has no such field") != std::string::npos);
  CHECK(with_where({{"peer_media", {{"port", "5004"}}}}).find("where.peer_media.port: must be an integer") !=
        std::string::npos);
  CHECK(with_where({{"peer_media", 5004}}).find("where.peer_media: must be an object") != std::string::npos);

  // A nested object names some fields and matches whatever the others hold.
  const json scenario = json::parse(R"({"name":"nested","duration_ms":3000,"seed":3,
    "participants":[{"name":"alice"},{"name":"bob","auto_accept_ms":50}],
    "steps":[{"at_ms":100,"who":"alice","do":"call","to":"bob","label":"dial"}],
    "expect":[{"notice":"call_connected","to":"bob","where":{"peer_media":{"port":5004}},"after":"dial","within_ms":500},
              {"no_notice":"call_connected","to":"bob","where":{"peer_media":{"port":5005}}}]})");
  const RunResult result = run_scenario(parse_scenario(scenario, "nested"), "nested", "");
  REQUIRE(result.expectations.size() == 2);
  for (const auto& e : result.expectations) {
    CAPTURE(e.detail);
    CHECK(e.passed);
  }
}

TEST_CASE("step arguments belong to their actions, and values are typed", "[sim]") {
  auto j = minimal();
  j["steps"][0]["policy"] = "queue";  // a call has no policy
  CHECK(error_of(j).find("s.steps[0].policy: is not an argument of 'call'") != std::string::npos);
  j = minimal();
  j["steps"].push_back({{"at_ms", 20}, {"who", "bob"}, {"do", "raw_audio"}});
  CHECK(error_of(j).find("raw_audio is for PTT participants") != std::string::npos);
  j = minimal();
  j["steps"].push_back({{"at_ms", 20}, {"who", "bob"}, {"do", "raw_binary"}, {"hex", "0x1"}});
  CHECK(error_of(j).find("s.steps[1].hex") != std::string::npos);
  j = minimal();
  j["participants"][0]["room"] = "r";
  CHECK(error_of(j).find("is for PTT participants") != std::string::npos);
  j = minimal();
  j["expect"].push_back({{"metric", "core.calls_conected"}, {"min", 1}});
  CHECK(error_of(j).find("names no report value") != std::string::npos);
  j = minimal();
  j["expect"].push_back(
      {{"notice", "call_ringing"}, {"to", "bob"}, {"after", "go"}, {"within_ms", 100}, {"not_before_ms", 200}});
  CHECK(error_of(j).find("the window is empty") != std::string::npos);
}

namespace {
// A call alice -> bob answered after 300 ms, then hung up, then called again.
json two_calls() {
  return json::parse(R"({"name":"two","duration_ms":8000,"seed":3,
    "network":{"default":{"latency_ms":10}},
    "participants":[{"name":"alice","audio":"speechlike:1"},{"name":"bob","audio":"speechlike:2","auto_accept_ms":300},
                    {"name":"eve"}],
    "steps":[{"at_ms":100,"who":"alice","do":"call","to":"bob","label":"first"},
             {"at_ms":2500,"who":"alice","do":"hangup","label":"hung"},
             {"at_ms":3000,"who":"alice","do":"call","to":"bob","label":"second"},
             {"at_ms":3100,"who":"eve","do":"call","to":"bob","label":"eve_calls"}]})");
}
RunResult run(const json& j) { return run_scenario(parse_scenario(j, "t"), "t", ""); }
bool passes(json j, const json& expectation) {
  j["expect"] = json::array({expectation});
  const RunResult r = run(j);
  INFO(r.failure << " " << (r.expectations.empty() ? "" : r.expectations[0].detail));
  return r.passed;
}
}  // namespace

TEST_CASE("expectations: counts, order of two types, not_before_ms, legs, no_audio, metrics", "[sim]") {
  const json j = two_calls();
  // counts
  CHECK(passes(j, {{"count", "call_connected"}, {"to", {"alice", "bob"}}, {"exactly", 4}}));
  CHECK_FALSE(passes(j, {{"count", "call_connected"}, {"to", {"alice", "bob"}}, {"exactly", 3}}));
  CHECK(passes(j, {{"count", "call_connected"}, {"to", "alice"}, {"after", "second"}, {"min", 1}, {"max", 1}}));
  // the reply before the event it causes, to one recipient
  CHECK(passes(j, {{"order", {"ok", "call_ringing"}}, {"to", "alice"}, {"after", "first"}}));
  CHECK_FALSE(passes(j, {{"order", {"call_ringing", "ok"}}, {"to", "alice"}, {"after", "first"}}));
  // not before: bob rings at once, is answered 300 ms later
  CHECK(passes(
      j,
      {{"notice", "call_connected"}, {"to", "alice"}, {"after", "first"}, {"not_before_ms", 300}, {"within_ms", 400}}));
  CHECK_FALSE(passes(
      j,
      {{"notice", "call_connected"}, {"to", "alice"}, {"after", "first"}, {"not_before_ms", 400}, {"within_ms", 450}}));
  // one leg of several between the same pair
  CHECK(passes(j, {{"audio", {{"from", "alice"}, {"to", "bob"}}}, {"leg", 2}, {"mos_min", 3.5}}));
  CHECK_FALSE(passes(j, {{"audio", {{"from", "alice"}, {"to", "bob"}}}, {"leg", 3}}));
  // nobody played eve's (she never talked), and nobody played audio to eve
  CHECK(passes(j, {{"no_audio", {{"from", "eve"}}}}));
  CHECK_FALSE(passes(j, {{"no_audio", {{"from", "alice"}, {"to", "bob"}}}}));
  // report values
  CHECK(passes(j, {{"metric", "core.calls_connected"}, {"min", 2}, {"max", 2}}));
  CHECK(passes(j, {{"metric", "notify_latency.call_ringing.p95_ms"}, {"max", 25}}));
  CHECK_FALSE(passes(j, {{"metric", "notify_latency.call_ringing.p95_ms"}, {"max", 5}}));
  CHECK_FALSE(passes(j, {{"metric", "notify_latency.floor_granted.p95_ms"}, {"max", 1000}}));  // never seen
  CHECK(passes(j, {{"metric", "notify_latency.floor_granted.count"}, {"max", 0}}));
}

TEST_CASE("correlation that cannot be measured is reported with the reason, and fails only with it", "[sim]") {
  auto j = json::parse(R"({"name":"tone","duration_ms":5000,"seed":4,
    "participants":[{"name":"alice","audio":"tone:440"},{"name":"bob","auto_accept_ms":100}],
    "steps":[{"at_ms":100,"who":"alice","do":"call","to":"bob"}],
    "expect":[{"audio":{"from":"alice","to":"bob"},"correlation_min":0.5}]})");
  const RunResult r = run(j);
  REQUIRE(r.streams.size() == 1);
  CHECK_FALSE(r.streams[0].correlation.has_value());
  CHECK(r.streams[0].unmeasurable.find("steady tone") != std::string::npos);
  CHECK_FALSE(r.passed);
  CHECK(r.expectations[0].detail.find("correlation not measurable: ") != std::string::npos);
  j["expect"][0].erase("correlation_min");
  j["expect"][0]["mos_min"] = 3.5;
  CHECK(run(j).passed);  // nothing else depends on it
}

TEST_CASE("notice latency is measured per type from each notice's own cause", "[sim]") {
  const RunResult r = run(two_calls());
  REQUIRE(r.notice_latency_us.contains("call_ringing"));
  for (int64_t us : r.notice_latency_us.at("call_ringing")) {
    CHECK(us >= 20'000);  // request in, notice out: two 10 ms hops
    CHECK(us <= 21'000);
  }
  // call_connected is caused by bob's accept, not by alice's call 300 ms earlier.
  for (int64_t us : r.notice_latency_us.at("call_connected")) CHECK(us <= 21'000);
}

TEST_CASE("the message log holds every message in the order the server wrote it: the newest connection first",
          "[sim]") {
  const RunResult r = run(two_calls());
  REQUIRE_FALSE(r.messages.empty());
  int64_t last = 0;
  int calls_seen = 0, callee_told_first = 0;
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    CHECK(r.messages[i].at_us >= last);
    last = r.messages[i].at_us;
    const auto& m = r.messages[i];
    if (m.from == "alice" && m.text.find(R"("type":"call")") != std::string::npos && i + 2 < r.messages.size()) {
      // The call's consequence (bob's call_ringing) leaves before the caller's own ok, as
      // hailer-server writes it (host/write_order.hpp); each at the same instant.
      ++calls_seen;
      const auto& first = r.messages[i + 1];
      const auto& second = r.messages[i + 2];
      if (first.to == "bob" && first.text.find(R"("type":"call_ringing")") != std::string::npos &&
          second.to == "alice" && second.text.find(R"("type":"ok")") != std::string::npos &&
          first.at_us == second.at_us)
        ++callee_told_first;
    }
  }
  CHECK(calls_seen == 2);
  CHECK(callee_told_first == 2);
  const std::string jsonl = messages_jsonl({r});
  CHECK(std::count(jsonl.begin(), jsonl.end(), '\n') == static_cast<long>(r.messages.size()));
}

TEST_CASE("audio without the floor is dropped and counted, a malformed frame closes only its sender", "[sim]") {
  const auto j = json::parse(R"({"name":"raw","duration_ms":3000,"seed":5,
    "participants":[{"name":"ann","face":"ptt","room":"c","audio":"speechlike:3"},{"name":"ben","face":"ptt","room":"c"},
                    {"name":"cat","face":"ptt","room":"c"}],
    "steps":[{"at_ms":200,"who":"ann","do":"press"},
             {"at_ms":300,"who":"ben","do":"raw_audio","frames":25,"label":"ben_sends"},
             {"at_ms":1500,"who":"cat","do":"raw_binary","hex":"02000001ff","label":"cat_sends"}],
    "expect":[{"metric":"core.audio_frames_dropped","min":25,"max":25},
              {"metric":"host.bad_frames","min":1,"max":1},
              {"notice":"error","to":"cat","where":{"code":"bad_frame"},"after":"cat_sends","within_ms":100},
              {"notice":"disconnected","to":"cat","after":"cat_sends","within_ms":100},
              {"no_notice":"disconnected","to":["ann","ben"]},
              {"no_audio":{"from":"ben"}},
              {"audio":{"from":"ann","to":"speaker"},"loss_max":0.0}]})");
  const RunResult r = run(j);
  std::string details;
  for (const auto& e : r.expectations) details += e.text + " -> " + e.detail + "\n";
  INFO(details);
  CHECK(r.failure.empty());
  CHECK(r.passed);
}

TEST_CASE("behind a NAT, calls reach a client only at the endpoint it proved", "[sim]") {
  auto j = json::parse(R"({"name":"nat","duration_ms":5000,"seed":6,
    "participants":[{"name":"alice","audio":"speechlike:1","nat":true},{"name":"bob","audio":"speechlike:2","auto_accept_ms":100}],
    "steps":[{"at_ms":500,"who":"alice","do":"call","to":"bob"}],
    "expect":[{"notice":"media_ready","to":"alice","where":{"port":40000}},
              {"notice":"call_connected","to":"bob","where":{"peer_media":{"address":"alice","port":40000}}},
              {"audio":{"from":"bob","to":"alice"},"mos_min":4.0}]})");
  CHECK(run(j).passed);
  // Without the UDP proof the server can only announce the declared port, which the NAT drops:
  // bob's audio goes through the relay instead, alice's binding packets having bound her leg.
  j["participants"][0]["probe"] = false;
  j["expect"] = json::array({{{"notice", "call_connected"},
                              {"to", "bob"},
                              {"where", {{"peer_media", {{"address", "alice"}, {"port", 5004}}}}}},
                             {{"audio", {{"from", "bob"}, {"to", "alice"}}}, {"path", "relay"}, {"mos_min", 4.0}},
                             {{"audio", {{"from", "alice"}, {"to", "bob"}}}, {"path", "direct"}}});
  const RunResult r = run(j);
  std::string details;
  for (const auto& e : r.expectations) details += e.text + " -> " + e.detail + "\n";
  INFO(details);
  CHECK(r.passed);
}

TEST_CASE("a missing audio fixture is a usage error naming the file", "[sim]") {
  auto j = minimal();
  j["participants"][0]["audio"] = "no_such_file.wav";
  j["participants"][1]["auto_accept_ms"] = 10;
  CHECK_THROWS_WITH(run_scenario(parse_scenario(j, "s"), "s", "/nonexistent"),
                    Catch::Matchers::Contains("/nonexistent/no_such_file.wav does not exist"));
}

TEST_CASE("a where naming a field that a notice lacks does not match that notice", "[sim]") {
  // alice's call to busy bob is answered ok with queued:true and no call_id at all; carol's to
  // free bob has a call_id. A where naming call_id must not match alice's ok, whatever its value.
  const json scenario = json::parse(R"({"name":"absent field","duration_ms":3000,"seed":5,
    "participants":[{"name":"alice"},{"name":"bob","auto_accept_ms":50},{"name":"carol"}],
    "steps":[{"at_ms":100,"who":"carol","do":"call","to":"bob"},
             {"at_ms":600,"who":"alice","do":"call","to":"bob","label":"queued"}],
    "expect":[{"notice":"ok","to":"alice","where":{"queued":true},"after":"queued","within_ms":500},
              {"no_notice":"ok","to":"alice","where":{"queued":true,"call_id":1}},
              {"count":"ok","to":"alice","where":{"call_id":1},"exactly":0},
              {"count":"ok","to":"carol","where":{"call_id":1},"exactly":1}]})");
  const RunResult result = run_scenario(parse_scenario(scenario, "absent field"), "absent field", "");
  REQUIRE(result.expectations.size() == 4);
  for (const auto& e : result.expectations) {
    CAPTURE(e.detail);
    CHECK(e.passed);
  }
}
