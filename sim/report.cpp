#include "sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "media/io/wav_file.hpp"
#include "sim/metrics.hpp"

namespace hailer::sim {

namespace {

// Three decimals, so that reports compare byte for byte and read well.
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string fixed(double v, int digits = 1) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(digits);
  o << v;
  return o.str();
}

nlohmann::ordered_json latency_summary(const std::vector<int64_t>& us) {
  nlohmann::ordered_json j;
  j["count"] = us.size();
  j["p50_ms"] = round3(percentile(us, 50) / 1000.0);
  j["p95_ms"] = round3(percentile(us, 95) / 1000.0);
  j["max_ms"] = round3(percentile(us, 100) / 1000.0);
  return j;
}

// Every notice's latency from its cause, whatever its type (the histogram and the headline).
std::vector<int64_t> all_latencies(const RunResult& run) {
  std::vector<int64_t> all;
  for (const auto& [type, us] : run.notice_latency_us) all.insert(all.end(), us.begin(), us.end());
  return all;
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + p.string());
  out << text;
  if (!out) throw std::runtime_error("short write to " + p.string());
}

// One stream's row: what was sent and played, the losses and repairs, the delay and the quality.
nlohmann::ordered_json stream_json(const StreamResult& s) {
  nlohmann::ordered_json x;
  x["from"] = s.from;
  x["to"] = s.to;
  x["started_ms"] = s.started_ms;
  x["sent_ms"] = s.sent_ms;
  x["played_ms"] = s.received_ms;
  x["received"] = s.stats.received;
  x["lost"] = s.stats.lost;
  x["late"] = s.stats.late;
  x["duplicated"] = s.stats.duplicated;
  x["reordered"] = s.stats.reordered;
  x["fec_recovered"] = s.stats.fec_recovered;
  x["concealed"] = s.stats.concealed;
  x["accelerated"] = s.stats.accelerated;
  x["expanded"] = s.stats.expanded;
  x["interruptions"] = s.stats.interruptions;
  x["unplayed"] = s.stats.unplayed;
  x["effective_loss"] = round3(s.stats.effective_loss());
  x["jitter_ms"] = round3(s.stats.jitter_ms);
  x["m2e_mean_ms"] = round3(s.m2e_mean_ms);
  x["m2e_p50_ms"] = round3(s.m2e_p50_ms);
  x["m2e_p95_ms"] = round3(s.m2e_p95_ms);
  x["m2e_max_ms"] = round3(s.m2e_max_ms);
  x["burst_ratio"] = round3(s.burst_ratio);
  x["r"] = round3(s.r);
  x["mos"] = round3(s.mos);
  if (s.correlation) {
    x["correlation"] = round3(*s.correlation);
  } else {
    x["correlation"] = nullptr;
    x["correlation_unmeasurable"] = s.unmeasurable;
  }
  x["lag_ms"] = s.lag_ms;
  x["dropped_foreign"] = s.dropped_foreign;
  x["frames_held"] = s.frames_held;
  if (!s.path.empty() && s.to != "speaker") {
    x["path"] = s.path;
    x["packets_direct"] = s.packets_direct;
    x["packets_relay"] = s.packets_relay;
    x["packets_tunnel"] = s.packets_tunnel;
    x["path_switches"] = s.path_switches;
  }
  x["first_audio_ms"] = s.first_audio_ms;
  return x;
}

}  // namespace

nlohmann::ordered_json report_json(const RunResult& run) {
  nlohmann::ordered_json j;
  j["scenario"] = run.scenario;
  j["source"] = run.source;
  j["seed"] = run.seed;
  j["duration_ms"] = run.duration_ms;
  j["passed"] = run.passed;
  if (!run.failure.empty()) j["failure"] = run.failure;
  j["events"] = run.events;
  j["notices"] = run.notices;
  auto& nl = j["notify_latency"] = nlohmann::ordered_json::object();
  for (const auto& [type, us] : run.notice_latency_us) nl[type] = latency_summary(us);
  j["reply_rtt"] = latency_summary(run.reply_rtt_us);
  auto& ex = j["expectations"] = nlohmann::ordered_json::array();
  for (const auto& e : run.expectations) {
    nlohmann::ordered_json x;
    x["index"] = e.index;
    x["passed"] = e.passed;
    x["expect"] = nlohmann::json::parse(e.text);
    x["detail"] = e.detail;
    if (e.latency_us) x["latency_ms"] = round3(static_cast<double>(*e.latency_us) / 1000.0);
    ex.push_back(std::move(x));
  }
  auto& streams = j["streams"] = nlohmann::ordered_json::array();
  for (const auto& s : run.streams) streams.push_back(stream_json(s));
  auto& recs = j["recordings"] = nlohmann::ordered_json::array();
  for (const auto& r : run.recordings)
    recs.push_back({{"file", r.file}, {"room", r.room}, {"turn_ms", r.duration_ms}, {"audio_ms", r.audio_ms}});
  auto& core = j["core"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : core_counters(run.core)) core[name] = value;
  auto& host = j["host"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : host_counters(run.host, run.speaker)) host[name] = value;
  auto& media = j["media"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : run.media) media[name] = value;
  auto& attack = j["attack"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : run.attack) {
    if (value == std::floor(value))
      attack[name] = static_cast<int64_t>(value);
    else
      attack[name] = round3(value);
  }
  return j;
}

