// The operator's invites (net/invites.hpp): one-time codes for a name, kept as hashes in 0600
// files, checked in constant time, used up once.
#include "net/invites.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace hailer;

namespace {
struct TempFolder {
  std::string path;
  TempFolder() {
    char tmpl[] = "/tmp/hailer-invites-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempFolder() { std::filesystem::remove_all(path); }
};
mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("invites: a code opens its own name once, and nothing else", "[invites]") {
  TempFolder tmp;
  net::InviteFolder invites(tmp.path + "/invites");
  CHECK(mode_of(tmp.path + "/invites") == 0700);
  const net::MadeInvite made = invites.make("Alice");
  CHECK(made.code.size() == 32);
  CHECK(mode_of(tmp.path + "/invites/alice") == 0600);
  std::ifstream file(tmp.path + "/invites/alice");
  std::string stored((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(stored.find(made.code) == std::string::npos);  // the hash, never the code
  CHECK(invites.check("alice", made.code) == std::optional<bool>(false));
  CHECK_FALSE(invites.check("bob", made.code).has_value());
  std::string wrong = made.code;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(invites.check("alice", wrong).has_value());
  CHECK_FALSE(invites.check("alice", "").has_value());
  CHECK_FALSE(invites.check("../alice", made.code).has_value());
  invites.used("alice");
  CHECK_FALSE(invites.check("alice", made.code).has_value());
}

TEST_CASE("invites: a new invite replaces the old one, and an expired one says so", "[invites]") {
  TempFolder tmp;
  net::InviteFolder invites(tmp.path);
  const auto first = invites.make("bob");
  const auto second = invites.make("bob");
  CHECK(first.code != second.code);
  CHECK_FALSE(invites.check("bob", first.code).has_value());
  CHECK(invites.check("bob", second.code) == std::optional<bool>(false));
  // Its expiry moved into the past, as 24 hours would.
  std::string line;
  {
    std::ifstream in(tmp.path + "/bob");
    std::getline(in, line);
  }
  std::ofstream(tmp.path + "/bob", std::ios::trunc) << line.substr(0, line.find(' ')) << " 1000\n";
  CHECK(invites.check("bob", second.code) == std::optional<bool>(true));
}

TEST_CASE("invites: a folder others may write to, or a symlink, is refused", "[invites]") {
  TempFolder tmp;
  ::mkdir((tmp.path + "/open").c_str(), 0700);
  ::chmod((tmp.path + "/open").c_str(), 0777);
  CHECK_THROWS(net::InviteFolder(tmp.path + "/open"));
  ::symlink("/tmp", (tmp.path + "/link").c_str());
  CHECK_THROWS(net::InviteFolder(tmp.path + "/link"));
  // A planted symlink in place of an invite is not read.
  net::InviteFolder invites(tmp.path + "/ok");
  ::symlink("/etc/hostname", (tmp.path + "/ok/carol").c_str());
  CHECK_FALSE(invites.check("carol", "anything").has_value());
}
