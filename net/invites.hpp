// The operator's invites (`--accounts invite`): `hailer-server invite NAME` makes a one-time code
// that lets the first key to bring it claim NAME, for 24 hours. They live in the state folder's
// `invites/` (0700), one file per name (0600): the SHA-256 of the code and when it expires, never
// the code. A running server reads them as registers bring codes, so an invite made while it runs
// works at once; the accounts database, which the server holds locked, is not touched.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "host/account_store.hpp"

namespace hailer::net {

/// How long an invite is good for unless the operator says otherwise.
inline constexpr std::chrono::seconds invite_lifetime{24 * 3600};

/// A made invite: its code, shown once, and when it expires (Unix ms).
struct MadeInvite {
  std::string code;
  int64_t expires_unix_ms = 0;
};

/// The invites folder.
class InviteFolder final : public InviteStore {
 public:
  /// The invites under `folder` (made 0700 when missing). Throws std::runtime_error when it is a
  /// symlink, not a folder, or writable by others.
  explicit InviteFolder(std::string folder);

  /// A new invite for `name` (a valid name), good for `lifetime`, replacing any earlier one for
  /// it: 128 bits from the OS CSPRNG, as 32 hex digits. Throws std::runtime_error naming the file.
  MadeInvite make(const std::string& name, std::chrono::seconds lifetime = invite_lifetime);
  /// InviteStore: whether `code` is the invite for `name_key`, and expired; nothing when it is not.
  std::optional<bool> check(std::string_view name_key, std::string_view code) override;
  /// InviteStore: removes the invite for `name_key`.
  void used(std::string_view name_key) override;

 private:
  std::string path_of(std::string_view name_key) const;
  std::string folder_;
};

}  // namespace hailer::net
