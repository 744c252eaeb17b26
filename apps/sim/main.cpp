// hailer-sim: replays scenarios on the simulator, or runs a swarm of random ones.
//   hailer-sim SCENARIO.json... [--seed N] [--report DIR] [--fixtures DIR]
//   hailer-sim --swarm --seed S --runs N [--regressions DIR]
//   hailer-sim --replay JOURNAL        (a journal written by hailer-server --journal)
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "host/journal.hpp"
#include "sim/report.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/swarm.hpp"
#include "sim/world.hpp"

using namespace hailer::sim;

namespace {

// Progress on stderr for runs that take a while; never in the reports (they stay deterministic).
class Progress {
 public:
  explicit Progress(std::string label) : label_(std::move(label)), start_(std::chrono::steady_clock::now()) {}
  void operator()(double fraction) const {
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    if (elapsed > std::chrono::seconds(2)) std::fprintf(stderr, "  %s: %3.0f%%\n", label_.c_str(), fraction * 100);
  }

 private:
  std::string label_;
  std::chrono::steady_clock::time_point start_;
};

void print_failure(const RunResult& r, bool from_file) {
  std::fprintf(stderr, "FAILED %s (%s), seed %llu\n", r.scenario.c_str(), r.source.c_str(),
               static_cast<unsigned long long>(r.seed));
  if (!r.failure.empty()) std::fprintf(stderr, "  invariant broken: %s\n", r.failure.c_str());
  for (const auto& e : r.expectations) {
    if (e.passed) continue;
    std::fprintf(stderr, "  expectation %zu %s\n    saw: %s\n", e.index, e.text.c_str(), e.detail.c_str());
  }
  if (from_file) {
    std::fprintf(stderr, "  reproduce: hailer-sim %s --seed %llu\n", r.source.c_str(),
                 static_cast<unsigned long long>(r.seed));
  }
}

int replay(const std::vector<std::string>& files, std::optional<uint64_t> seed, const std::string& report_dir,
           const std::string& fixtures) {
  std::vector<RunResult> runs;
  MediaCache cache;  // scenarios share fixtures: decode and encode each source once
  int failed = 0;
  for (const auto& file : files) {
    Scenario s;
    try {
      s = load_scenario(file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
    if (seed) s.seed = *seed;
    RunResult r;
    try {
      r = run_scenario(s, file, fixtures, Progress(s.name), &cache);
    } catch (const FixtureError& e) {
      std::fprintf(stderr, "error: %s: %s\n", file.c_str(), e.what());
      return 2;
    }
    const auto passed =
        std::count_if(r.expectations.begin(), r.expectations.end(), [](const auto& e) { return e.passed; });
    std::vector<int64_t> latencies;
    for (const auto& [type, us] : r.notice_latency_us) latencies.insert(latencies.end(), us.begin(), us.end());
    std::printf("%-4s %-40s seed %-6llu %zu/%zu expectations, notice latency p95 %.1f ms\n", r.passed ? "ok" : "FAIL",
                s.name.c_str(), static_cast<unsigned long long>(r.seed), static_cast<std::size_t>(passed),
                r.expectations.size(), percentile(latencies, 95) / 1000.0);
    if (!r.passed) {
      print_failure(r, true);
      ++failed;
    }
    runs.push_back(std::move(r));
  }
  if (!report_dir.empty()) write_reports(report_dir, runs);
  std::printf("%zu passed, %d failed\n", runs.size() - static_cast<std::size_t>(failed), failed);
  return failed == 0 ? 0 : 1;
}

int swarm(uint64_t seed, uint64_t runs, const std::string& regressions, const std::string& fixtures) {
  MediaCache cache;
  int failed = 0;
  for (uint64_t i = 0; i < runs; ++i) {
    const uint64_t run_seed = swarm_run_seed(seed, i);
    const auto json = random_scenario(run_seed);
    const Scenario s = parse_scenario(json, "swarm");
    const RunResult r = run_scenario(s, "swarm seed " + std::to_string(run_seed), fixtures, {}, &cache);
    if (r.passed) continue;
    ++failed;
    std::filesystem::create_directories(regressions);
    const std::string file = regressions + "/swarm-" + std::to_string(run_seed) + ".json";
    std::ofstream(file) << json.dump(2) << "\n";
    print_failure(r, false);
    std::fprintf(stderr, "  saved as %s; reproduce: hailer-sim %s (or hailer-sim --swarm --seed %llu --runs %llu)\n",
                 file.c_str(), file.c_str(), static_cast<unsigned long long>(seed),
                 static_cast<unsigned long long>(i + 1));
  }
  std::printf("swarm seed %llu: %llu runs, %d failed\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(runs), failed);
  std::printf("%llu passed, %d failed\n", static_cast<unsigned long long>(runs - static_cast<uint64_t>(failed)),
              failed);
  return failed == 0 ? 0 : 1;
}

int replay_journal_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "error: cannot open journal %s\n", path.c_str());
    return 2;
  }
  const hailer::ReplayResult r = hailer::replay_journal(in);
  if (r.ok()) {
    std::printf("%s: %llu events replayed, same effects\n", path.c_str(), static_cast<unsigned long long>(r.events));
    return 0;
  }
  if (!r.line) {
    std::fprintf(stderr, "error: %s: %s\n", path.c_str(), r.detail.c_str());
    return 2;
  }
  std::fprintf(stderr, "%s:%llu: %s\n", path.c_str(), static_cast<unsigned long long>(*r.line), r.detail.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hailer-sim: replay scenarios on a virtual network and clock, or run a random swarm"};
  std::vector<std::string> files;
  std::optional<uint64_t> seed;
  std::string report_dir;
  std::string fixtures = "build/fixtures";
  bool swarm_mode = false;
  uint64_t runs = 20;
  std::string regressions = "scenarios/regressions";
  app.add_option("scenarios", files, "scenario JSON files")->check(CLI::ExistingFile);
  app.add_option("--seed", seed, "override the scenario seed (swarm: the swarm seed)");
  app.add_option("--report", report_dir, "write report.json, report.md and SVG plots here");
  app.add_option("--fixtures", fixtures, "directory of the WAV files scenarios name")->capture_default_str();
  app.add_flag("--swarm", swarm_mode, "run random scenarios instead");
  app.add_option("--runs", runs, "swarm: how many")->capture_default_str()->check(CLI::Range(1, 1'000'000));
  app.add_option("--regressions", regressions, "swarm: where failing scenarios are saved")->capture_default_str();
  std::string journal;
  app.add_option("--replay", journal, "replay a hailer-server journal on a fresh core and check its effects");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!journal.empty()) return replay_journal_file(journal);
    if (swarm_mode) return swarm(seed.value_or(1), runs, regressions, fixtures);
    if (files.empty()) {
      std::fprintf(stderr, "error: give scenario files, or --swarm\n%s", app.help().c_str());
      return 2;
    }
    return replay(files, seed, report_dir, fixtures);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
