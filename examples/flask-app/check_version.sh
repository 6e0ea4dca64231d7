#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_version.sh URL VERSION
# Fetches URL (the app's /version page) until it answers VERSION, for up to 10 s: after a release
# switch the server reloads within a second. Prints what it got; fails if it never matches.
url=$1 want=$2 got="" i=0
while [ $i -lt 50 ]; do
  got=$(curl -fsS --max-time 2 "$url" 2>&1) && [ "$got" = "$want" ] && break
  i=$((i + 1))
  sleep 0.2
done
if [ "$got" = "$want" ]; then
  echo "$url answers $got"
else
  echo "$url answers \"$got\", expected \"$want\"" >&2
  exit 1
fi
