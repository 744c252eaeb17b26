// Where the host keeps the accounts the core hands out: hailer-server's database; nothing in the
// simulator and the tests (the core holds them for the run).
#pragma once

#include "core/events.hpp"

namespace hailer {

/// Keeps a claimed account beyond the run.
class AccountStore {
 public:
  virtual ~AccountStore() = default;
  /// A name was claimed by its first key; called once per claim, in order. Must not call back
  /// into the host.
  virtual void claimed(const Account& account) = 0;
};

}  // namespace hailer
