#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Targets only jump hosts can reach, for the bastion tests and bench (run as root):
#
#   root namespace (deployd) --veth 198.18.K.0/30--> NS_T: bastion "b1" 198.18.K.2:PORT
#                                                          targets 127.0.71.x:PORT (NS_T's lo)
#   root namespace --veth 198.18.K.4/30--> NS_J: bastion "b0" 198.18.K.6:PORT
#   NS_J --veth 198.18.K.8/30--> NS_T: "b1" also on 198.18.K.10:PORT (reached only through b0)
#
# K = PORT % 250, so runs on different ports do not collide. 198.18.0.0/15 is the benchmarking
# range; every packet stays in namespaces this script makes (an `unreachable` route keeps
# 198.18.K.8/30 from leaving through the default route).
# The targets are a scripts/fleet fleet started inside NS_T; the bastions are sshds with the
# fleet's config, host key and authorized_keys.
#
#   bastion_net.sh up DIR N PORT [FLEET_SCRIPT]   writes DIR/bastion.json
#   bastion_net.sh down DIR                       stops everything `up` started, by PID and name
set -euo pipefail

readonly SSHD=/usr/sbin/sshd

die() {
  echo "bastion_net: $*" >&2
  exit 1
}

names() {
  NET=198.18.$(($1 % 250))
  NS_T=deployd-bt-$1
  NS_J=deployd-bj-$1
  VETH_T=dbt$1 VETH_J=dbj$1 VETH_JT=djt$1 # root<->NS_T, root<->NS_J, NS_J<->NS_T (<= 15 chars)
}

# Starts a bastion sshd in namespace NS listening on ADDRESSES, from the fleet's sshd 01 config.
start_bastion() {
  local dir=$1 ns=$2 name=$3 port=$4
  shift 4
  local conf=$dir/bastion/$name.conf
  {
    for address in "$@"; do echo "ListenAddress $address:$port"; done
    grep -v -e '^ListenAddress' -e '^PidFile' "$dir/fleet/sshd/01.conf"
    echo "PidFile \"$dir/bastion/$name.pid\""
    echo "AllowTcpForwarding yes"
  } >"$conf"
  ip netns exec "$ns" "$SSHD" -f "$conf" -E "$dir/bastion/$name.log" </dev/null
  for _ in $(seq 100); do
    [[ -s $dir/bastion/$name.pid ]] && return 0
    sleep 0.05
  done
  die "bastion $name did not start: $(cat "$dir/bastion/$name.log")"
}

up() {
  local dir=$1 count=$2 port=$3 fleet_script=${4:-$(dirname "$0")/../../scripts/fleet}
  names "$port"
  mkdir -p "$dir/bastion"
  chmod 0711 "$dir"
  ip netns add "$NS_T"
  ip netns add "$NS_J"
  ip -n "$NS_T" link set lo up
  ip -n "$NS_J" link set lo up
  ip link add "$VETH_T" type veth peer name "${VETH_T}n" netns "$NS_T"
  ip link add "$VETH_J" type veth peer name "${VETH_J}n" netns "$NS_J"
  ip -n "$NS_J" link add "$VETH_JT" type veth peer name "${VETH_JT}n" netns "$NS_T"
  # b1's address behind b0 must not be reachable from here, not even through the default route.
  ip route add unreachable "$NET.8/30"
  ip addr add "$NET.1/30" dev "$VETH_T"
  ip addr add "$NET.5/30" dev "$VETH_J"
  ip -n "$NS_T" addr add "$NET.2/30" dev "${VETH_T}n"
  ip -n "$NS_J" addr add "$NET.6/30" dev "${VETH_J}n"
  ip -n "$NS_J" addr add "$NET.9/30" dev "$VETH_JT"
  ip -n "$NS_T" addr add "$NET.10/30" dev "${VETH_JT}n"
  ip link set "$VETH_T" up
  ip link set "$VETH_J" up
  ip -n "$NS_T" link set "${VETH_T}n" up
  ip -n "$NS_J" link set "${VETH_J}n" up
  ip -n "$NS_J" link set "$VETH_JT" up
  ip -n "$NS_T" link set "${VETH_JT}n" up

  ip netns exec "$NS_T" "$fleet_script" start "$dir/fleet" "$count" \
    --base-address 127.0.71.1 --port "$port" >/dev/null
  start_bastion "$dir" "$NS_T" b1 "$port" "$NET.2" "$NET.10"
  start_bastion "$dir" "$NS_J" b0 "$port" "$NET.6"
  # The bastions share the fleet's host key: known_hosts learns their addresses too.
  local key
  key=$(cut -d' ' -f1,2 "$dir/fleet/host_ed25519_key.pub")
  for address in "$NET.2" "$NET.6" "$NET.10"; do
    echo "[$address]:$port $key" >>"$dir/fleet/known_hosts"
  done
  cat >"$dir/bastion.json" <<EOF
{"fleet": "$dir/fleet", "port": $port,
 "b1": "$NET.2", "b1_behind_b0": "$NET.10", "b0": "$NET.6",
 "b1_pid_file": "$dir/bastion/b1.pid", "b0_pid_file": "$dir/bastion/b0.pid"}
EOF
}

# Kills a bastion sshd and its per-connection processes (its descendants), by PID.
stop_bastion() {
  local pid_file=$1 pid
  [[ -s $pid_file ]] || return 0
  pid=$(cat "$pid_file")
  local pids=("$pid") i=0 child
  while ((i < ${#pids[@]})); do
    # Each children file is one line of PIDs separated by spaces: split into words on purpose.
    # shellcheck disable=SC2013
    for child in $(cat "/proc/${pids[i]}/task/"*/children 2>/dev/null); do pids+=("$child"); done
    i=$((i + 1))
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  rm -f "$pid_file"
}

down() {
  local dir=$1 port
  [[ -f $dir/bastion.json ]] || return 0
  port=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$dir/bastion.json")
  names "$port"
  stop_bastion "$dir/bastion/b1.pid"
  stop_bastion "$dir/bastion/b0.pid"
  if [[ -d $dir/fleet ]]; then
    "$(dirname "$0")/../../scripts/fleet" stop "$dir/fleet" >/dev/null || true
  fi
  ip route del unreachable "$NET.8/30" 2>/dev/null || true
  ip link del "$VETH_T" 2>/dev/null || true
  ip link del "$VETH_J" 2>/dev/null || true
  ip netns del "$NS_T" 2>/dev/null || true
  ip netns del "$NS_J" 2>/dev/null || true
  rm -f "$dir/bastion.json"
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  kill-bastion) stop_bastion "$2" ;;
  start-b1)
    port=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$2/bastion.json")
    names "$port"
    start_bastion "$2" "$NS_T" b1 "$port" "$NET.2" "$NET.10"
    ;;
  *)
    die "usage: bastion_net.sh up DIR N PORT [FLEET_SCRIPT] | down DIR | kill-bastion PID_FILE" \
      "| start-b1 DIR"
    ;;
esac
