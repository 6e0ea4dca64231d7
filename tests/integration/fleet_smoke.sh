#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-test of scripts/fleet: start 3 hosts on 2 sshd, log into each with OpenSSH through the
# generated ssh_config, stop the fleet and check that none of its sshd survives. Then the same
# with --isolated: each host's /var/www and /tmp are its own, and stop ends what a session left
# running in a host, but nothing outside the fleet.
# Exit 0 pass, 1 fail, 77 skip (not root or no sshd, unless DEPLOYD_REQUIRE_FLEET=1).
set -euo pipefail

LOG_PREFIX="fleet_smoke: "
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

REPO=$(repo_root)
readonly FLEET=$REPO/scripts/fleet
FAILURES=0
DIR=""

check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok - $what"
  else
    echo "not ok - $what"
    FAILURES=$((FAILURES + 1))
  fi
}

skip_or_fail() {
  echo "fleet_smoke: $1" >&2
  [[ ${DEPLOYD_REQUIRE_FLEET:-} == 1 ]] && exit 1
  exit 77
}

# A fresh folder sshd's StrictModes accepts (mktemp's /tmp is world-writable, so it is not).
make_scratch_dir() {
  local base
  for base in /run "$REPO/build"; do
    if [[ -d $base && -z $(fleet_dir_problem "$base/x") ]]; then
      mktemp -d "$base/deployd-fleet-smoke.XXXXXX"
      return
    fi
  done
  die "no folder for the fleet that sshd's StrictModes accepts (tried /run, $REPO/build)"
}

cleanup() {
  [[ -n $DIR ]] || return 0
  "$FLEET" stop "$DIR" >/dev/null 2>&1 || true
  rm -rf -- "$DIR"
}

ssh_says_ok() {
  [[ $(ssh -F "$DIR/ssh_config" -o ConnectTimeout=5 "$1" 'echo ok' </dev/null) == ok ]]
}

status_fails() { ! "$FLEET" status "$DIR" >/dev/null; }

all_exited() {
  local pid stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]] || return 1 # a zombie has exited; PID 1 reaps it late here
  done
}

# Runs COMMAND on HOST of the fleet with OpenSSH.
on_host() {
  ssh -F "$DIR/ssh_config" -o ConnectTimeout=5 "$1" "$2" </dev/null
}

# The PID of a `sleep 600` a session left running on HOST (detached, as a daemon would be).
leave_sleeper() {
  on_host "$1" 'setsid sleep 600 >/dev/null 2>&1 </dev/null & echo $!'
}

check_isolated() {
  local port=$1 outside sleeper
  "$FLEET" start "$DIR" 2 --base-address 127.0.250.1 --port "$port" --isolated
  on_host node001 'echo one | sudo -n tee /var/www/mark >/dev/null && echo one > /tmp/mark'
  on_host node002 'echo two | sudo -n tee /var/www/mark >/dev/null'
  check "node001's /var/www is DIR/hosts/node001/var-www" \
    grep -qx one "$DIR/hosts/node001/var-www/mark"
  check "node002's /var/www is its own" grep -qx two "$DIR/hosts/node002/var-www/mark"
  check "node001's /tmp is DIR/hosts/node001/tmp" grep -qx one "$DIR/hosts/node001/tmp/mark"
  check "the machine's /var/www is untouched" [ ! -e /var/www/mark ]
  sleeper=$(leave_sleeper node002)
  sleep 600 &
  outside=$!
  "$FLEET" stop "$DIR"
  check "stop ends what a session left running in an isolated host" all_exited "$sleeper"
  check "stop leaves processes outside the fleet alone" kill -0 "$outside"
  kill "$outside"
}

main() {
  local port host pids
  ((EUID == 0)) || skip_or_fail "needs root (sshd and the login user)"
  [[ -x /usr/sbin/sshd ]] || skip_or_fail "needs /usr/sbin/sshd (apt-get install openssh-server)"
  trap cleanup EXIT
  DIR=$(make_scratch_dir)
  # Addresses and a port of its own, so it can run beside the test and demo fleets.
  port=$((20000 + $$ % 20000))
  "$FLEET" start "$DIR" 3 --base-address 127.0.250.1 --port "$port" --hosts-per-sshd 2

  check "hosts.txt lists 3 hosts" [ "$(wc -l <"$DIR/hosts.txt")" -eq 3 ]
  check "inventory.json names node003" grep -q '"name": "node003", "address": "127.0.250.3"' \
    "$DIR/inventory.json"
  check "status says all sshd run" "$FLEET" status "$DIR"
  mapfile -t pids < <("$FLEET" pids "$DIR")
  check "2 sshd serve 3 hosts (2 per sshd)" [ "${#pids[@]}" -eq 2 ]
  while read -r host; do
    check "ssh $host echo ok" ssh_says_ok "$host"
  done <"$DIR/hosts.txt"
  check "ssh to an address through Host *" ssh_says_ok 127.0.250.2

  "$FLEET" stop "$DIR"
  check "no sshd of the fleet survives stop" all_exited "${pids[@]}"
  check "status fails once stopped" status_fails
  check "stop is idempotent" "$FLEET" stop "$DIR"

  check_isolated "$port"

  ((FAILURES == 0)) || {
    echo "fleet_smoke: $FAILURES check(s) failed" >&2
    exit 1
  }
  echo "fleet_smoke: pass"
}

main "$@"
