#include "sim/world.hpp"

#include "base/assert.hpp"
#include "sim/attacker.hpp"
#include "sim/parallel.hpp"
#include "sim/simulated_client.hpp"
#include "sim/simulated_server.hpp"

namespace hailer::sim {

namespace {
constexpr uint64_t max_events_per_run = 200'000'000;            // a bound on every run, whatever the scenario
constexpr uint16_t first_nat_port = 40'000;                     // a NAT maps participant i's media port to 40000 + i
const AudioFormat call_audio_format{AudioCodec::opus, 48'000};  // what call legs carry
}  // namespace

World::World(const Scenario& scenario, const std::string& fixtures_dir, MediaCache* cache)
    : scenario_(scenario),
      sources_(fixtures_dir, cache != nullptr ? *cache : own_cache_),
      network_(scenario.seed, scenario.default_link) {
  for (const auto& [pair, profile] : scenario_.links) network_.set_link(pair.first, pair.second, profile);
  // The server has its UDP port, as hailer-server does by default: media proofs and the relay.
  Config server_config = scenario_.server;
  server_config.rendezvous_udp_port = server_udp_port;
  server_ = std::make_unique<SimulatedServer>(*this, server_config, derive_seed(scenario_.seed, "server"));
  uint16_t index = 0;
  for (const auto& p : scenario_.participants) {
    if (p.attack) {
      attacker_ = std::make_unique<Attacker>(*this, p);
      continue;
    }
    clients_[p.name] = std::make_unique<SimulatedClient>(*this, p, static_cast<uint16_t>(first_nat_port + index++));
  }
  prepare_sources();
  schedule_scenario();
}

World::~World() = default;

void World::tap(const std::string& from, uint16_t from_port, const std::string& to, uint16_t port,
                const std::vector<uint8_t>& datagram, AudioStream* stream) {
  if (attacker_) attacker_->tapped(from, from_port, to, port, datagram, stream);
}

std::string World::server_text_to(const std::string& to, const std::string& text) {
  return attacker_ ? attacker_->rewrite(to, text) : text;
}

SimulatedClient& World::client(const std::string& name) { return *clients_.at(name); }

SimulatedClient* World::find_client(const std::string& name) {
  auto it = clients_.find(name);
  return it == clients_.end() ? nullptr : it->second.get();
}

AudioStream& World::new_stream(const std::string& from, const std::string& to) {
  streams_.emplace_back();
  AudioStream& s = streams_.back();
  s.from = from;
  s.to = to;
  s.started_us = queue_.now().us;
  // A call leg is played by its receiver's playout; a PTT turn by the server's speaker.
  if (to != "speaker") {
    s.decode_log = std::make_shared<DecodeLog>(call_audio_format);
    decoding_.add(s.decode_log);
    s.playout = std::make_unique<Playout>(scenario_.jitter_buffer, std::make_unique<DeferredDecoder>(s.decode_log));
  }
  return s;
}

void World::prepare_sources() {
  // A call participant with a source sends it in every call it has, so its packets are made
  // now, all sources at once sharing the cores. A student's are made when it first talks: in
  // a class most never do.
  std::vector<std::string> specs;
  for (const auto& p : scenario_.participants) {
    if (!p.audio.empty() && p.face == Face::calls) specs.push_back(p.audio);
  }
  sources_.prepare(specs, scenario_.opus);
}

void World::schedule_scenario() {
  for (const auto& p : scenario_.participants) {
    if (p.attack) continue;
    SimulatedClient* c = clients_.at(p.name).get();
    queue_.at(Time::from_ms(p.start_ms), [c] { c->start(); });
  }
  for (std::size_t i = 0; i < scenario_.steps.size(); ++i) {
    const Step& s = scenario_.steps[i];
    SimulatedClient* c = clients_.at(s.who).get();
    if (!s.label.empty()) label_times_[s.label] = Time::from_ms(s.at_ms).us;
    const std::string name =
        "steps[" + std::to_string(i) + "] " + s.who + " " + s.action_name + " at " + std::to_string(s.at_ms) + " ms";
    queue_.at(Time::from_ms(s.at_ms), [this, c, &s, name] {
      last_step_ = name;
      c->do_step(s);
    });
  }
  for (std::size_t i = 0; i < scenario_.faults.size(); ++i) {
    const Fault& f = scenario_.faults[i];
    if (!f.label.empty()) label_times_[f.label] = Time::from_ms(f.at_ms).us;
    const std::string name = "faults[" + std::to_string(i) + "] at " + std::to_string(f.at_ms) + " ms";
    queue_.at(Time::from_ms(f.at_ms), [this, &f, name] {
      last_step_ = name;
      run_fault(f);
    });
  }
}

void World::run_fault(const Fault& f) {
  const Time now = queue_.now();
  switch (f.kind) {
    case FaultKind::partition:
      return network_.partition(f.groups, now, now + Duration::from_ms(f.duration_ms));
    case FaultKind::stall:
      return network_.stall(f.who, now, now + Duration::from_ms(f.duration_ms));
    case FaultKind::link:
      return network_.set_link(f.a, f.b, f.profile);
    case FaultKind::disconnect:
      return clients_.at(f.who)->cut();
    case FaultKind::udp_block: {
      SimulatedClient* c = clients_.at(f.who).get();
      c->block_udp(true);
      if (f.duration_ms > 0) queue_.after(Duration::from_ms(f.duration_ms), [c] { c->block_udp(false); });
      return;
    }
  }
  HAILER_ASSERT(false && "unknown fault");
}

void World::run(const std::function<void(double)>& progress) {
  const Time end = Time::from_ms(scenario_.duration_ms);
  int64_t next_report_us = end.us / 10;
  while (auto t = queue_.next_time()) {
    if (*t > end) break;
    if (queue_.executed() >= max_events_per_run) throw InvariantBroken("event limit reached: a runaway scenario");
    queue_.step();
    if (progress && queue_.now().us >= next_report_us) {
      progress(static_cast<double>(queue_.now().us) / static_cast<double>(end.us));
      next_report_us += end.us / 10;
    }
  }
  server_->finish(end);
  if (attacker_) attacker_->finish();
  decode_streams();
}

void World::decode_streams() {
  std::vector<AudioStream*> legs;
  for (auto& s : streams_) {
    if (s.decode_log) legs.push_back(&s);
  }
  decoding_.stop();
  // Each leg has its own decoder and writes only its own track: any order gives the same bytes.
  run_in_parallel(legs.size(), [&](std::size_t i) { legs[i]->decode_log->finish(legs[i]->received); });
}

}  // namespace hailer::sim
