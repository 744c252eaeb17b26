#include "net/os_secrets.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace hailer::net {

void OsSecrets::fill(std::span<uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // A secret made of anything else would be guessable: better no server than that.
      std::perror("hailer: getrandom");
      std::abort();
    }
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  OsSecrets().fill(raw);
  return to_hex(raw);
}

}  // namespace hailer::net
