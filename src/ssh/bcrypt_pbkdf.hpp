// SPDX-License-Identifier: MIT
// bcrypt_pbkdf, the key derivation of OpenSSH's encrypted private keys (PROTOCOL.key).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace deployd::ssh {

/// `length` bytes derived from `passphrase` and `salt` in `rounds` rounds, as OpenBSD's
/// bcrypt_pbkdf(3) does; "" if an argument is out of range. ~14 ms per round: call it once.
std::string bcrypt_pbkdf(std::string_view passphrase, std::string_view salt, std::uint32_t rounds,
                         std::size_t length);

}  // namespace deployd::ssh
