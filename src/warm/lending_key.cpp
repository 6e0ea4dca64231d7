// SPDX-License-Identifier: MIT
// The key warm sessions are kept under (see lending_key.hpp).
#include "warm/lending_key.hpp"

#include <sys/stat.h>

#include "warm/protocol.hpp"

namespace deployd::warm {

std::string lending_key(const ssh::ConnectionSpec& spec) {
  // The fields, each length-prefixed: no two different specs give the same text.
  FieldWriter key;
  key.text(spec.user).text(spec.address).u32(static_cast<std::uint32_t>(spec.port));
  key.u32(static_cast<std::uint32_t>(spec.identities.size()));
  for (const std::string& path : spec.identities) {
    struct stat info {};
    key.text(path);
    if (::stat(path.c_str(), &info) != 0) {
      key.u8(0);
      continue;
    }
    key.u8(1)
        .u64(static_cast<std::uint64_t>(info.st_dev))
        .u64(static_cast<std::uint64_t>(info.st_ino))
        .u64(static_cast<std::uint64_t>(info.st_size))
        .u64(static_cast<std::uint64_t>(info.st_mtim.tv_sec))
        .u64(static_cast<std::uint64_t>(info.st_mtim.tv_nsec));
  }
  key.u8(spec.identities_only ? 1 : 0)
      .text(spec.known_hosts)
      .u8(static_cast<std::uint8_t>(spec.host_key_check))
      .u64(static_cast<std::uint64_t>(spec.keepalive.count()));
  return key.take();
}

}  // namespace deployd::warm