std::string report_markdown(const std::vector<RunResult>& runs) {
  std::ostringstream md;
  md << "# hailer-sim report\n\n| scenario | seed | result | expectations | notice latency p95 | streams "
        "|\n|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    const auto passed =
        std::count_if(r.expectations.begin(), r.expectations.end(), [](const auto& e) { return e.passed; });
    md << "| " << r.scenario << " | " << r.seed << " | " << (r.passed ? "pass" : "**FAIL**") << " | " << passed << "/"
       << r.expectations.size() << " | " << fixed(percentile(all_latencies(r), 95) / 1000.0) << " ms | "
       << r.streams.size() << " |\n";
  }
  for (const auto& r : runs) {
    md << "\n## " << r.scenario << (r.passed ? "" : " (FAILED)") << "\n\n";
    md << "`" << r.source << "`, seed " << r.seed << ", " << r.duration_ms << " ms simulated, " << r.events
       << " events, " << r.notices << " notices.\n\n";
    if (!r.failure.empty()) md << "**Invariant broken:** " << r.failure << "\n\n";
    if (!r.expectations.empty()) {
      md << "| # | result | expectation | detail |\n|---|---|---|---|\n";
      for (const auto& e : r.expectations) {
        md << "| " << e.index << " | " << (e.passed ? "ok" : "**FAIL**") << " | `" << e.text << "` | " << e.detail
           << " |\n";
      }
      md << "\n";
    }
    if (!r.notice_latency_us.empty()) {
      md << "| notice | count | from its cause p50 / p95 / max ms |\n|---|---|---|\n";
      for (const auto& [type, us] : r.notice_latency_us) {
        md << "| " << type << " | " << us.size() << " | " << fixed(percentile(us, 50) / 1000.0) << " / "
           << fixed(percentile(us, 95) / 1000.0) << " / " << fixed(percentile(us, 100) / 1000.0) << " |\n";
      }
      md << "\n";
    }
    md << "Reply round trip p95 " << fixed(percentile(r.reply_rtt_us, 95) / 1000.0) << " ms.\n\n";
    if (!r.streams.empty()) {
      md << "| stream | from ms | played ms | lost | late | FEC | concealed | interruptions | jitter ms | m2e p50/p95 "
            "ms | MOS | correlation |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
      for (const auto& s : r.streams) {
        md << "| " << s.from << " -> " << s.to << " | " << s.started_ms << " | " << s.received_ms << " | "
           << s.stats.lost << " | " << s.stats.late << " | " << s.stats.fec_recovered << " | " << s.stats.concealed
           << " | " << s.stats.interruptions << " | " << fixed(s.stats.jitter_ms) << " | " << fixed(s.m2e_p50_ms)
           << " / " << fixed(s.m2e_p95_ms) << " | " << fixed(s.mos, 2) << " | "
           << (s.correlation ? fixed(*s.correlation, 3) : "n/a (" + s.unmeasurable + ")") << " |\n";
      }
    }
    if (!r.recordings.empty()) {
      md << "\nRecordings: ";
      for (const auto& rec : r.recordings) md << "`" << rec.file << "` (" << rec.audio_ms << " ms) ";
      md << "\n";
    }
  }
  return md.str();
}

