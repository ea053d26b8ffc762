#!/usr/bin/env bash
# Installs the Debian 12 packages otpp needs, only those that are missing.
set -euo pipefail

packages=(g++ make cmake libcaf-dev libspdlog-dev libtomlplusplus-dev doctest-dev libhiredis-dev redis-server libcpp-httplib-dev libsqlite3-dev
          libpq-dev postgresql openssl iproute2 nftables curl pkg-config libssl-dev
          nlohmann-json3-dev tmux prometheus)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "otpp: missing Debian packages: ${missing[*]}" >&2
    echo "otpp: run as root, or install them first: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  as_root=()
fi

echo "otpp: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as prometheus (installed for its promtool) and the database
# servers would start system services: the tests start their own servers on
# loopback, so services are kept from starting during the install.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
