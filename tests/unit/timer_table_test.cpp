// The core's timer table: deadlines by identity, popped in (time, identity) order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <vector>

#include "base/prng.hpp"
#include "core/timer_table.hpp"

using namespace hailer;

namespace {
TimerId ring(uint64_t call) { return {TimerKind::ring, call}; }
TimerId floor_of(uint64_t room) { return {TimerKind::floor, room}; }
}  // namespace

TEST_CASE("timer table: nothing is due a microsecond before its deadline, it is at it", "[timers]") {
  TimerTable t;
  t.set(ring(1), Time{1000});
  CHECK(t.next() == Time{1000});
  CHECK_FALSE(t.pop_due(Time{999}).has_value());
  CHECK(t.armed(ring(1)));
  CHECK(t.pop_due(Time{1000}) == ring(1));
  CHECK_FALSE(t.armed(ring(1)));
  CHECK_FALSE(t.next().has_value());
  CHECK(t.size() == 0);
}

TEST_CASE("timer table: due timers pop by deadline, then by identity", "[timers]") {
  TimerTable t;
  t.set(floor_of(1), Time{500});
  t.set(ring(9), Time{500});
  t.set(ring(2), Time{500});
  t.set(ring(1), Time{700});
  std::vector<TimerId> order;
  while (auto id = t.pop_due(Time{10'000})) order.push_back(*id);
  CHECK(order == std::vector<TimerId>{ring(2), ring(9), floor_of(1), ring(1)});  // ring < floor
}

TEST_CASE("timer table: set re-arms, stop disarms, neither leaves a second deadline", "[timers]") {
  TimerTable t;
  t.set(ring(1), Time{100});
  t.set(ring(1), Time{300});  // later
  t.set(ring(2), Time{200});
  CHECK(t.size() == 2);
  CHECK(t.deadline(ring(1)) == Time{300});
  CHECK(t.pop_due(Time{250}) == ring(2));
  CHECK_FALSE(t.pop_due(Time{250}).has_value());  // the old 100 us deadline is gone
  t.set(ring(1), Time{50});                       // earlier
  CHECK(t.next() == Time{50});
  t.stop(ring(1));
  t.stop(ring(1));  // twice: nothing
  t.stop(ring(7));  // never armed: nothing
  CHECK(t.size() == 0);
  CHECK_FALSE(t.next().has_value());
  t.check_invariants();
}

TEST_CASE("timer table: reused nodes keep it exact under random churn", "[timers]") {
  // The table recycles the nodes of stopped and fired timers; a model (deadline per id) says
  // what must be armed and in which order things fire.
  TimerTable t;
  std::vector<std::optional<int64_t>> model(40);
  Prng rng(7);
  int64_t now = 0;
  int mismatches = 0;
  for (int step = 0; step < 20'000; ++step) {
    const auto key = static_cast<uint64_t>(rng.next() % model.size());
    switch (rng.next() % 3) {
      case 0: {
        const int64_t at = now + static_cast<int64_t>(rng.next() % 500);
        t.set(ring(key), Time{at});
        model[key] = at;
        break;
      }
      case 1:
        t.stop(ring(key));
        model[key].reset();
        break;
      default: {
        now += static_cast<int64_t>(rng.next() % 100);
        // Expected: every modelled deadline <= now, by (deadline, key).
        std::vector<std::pair<int64_t, uint64_t>> due;
        for (uint64_t k = 0; k < model.size(); ++k) {
          if (model[k] && *model[k] <= now) due.emplace_back(*model[k], k);
        }
        std::sort(due.begin(), due.end());
        for (const auto& [at, k] : due) {
          const auto popped = t.pop_due(Time{now});
          if (popped != ring(k)) ++mismatches;
          model[k].reset();
        }
        if (t.pop_due(Time{now}).has_value()) ++mismatches;
      }
    }
    std::size_t armed = 0;
    for (const auto& m : model) armed += m ? 1 : 0;
    if (t.size() != armed) ++mismatches;
  }
  CHECK(mismatches == 0);
  t.check_invariants();
}
