// SPDX-License-Identifier: MIT
// Where `deployd serve` listens: a Unix socket in a folder only its user can enter.
#pragma once

#include <string>

namespace deployd::warm {

/// `$XDG_RUNTIME_DIR/deployd` when XDG_RUNTIME_DIR is set, else `/tmp/deployd-UID`.
std::string runtime_folder();

/// The socket in `folder`.
std::string socket_path(const std::string& folder);

/// Why `folder` must not be used, or "": it must be a folder (not a symlink) owned by the
/// effective user and closed to everyone else (mode 0700 or tighter). Anybody may create
/// /tmp/deployd-UID first; a run that trusted it would send its commands to their daemon.
std::string unsafe_folder_reason(const std::string& folder);

/// Creates `folder` (mode 0700) if it is missing, then checks it; the error, or "".
std::string make_runtime_folder(const std::string& folder);

/// The user id of the process at the other end of a connected Unix socket (SO_PEERCRED), or -1.
long peer_uid(int fd);

}  // namespace deployd::warm
