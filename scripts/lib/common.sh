# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers shared by scripts/fleet, scripts/dev and the shell tests. Source it; it runs nothing.

# The prefix of every message, e.g. "fleet: " (set by the sourcing script).
: "${LOG_PREFIX:=}"

log() { printf '%s%s\n' "$LOG_PREFIX" "$*" >&2; }

die() {
  printf '%serror: %s\n' "$LOG_PREFIX" "$*" >&2
  exit 1
}

# The top of the repository this file belongs to (scripts/lib/..).
repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P); }

# Absolute form of PATH with symlinks resolved (sshd checks the real path); PATH need not exist.
resolve_path() {
  local path=$1 rest=""
  [[ $path == /* ]] || path=$PWD/$path
  while [[ ! -d $path ]]; do
    rest=/$(basename -- "$path")$rest
    path=$(dirname -- "$path")
  done
  path=$(cd -- "$path" && pwd -P)
  printf '%s%s\n' "${path%/}" "$rest"
}

# Why DIR (existing or not) cannot hold the fleet's authorized_keys, or nothing if it can.
# sshd's StrictModes walks from the key file up to / and refuses any folder that is not owned by
# root or the login user, or that is group/world-writable (so /tmp, mode 1777, is refused).
# The login user must also be able to search every folder, since sshd reads the file as that user.
# DIR's own mode is not checked: scripts/fleet sets it (0711).
fleet_dir_problem() {
  local path=$1 owner mode
  while [[ ! -e $path ]]; do path=$(dirname -- "$path"); done
  while :; do
    read -r owner mode < <(stat -L -c '%u %a' -- "$path")
    if ((owner != 0)); then
      printf '%s is owned by uid %s, not root (sshd StrictModes refuses it)\n' "$path" "$owner"
      return
    fi
    if [[ $path != "$1" ]] && ((8#$mode & 8#022)); then
      printf '%s has mode %s: group/world-writable (sshd StrictModes refuses it)\n' "$path" "$mode"
      return
    fi
    if [[ $path != "$1" ]] && ((!(8#$mode & 8#001))); then
      printf '%s has mode %s: other users cannot search it (the login user must)\n' "$path" "$mode"
      return
    fi
    [[ $path == / ]] && return
    path=$(dirname -- "$path")
  done
}

# A folder for fleet NAME of the repo: BUILD_DIR/NAME when sshd accepts that path, otherwise
# (a clone under /tmp or /root, say) a folder under /run/deployd keyed by the repo's path.
fleet_dir_for() {
  local build_dir=$1 name=$2
  local preferred
  preferred=$(resolve_path "$build_dir/$name")
  if [[ -z $(fleet_dir_problem "$preferred") ]]; then
    printf '%s\n' "$preferred"
  else
    printf '/run/deployd/%s-%s\n' "$name" "$(printf '%s' "$preferred" | cksum | cut -d' ' -f1)"
  fi
}
