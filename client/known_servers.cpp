#include "client/known_servers.hpp"

#include <cctype>

#include "base/assert.hpp"

namespace hailer {

namespace {

constexpr std::string_view prefix = "SHA256:";
constexpr std::size_t digest_hex = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(p[i]))) return false;
  return true;
}

}  // namespace

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  text = trim(text);
  if (starts_with_nocase(text, prefix)) text.remove_prefix(prefix.size());
  std::string hex;
  for (const char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (hex.size() == digest_hex) return std::nullopt;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != digest_hex) return std::nullopt;
  std::string out(prefix);
  out += hex;
  HAILER_ASSERT(out.size() == prefix.size() + digest_hex);
  return out;
}

KnownServers KnownServers::parse(std::string_view text) {
  KnownServers k;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::string_view line = trim(raw);
    Line entry{{}, {}, std::string(raw)};
    const auto space = line.find_first_of(" \t");
    if (!line.empty() && line.front() != '#' && space != std::string_view::npos) {
      const auto fingerprint = normalize_fingerprint(line.substr(space + 1));
      if (fingerprint) {
        entry.server = std::string(line.substr(0, space));
        entry.fingerprint = *fingerprint;
      }
    }
    k.lines_.push_back(std::move(entry));
  }
  return k;
}

std::optional<std::string> KnownServers::find(std::string_view server) const {
  for (const Line& l : lines_)
    if (!l.server.empty() && l.server == server) return l.fingerprint;
  return std::nullopt;
}

void KnownServers::pin(std::string_view server, std::string_view fingerprint) {
  const auto normalized = normalize_fingerprint(fingerprint);
  HAILER_ASSERT(normalized.has_value() && !server.empty());
  for (Line& l : lines_) {
    if (l.server == server) {
      l.fingerprint = *normalized;
      l.raw.clear();
      return;
    }
  }
  lines_.push_back(Line{std::string(server), *normalized, {}});
  HAILER_ASSERT(find(server) == normalized);
}

std::string KnownServers::text() const {
  std::string out;
  for (const Line& l : lines_) {
    out += l.server.empty() || !l.raw.empty() ? l.raw : l.server + " " + l.fingerprint;
    out += '\n';
  }
  return out;
}

TrustVerdict decide_trust(bool ca_verified, std::string_view seen, const std::optional<std::string>& pinned,
                          const std::optional<std::string>& trust_ahead) {
  if (trust_ahead) return *trust_ahead == seen ? TrustVerdict::trusted_ahead : TrustVerdict::not_trusted;
  if (ca_verified) return TrustVerdict::ca_verified;
  if (!pinned) return TrustVerdict::first_use;
  return *pinned == seen ? TrustVerdict::pinned : TrustVerdict::changed;
}

std::string_view to_string(TrustVerdict v) {
  switch (v) {
    case TrustVerdict::ca_verified:
      return "ca";
    case TrustVerdict::pinned:
      return "pinned";
    case TrustVerdict::first_use:
      return "first_use";
    case TrustVerdict::trusted_ahead:
      return "trusted_ahead";
    case TrustVerdict::changed:
      return "changed";
    case TrustVerdict::not_trusted:
      return "not_trusted";
  }
  HAILER_ASSERT(false);
  return "";
}

}  // namespace hailer
