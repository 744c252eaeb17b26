// Reports of scenario runs: JSON for machines, Markdown for people, SVG plots (notification
// latency distribution; jitter-buffer delay and loss over time per stream). Byte-identical for
// the same scenario and seed: no wall-clock time, fixed number formatting.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/runner.hpp"

namespace hailer::sim {

/// One run as JSON.
nlohmann::ordered_json report_json(const RunResult& run);

/// All runs as a Markdown page.
std::string report_markdown(const std::vector<RunResult>& runs);

/// Histogram of notification latencies and reply round trips of one run.
std::string latency_svg(const RunResult& run);

/// Jitter-buffer delay (and target) over time with concealed frames marked, for one stream.
std::string stream_svg(const StreamResult& stream);

/// The message log of every run, one JSON object per line: scenario, at_ms (server time),
/// from, to, sent_ms or received_ms (the client's end), and the message.
std::string messages_jsonl(const std::vector<RunResult>& runs);

/// Writes report.json, report.md, messages.jsonl and the SVGs into `dir` (created if missing);
/// throws on I/O errors.
void write_reports(const std::string& dir, const std::vector<RunResult>& runs);

}  // namespace hailer::sim
