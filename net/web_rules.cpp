#include "net/web_rules.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

#include "base/assert.hpp"
#include "base/secret.hpp"
#include "protocol/json.hpp"
#include "protocol/names.hpp"

namespace hailer::net {

std::string_view content_type(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".wav", "audio/wav"},
      {".json", "application/json"},
  }};
  const auto dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    for (const auto& [extension, type] : types) {
      if (path.substr(dot) == extension) return type;
    }
  }
  return "application/octet-stream";
}

std::string instructor_cookie(std::string_view token) {
  if (token.empty()) return "";
  std::string text = "hailer instructor cookie v1:";
  text += token;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const int ok = EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  HAILER_ASSERT(ok == 1 && n == 32);
  return to_hex(std::span<const uint8_t>(md, n));
}

std::optional<std::string> cookie_in_header(std::string_view header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  return std::nullopt;
}

bool origin_allowed(std::optional<std::string_view> origin, std::span<const std::string> allowed) {
  if (!origin) return true;  // not a browser: a browser always says where its page came from
  const std::string o = lowercase(*origin);
  return std::find(allowed.begin(), allowed.end(), o) != allowed.end();
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view bearer = "Bearer ";
  if (!authorization.starts_with(bearer)) return std::nullopt;
  return authorization.substr(bearer.size());
}

Route route_of(Method method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/api/instructor/session" && (method == Method::post || method == Method::get))
    return {Route::Kind::instructor_session, "", false};
  constexpr std::string_view recordings = "/recordings/";
  if (method == Method::del && path.starts_with(recordings))
    return {Route::Kind::recording_delete, std::string(path.substr(recordings.size())), true};
  if (method != Method::get && method != Method::head) return {Route::Kind::method_not_allowed, "", false};
  if (path == "/api/recordings") return {Route::Kind::recordings_list, "", true};
  if (path.starts_with(recordings)) return {Route::Kind::recording, std::string(path.substr(recordings.size())), true};
  // Browsers and tools ask for /favicon.ico whatever the page says: the one icon, in SVG.
  std::string file = path == "/"              ? "index.html"
                     : path == "/instructor"  ? "instructor.html"
                     : path == "/favicon.ico" ? "favicon.svg"
                                              : std::string(path.substr(path.empty() ? 0 : 1));
  if (!safe_file_name(file)) return {Route::Kind::not_found, "", false};
  return {Route::Kind::page, std::move(file), false};
}

namespace {
// Digits only, no sign, no overflow.
std::optional<uint64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}
}  // namespace

RangeAnswer byte_range(std::optional<std::string_view> header, uint64_t size) {
  RangeAnswer whole;
  constexpr std::string_view unit = "bytes=";
  if (!header || !header->starts_with(unit)) return whole;
  const std::string_view spec = header->substr(unit.size());
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return whole;
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);
  RangeAnswer answer;
  answer.kind = RangeAnswer::Kind::part;
  if (first_text.empty()) {  // the last N bytes
    const auto suffix = decimal(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) return {RangeAnswer::Kind::unsatisfiable, {}};
    answer.range = {size - std::min(*suffix, size), size - 1};
    return answer;
  }
  const auto first = decimal(first_text);
  const auto last = last_text.empty() ? std::optional<uint64_t>(UINT64_MAX) : decimal(last_text);
  if (!first || !last || *last < *first) return whole;
  if (*first >= size) return {RangeAnswer::Kind::unsatisfiable, {}};
  answer.range = {*first, std::min(*last, size - 1)};
  HAILER_ASSERT(answer.range.first <= answer.range.last && answer.range.last < size);
  return answer;
}

std::string recordings_json(std::vector<RecordingEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const RecordingEntry& a, const RecordingEntry& b) {
    return a.modified_ms != b.modified_ms ? a.modified_ms > b.modified_ms : a.file < b.file;
  });
  std::string out;
  json::Writer w(out);  // the protocol's writer: one JSON writer in the server
  w.begin_array();
  for (const RecordingEntry& e : entries) {
    w.begin_object();
    w.key("file");
    w.string(e.file);
    w.key("bytes");
    w.uinteger(e.bytes);
    w.key("audio_ms");
    w.integer(e.audio_ms);
    w.key("modified_ms");
    w.integer(e.modified_ms);
    w.end_object();
  }
  w.end_array();
  out.push_back('\n');
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace hailer::net