std::string latency_svg(const RunResult& run) {
  // Two histograms in 10 ms buckets up to 500 ms: notifications (blue) and reply round trips (grey).
  constexpr int buckets = 50, width = 640, height = 260, left = 50, bottom = 220;
  std::vector<int> notify(buckets, 0), reply(buckets, 0);
  for (int64_t us : all_latencies(run))
    ++notify[std::min<std::size_t>(buckets - 1, static_cast<std::size_t>(us / 10'000))];
  for (int64_t us : run.reply_rtt_us)
    ++reply[std::min<std::size_t>(buckets - 1, static_cast<std::size_t>(us / 10'000))];
  const int peak =
      std::max({1, *std::max_element(notify.begin(), notify.end()), *std::max_element(reply.begin(), reply.end())});
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<text x=\"" << left << "\" y=\"16\">" << run.scenario
    << ": notice latency from its cause (blue) and reply round trip (grey), 10 ms buckets</text>\n";
  s << "<line x1=\"" << left << "\" y1=\"" << bottom << "\" x2=\"" << left + 11 * buckets << "\" y2=\"" << bottom
    << "\" stroke=\"black\"/>\n";
  for (int b = 0; b < buckets; ++b) {
    const int x = left + 11 * b;
    const int hr = reply[static_cast<std::size_t>(b)] * 180 / peak,
              hn = notify[static_cast<std::size_t>(b)] * 180 / peak;
    if (hr > 0)
      s << "<rect x=\"" << x << "\" y=\"" << bottom - hr << "\" width=\"10\" height=\"" << hr << "\" fill=\"#bbb\"/>\n";
    if (hn > 0)
      s << "<rect x=\"" << x + 2 << "\" y=\"" << bottom - hn << "\" width=\"6\" height=\"" << hn
        << "\" fill=\"#2266cc\"/>\n";
    if (b % 10 == 0) s << "<text x=\"" << x << "\" y=\"" << bottom + 14 << "\">" << b * 10 << " ms</text>\n";
  }
  s << "<text x=\"" << left + 11 * buckets - 60 << "\" y=\"" << bottom + 14 << "\">&gt;= 490</text>\n";
  s << "<text x=\"4\" y=\"" << bottom - 180 << "\">" << peak << "</text>\n</svg>\n";
  return s.str();
}

std::string stream_svg(const StreamResult& st) {
  constexpr int width = 720, height = 260, left = 50, top = 30, plot_h = 180;
  const auto& d = st.stats.delay;
  const int64_t t0 = d.empty() ? 0 : d.front().at_ms, t1 = d.empty() ? 1 : std::max(d.back().at_ms, t0 + 1);
  int64_t ymax = 100;
  for (const auto& p : d) ymax = std::max({ymax, p.delay_ms, p.target_ms});
  auto x = [&](int64_t t) { return left + static_cast<int>((t - t0) * (width - left - 10) / (t1 - t0)); };
  auto y = [&](int64_t v) { return top + plot_h - static_cast<int>(v * plot_h / ymax); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<text x=\"" << left << "\" y=\"16\">" << st.from << " -&gt; " << st.to
    << ": buffer delay (blue), target (dashed), concealed frames (red)</text>\n";
  s << "<line x1=\"" << left << "\" y1=\"" << top + plot_h << "\" x2=\"" << width - 10 << "\" y2=\"" << top + plot_h
    << "\" stroke=\"black\"/>\n";
  s << "<text x=\"4\" y=\"" << top + 4 << "\">" << ymax << " ms</text><text x=\"4\" y=\"" << top + plot_h
    << "\">0</text>\n";
  s << "<text x=\"" << left << "\" y=\"" << top + plot_h + 14 << "\">" << fixed(static_cast<double>(t0) / 1000.0)
    << " s</text>";
  s << "<text x=\"" << width - 60 << "\" y=\"" << top + plot_h + 14 << "\">" << fixed(static_cast<double>(t1) / 1000.0)
    << " s</text>\n";
  auto polyline = [&](auto value, const char* style) {
    s << "<polyline fill=\"none\" " << style << " points=\"";
    for (const auto& p : d) s << x(p.at_ms) << "," << y(value(p)) << " ";
    s << "\"/>\n";
  };
  polyline([](const DelaySample& p) { return p.target_ms; }, "stroke=\"#888\" stroke-dasharray=\"4 3\"");
  polyline([](const DelaySample& p) { return p.delay_ms; }, "stroke=\"#2266cc\"");
  for (int64_t t : st.concealed_at_ms) {
    if (t < t0 || t > t1) continue;
    s << "<line x1=\"" << x(t) << "\" y1=\"" << top + plot_h << "\" x2=\"" << x(t) << "\" y2=\"" << top + plot_h + 8
      << "\" stroke=\"#cc2222\"/>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string messages_jsonl(const std::vector<RunResult>& runs) {
  std::string out;
  for (const auto& r : runs) {
    for (const LoggedMessage& m : r.messages) {
      nlohmann::ordered_json line;
      line["scenario"] = r.scenario;
      line["at_ms"] = round3(static_cast<double>(m.at_us) / 1000.0);
      line["from"] = m.from;
      line["to"] = m.to;
      line[m.to == "server" ? "sent_ms" : "received_ms"] = round3(static_cast<double>(m.other_end_us) / 1000.0);
      const auto parsed = nlohmann::json::parse(m.text, nullptr, false);
      if (parsed.is_discarded())
        line["text"] = m.text;  // a client's deliberately malformed message
      else
        line["message"] = parsed;
      out += line.dump() + "\n";
    }
  }
  return out;
}

void write_reports(const std::string& dir, const std::vector<RunResult>& runs) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& r : runs) {
    all.push_back(report_json(r));
    const std::string base = slug(r.scenario);
    write_file(fs::path(dir) / (base + "-latency.svg"), latency_svg(r));
    for (std::size_t i = 0; i < r.streams.size(); ++i) {
      const auto& s = r.streams[i];
      const std::string stem = base + "-stream" + std::to_string(i) + "-" + s.from + "-to-" + s.to;
      write_file(fs::path(dir) / (stem + ".svg"), stream_svg(s));
      // What the receiver heard, and what was spoken, for people to listen to.
      write_wav((fs::path(dir) / (stem + "-heard.wav")).string(), s.received);
      write_wav((fs::path(dir) / (stem + "-spoken.wav")).string(), s.sent);
    }
    for (const auto& rec : r.recordings) write_wav((fs::path(dir) / (base + "-" + rec.file)).string(), rec.pcm);
  }
  write_file(fs::path(dir) / "report.json", all.dump(2) + "\n");
  write_file(fs::path(dir) / "messages.jsonl", messages_jsonl(runs));
  write_file(fs::path(dir) / "report.md", report_markdown(runs));
}

}  // namespace hailer::sim
