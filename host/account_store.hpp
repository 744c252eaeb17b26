// Where the host keeps the accounts the core hands out: hailer-server's database; nothing in the
// simulator and the tests (the core holds them for the run).
#pragma once

#include <optional>
#include <string_view>

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

/// Where the operator's invites are (`--accounts invite`): hailer-server's invites folder.
class InviteStore {
 public:
  virtual ~InviteStore() = default;
  /// The verdict on `code` for the name whose key is `name_key`: nothing when it is no invite
  /// for that name (wrong, used, never made), else whether it has expired. Compares in constant
  /// time.
  virtual std::optional<bool> check(std::string_view name_key, std::string_view code) = 0;
  /// The invite for `name_key` was used to claim it: it is forgotten (one use only).
  virtual void used(std::string_view name_key) = 0;
};

}  // namespace hailer
