// The order in which a transport lets the host's messages go, as pure code. Two rules:
//
// 1. Connections are written newest first, after the event that queued their messages. The
//    core answers a request before it tells anyone else and tells the furthest consequences
//    last: a hangup queues the hanger's ok, then the peer's call_ended, then a waiter's
//    callee_available. The requester waits only for the confirmation of what it did; the
//    waiter's notice is what hailer promises at once. Written oldest first, that notice would
//    leave third. Each connection's own stream keeps its order.
// 2. A broadcast (a room's news) waits until the event that made it is over, behind whatever
//    that event sent to single connections: the next talker is served before the room hears.
//    A message to one connection sent while broadcasts wait queues behind them, so no
//    connection ever sees its messages out of order.
//
// hailer-server's TCP transport and the simulator's server both use these classes, so a scenario
// sees the order the real server writes in.
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "base/assert.hpp"
#include "core/events.hpp"
#include "host/host_port.hpp"

namespace hailer {

/// Connections with messages from the current event, written together after it, newest first.
/// The caller marks a connection at most once between flushes (it keeps a flag per connection).
template <class Conn>
class WriteOrder {
 public:
  /// Notes that `conn` has messages; true when it is the first since the last flush (schedule one).
  bool mark(Conn conn) {
    dirty_.push_back(std::move(conn));
    return dirty_.size() == 1;
  }
  /// True when no connection waits for a write.
  bool empty() const { return dirty_.empty(); }
  /// Connections waiting for the next flush.
  std::size_t size() const { return dirty_.size(); }
  /// Hands every marked connection to `write`, newest first, then forgets them. Not re-entrant;
  /// a connection `write` marks again waits for the next flush.
  template <class F>
  void flush(F&& write) {
    HAILER_ASSERT(flushing_.empty());  // never nested
    flushing_.swap(dirty_);            // swapped, not moved: both keep their capacity
    for (auto it = flushing_.rbegin(); it != flushing_.rend(); ++it) write(*it);
    flushing_.clear();
    HAILER_ASSERT(flushing_.empty());
  }

 private:
  std::vector<Conn> dirty_;
  std::vector<Conn> flushing_;
};

/// Broadcasts held until the event that made them is over, with the messages to single
/// connections sent behind them, in the order they were given.
class DeferredSends {
 public:
  /// One held message: its receivers, in order, and its text.
  struct Send {
    std::vector<SessionId> to;  ///< receivers, in the order the host gave them
    SharedText text;            ///< the message, shared by every receiver
  };

  /// True while broadcasts wait: a message to one connection must then queue behind them.
  bool holding() const { return !held_.empty(); }
  /// Holds a broadcast; true when it is the first held (schedule a flush after the event).
  bool broadcast(std::span<const SessionId> to, SharedText text);
  /// Holds a message to one connection behind the broadcasts; only while holding().
  void text(SessionId to, SharedText text);
  /// Hands every held message to `send(SessionId, const SharedText&)` receiver by receiver, in
  /// order, and empties the hold. `send` must not hold more (the broadcasts are out by then).
  template <class F>
  void flush(F&& send) {
    std::vector<Send> batch;
    batch.swap(held_);
    for (const Send& s : batch)
      for (SessionId to : s.to) send(to, s.text);
    HAILER_ASSERT(held_.empty());
  }

 private:
  std::vector<Send> held_;
};

}  // namespace hailer
