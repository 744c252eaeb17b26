// The simulator's own parts: event order, the network model, scenario validation.
#include <catch2/catch.hpp>

#include "sim/event_queue.hpp"
#include "sim/network.hpp"
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
