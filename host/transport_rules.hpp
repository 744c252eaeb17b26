// The rules every transport keeps for a connection, as pure code: the bound on what waits for a
// slow reader, the line framing of the calls port with its bound on a line, the cap on audio
// frames per second, and the caps on connections per address and in total. hailer-server's TCP and WebSocket transports
// and the simulator's server use these same classes, so a scenario closes a slow reader or refuses a flood exactly
// where the real server does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/assert.hpp"
#include "base/time.hpp"
#include "protocol/relay_packet.hpp"  // tunnel_lead, tunnel_prefix_bytes

namespace hailer {

/// The slow-reader rule: a connection with more than `max_bytes` waiting for its reader is
/// closed as slow_reader rather than have its backlog held without end.
constexpr bool over_outbound_limit(std::size_t queued_bytes, std::size_t max_bytes) { return queued_bytes > max_bytes; }

/// Bytes waiting for one connection's reader, for a transport that does not keep them in one
/// buffer (a WebSocket's queue of shared messages, the simulator's network).
class OutboundBudget {
 public:
  /// `bytes` more wait; false when that puts the connection over `max_bytes` (close it).
  bool queue(std::size_t bytes, std::size_t max_bytes) {
    queued_ += bytes;
    return !over_outbound_limit(queued_, max_bytes);
  }
  /// The reader took `bytes` of what waits.
  void drained(std::size_t bytes) {
    HAILER_ASSERT(bytes <= queued_);
    queued_ -= bytes;
  }
  /// Bytes waiting now.
  std::size_t queued() const { return queued_; }

 private:
  std::size_t queued_ = 0;
};

/// Audio frames one connection sent in the current second of the server's clock; more than
/// the limit in one second is a flood (real time is 50 frames a second).
class FrameRateLimit {
 public:
  /// Counts a frame at `now`; false when it is one more than `max_per_second` this second.
  bool take(Time now, uint32_t max_per_second) {
    const int64_t second = now.us / 1'000'000;
    if (second != second_) {
      second_ = second;
      count_ = 0;
    }
    return ++count_ <= max_per_second;
  }

 private:
  int64_t second_ = -1;
  uint32_t count_ = 0;
};

/// Connections open per peer address and in total, under a cap on each: the rule that keeps one
/// address from taking every place (a flood of idle connections cannot starve the others).
class AddressCaps {
 public:
  /// Takes a place for `address`; false (nothing taken) when the address holds `per_address_max`
  /// already or everyone together holds `total_max`.
  bool take(const std::string& address, uint32_t per_address_max, uint32_t total_max) {
    if (total_ >= total_max) return false;
    auto [it, added] = per_address_.try_emplace(address, 0);
    if (it->second >= per_address_max) return false;  // never added: it held places already
    ++it->second;
    ++total_;
    return true;
  }
  /// Gives back a place `address` took.
  void give(const std::string& address) {
    const auto it = per_address_.find(address);
    HAILER_ASSERT(it != per_address_.end() && it->second > 0 && total_ > 0);
    --total_;
    if (--it->second == 0) per_address_.erase(it);  // an address holding nothing costs nothing
  }
  /// Places held by `address`.
  uint32_t held(const std::string& address) const {
    const auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
  }
  /// Places held by everyone.
  uint32_t total() const { return total_; }
  /// Addresses holding at least one place.
  std::size_t addresses() const { return per_address_.size(); }

 private:
  std::unordered_map<std::string, uint32_t> per_address_;
  uint32_t total_ = 0;
};

/// True when a connection's first byte opens a TLS record of the handshake (content type 22): a
/// JSON line starts with `{` or white space, never with that byte, so one byte tells the two apart
/// (a plaintext client on a TLS port, or a TLS client on a plaintext one).
constexpr bool looks_like_tls(uint8_t first_byte) { return first_byte == 0x16; }

/// What a calls port that speaks TLS answers a plaintext client, in plaintext, before closing:
/// one protocol line (with its newline) the client can read and show.
std::string tls_required_line();

/// Splits one connection's byte stream into lines and tunnel frames (the calls port's framing). A
/// line ends at `\n` (a `\r` before it is dropped: telnet and `nc -C`); blank lines are skipped.
/// A tunnel frame starts where a line would, with tunnel_lead (never the start of a line), and
/// carries its length (protocol/relay_packet.hpp). A partial line longer than the limit cannot be
/// framed any more: the transport hands it over as it is (the core answers message_too_large) and
/// closes the connection; a frame announced longer than the limit is bad_frame (closed as well).
class LineFramer {
 public:
  /// What feed() leaves behind.
  enum class Verdict : uint8_t { ok, too_long, bad_frame };

  /// Calls `on_line(line)` for every whole line in `data` and `on_frame(bytes)` for every whole
  /// tunnel frame (its relay datagram), in order, while they return true (false: the connection
  /// is closing, nothing more is read). Whole lines and frames are handed straight from `data`;
  /// only a partial one is copied. too_long: the partial line is over `max_line_bytes` (the limit
  /// is passed in, not kept: 10,000 idle sessions hold no copy); bad_frame: a frame says it is
  /// longer than `max_line_bytes` less its prefix.
  template <class OnLine, class OnFrame>
  Verdict feed(std::string_view data, std::size_t max_line_bytes, OnLine&& on_line, OnFrame&& on_frame) {
    HAILER_ASSERT(max_line_bytes > tunnel_prefix_bytes);
    const bool joined = !partial_.empty();
    if (joined) partial_.append(data);
    const std::string_view text = joined ? std::string_view(partial_) : data;
    std::size_t start = 0;
    bool going = true;
    while (going && start < text.size()) {
      if (static_cast<uint8_t>(text[start]) == tunnel_lead) {
        if (text.size() - start < tunnel_prefix_bytes) break;
        const std::size_t length = (static_cast<std::size_t>(static_cast<uint8_t>(text[start + 1])) << 8) |
                                   static_cast<uint8_t>(text[start + 2]);
        if (length > max_line_bytes - tunnel_prefix_bytes) {
          partial_.clear();
          return Verdict::bad_frame;
        }
        if (text.size() - start - tunnel_prefix_bytes < length) break;
        going = on_frame(text.substr(start + tunnel_prefix_bytes, length));
        start += tunnel_prefix_bytes + length;
        continue;
      }
      const auto end = text.find('\n', start);
      if (end == std::string_view::npos) break;
      std::string_view line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      start = end + 1;
      if (!line.empty()) going = on_line(line);
    }
    if (!going) {
      partial_.clear();
      return Verdict::ok;
    }
    if (joined)
      partial_.erase(0, start);
    else
      partial_.assign(text.substr(start));
    return partial_.size() > max_line_bytes ? Verdict::too_long : Verdict::ok;
  }

  /// The partial line (after too_long: the over-long text the core is shown), emptied.
  std::string take_partial() {
    std::string out;
    out.swap(partial_);
    return out;
  }

 private:
  std::string partial_;
};

}  // namespace hailer
