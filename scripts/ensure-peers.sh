#!/usr/bin/env bash
# The tests talk to real peers (socat, openssl, curl, redis-server, dnsmasq). On a fresh Debian
# machine, install the missing ones; elsewhere, say which are missing and how to get them.
set -u
missing=()
for bin in socat openssl curl redis-server dnsmasq; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=()
for bin in "${missing[@]}"; do
  case "$bin" in dnsmasq) packages+=(dnsmasq-base) ;; *) packages+=("$bin") ;; esac
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing test peers: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null || exit 1
else
  echo "The tests need these programs: ${missing[*]}. Install them (Debian: sudo apt-get install -y ${packages[*]})." >&2
  exit 1
fi
