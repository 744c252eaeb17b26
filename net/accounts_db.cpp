#include "net/accounts_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/assert.hpp"
#include "protocol/names.hpp"

namespace hailer::net {

namespace {

// A prepared statement, finalized with its scope.
struct Statement {
  sqlite3_stmt* s = nullptr;
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) s = nullptr;
  }
  ~Statement() { sqlite3_finalize(s); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
};

// Makes the file for the user alone before SQLite opens it: 0600, never through a link.
void make_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw AccountsDbError("cannot open the accounts database " + path + ": " +
                          (errno == ELOOP ? std::string("it is a symbolic link") : std::strerror(errno)));
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && (st.st_mode & 077) != 0) ::fchmod(fd, 0600);  // names and keys are the owner's alone
  ::close(fd);
  if (!regular) throw AccountsDbError("the accounts database " + path + " is not a regular file");
}

}  // namespace

AccountsDb::AccountsDb(const std::string& path) : path_(path) {
  make_private_file(path);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr) != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw AccountsDbError("cannot open the accounts database " + path + ": " + why);
  }
  try {
    // This process holds the database for as long as it runs (a second server on the same
    // file is refused, not interleaved), in WAL mode (a crash loses no committed claim).
    exec("PRAGMA locking_mode = EXCLUSIVE");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    {
      Statement check(db_, "PRAGMA quick_check");
      const bool ok = check.s != nullptr && sqlite3_step(check.s) == SQLITE_ROW &&
                      std::strcmp(reinterpret_cast<const char*>(sqlite3_column_text(check.s, 0)), "ok") == 0;
      if (!ok) throw AccountsDbError("quick_check failed");
    }
    exec(
        "CREATE TABLE IF NOT EXISTS accounts (name_key TEXT NOT NULL, name TEXT NOT NULL, key BLOB NOT NULL, "
        "added_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')), PRIMARY KEY (name_key, key)) WITHOUT ROWID");
  } catch (const AccountsDbError& e) {
    const int code = sqlite3_errcode(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      throw AccountsDbError("the accounts database " + path + " is locked: is another hailer-server using it?");
    throw AccountsDbError(
        "the accounts database " + path + " is corrupt or not an accounts database (" + std::string(e.what()) +
        "); it was left as it is: restore it from a backup, or move it away " + "to start with no accounts");
  }
  HAILER_ASSERT(db_ != nullptr);
}

AccountsDb::~AccountsDb() { sqlite3_close(db_); }

void AccountsDb::exec(const char* sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error != nullptr ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw AccountsDbError(why);
  }
}

std::vector<Account> AccountsDb::load() const {
  std::vector<Account> out;
  Statement q(db_, "SELECT name, key FROM accounts ORDER BY added_at, name_key");
  HAILER_ASSERT(q.s != nullptr);
  while (sqlite3_step(q.s) == SQLITE_ROW) {
    Account a;
    a.name = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
    const void* key = sqlite3_column_blob(q.s, 1);
    if (!valid_name(a.name) || sqlite3_column_bytes(q.s, 1) != static_cast<int>(a.key.size()) || key == nullptr)
      throw AccountsDbError("the accounts database " + path_ + " holds a row that is not an account");
    std::memcpy(a.key.data(), key, a.key.size());
    out.push_back(std::move(a));
  }
  return out;
}

void AccountsDb::claimed(const Account& account) {
  Statement q(db_, "INSERT OR IGNORE INTO accounts (name_key, name, key) VALUES (?, ?, ?)");
  const std::string key = name_key(account.name);
  const bool ok = q.s != nullptr && sqlite3_bind_text(q.s, 1, key.c_str(), -1, SQLITE_TRANSIENT) == SQLITE_OK &&
                  sqlite3_bind_text(q.s, 2, account.name.c_str(), -1, SQLITE_TRANSIENT) == SQLITE_OK &&
                  sqlite3_bind_blob(q.s, 3, account.key.data(), static_cast<int>(account.key.size()),
                                    SQLITE_TRANSIENT) == SQLITE_OK &&
                  sqlite3_step(q.s) == SQLITE_DONE;
  if (!ok && on_error) on_error("cannot keep the account of " + account.name + ": " + sqlite3_errmsg(db_));
}

std::size_t AccountsDb::count() const {
  Statement q(db_, "SELECT count(DISTINCT name_key) FROM accounts");
  return q.s != nullptr && sqlite3_step(q.s) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(q.s, 0)) : 0;
}

bool AccountsDb::remove(const std::string& name) {
  Statement q(db_, "DELETE FROM accounts WHERE name_key = ?");
  const std::string key = name_key(name);
  if (q.s == nullptr || sqlite3_bind_text(q.s, 1, key.c_str(), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
      sqlite3_step(q.s) != SQLITE_DONE)
    throw AccountsDbError("cannot remove " + name + ": " + sqlite3_errmsg(db_));
  return sqlite3_changes(db_) > 0;
}

}  // namespace hailer::net
