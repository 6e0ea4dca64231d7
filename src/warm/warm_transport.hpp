// SPDX-License-Identifier: MIT
// The run's side of warm sessions: a Transport that borrows each host's session from
// `deployd serve` when one answers, and connects directly otherwise.
#pragma once

#include <memory>
#include <string>

#include "engine/transport.hpp"

namespace deployd::warm {

/// Wraps `direct` (the SSH transport): a host whose session the daemon at `socket` can hold
/// (no jump host, no password, no passphrase, a named identity or no agent) borrows one from it,
/// and its commands and transfers run there (a `get` of a run whose umask is not the daemon's
/// opens a direct session of its own).
/// Any other host, or every host when no daemon answers, goes through `direct`.
std::unique_ptr<engine::Transport> make_warm_transport(std::unique_ptr<engine::Transport> direct,
                                                       std::string socket);

/// The host's session can be held by the daemon (see make_warm_transport).
bool can_borrow(const Host& host);

}  // namespace deployd::warm
