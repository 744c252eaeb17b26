// The accounts database of hailer-server: who owns which name, in SQLite (WAL mode) in the
// state folder, 0600. Opened once at start: a database that is locked (another server uses it)
// or corrupt stops the start with a message naming the file, and is never deleted or rewritten.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/account_store.hpp"

struct sqlite3;

namespace hailer::net {

/// Why the database cannot be used; the message names the file and what to do.
class AccountsDbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One open accounts database.
class AccountsDb final : public AccountStore {
 public:
  /// Opens (or makes, 0600, never through a symbolic link) the database at `path`, checks it,
  /// and holds it for this process. Throws AccountsDbError.
  explicit AccountsDb(const std::string& path);
  ~AccountsDb() override;
  AccountsDb(const AccountsDb&) = delete;
  AccountsDb& operator=(const AccountsDb&) = delete;

  /// Every account, oldest first.
  std::vector<Account> load() const;
  /// Keeps a claimed account (AccountStore). A write that fails is logged by the caller's
  /// `on_error` and the claim lives on for this run only.
  void claimed(const Account& account) override;
  /// Accounts kept.
  std::size_t count() const;
  /// Removes `name`'s account (every key); false when there was none.
  bool remove(const std::string& name);

  /// Called with a message when a claim cannot be written.
  std::function<void(const std::string&)> on_error;

 private:
  void exec(const char* sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace hailer::net
