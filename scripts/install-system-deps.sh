#!/usr/bin/env bash
# install-system-deps.sh — install the Debian (bookworm) packages Nubo's tests need.
#
# Today that is only what the conformance tier needs (Tempest and the openstack CLI,
# used by ../shared/conformance). Quiet and quick when everything is installed; runs
# `apt-get update` once, and only when something is missing. Needs root to install;
# when not root it prints the exact command to run and exits 1.
#
# Usage: bash scripts/install-system-deps.sh
set -euo pipefail

# The package list, in one place. (python3-osc-placement: not needed until placement exists.)
PACKAGES=(
    tempest
    python3-openstackclient
    python3-openstacksdk
    python3-keystoneclient
)

installed() {
    # dpkg -s exits 0 for packages in states like "deinstall"; require "install ok installed".
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-system-deps: run as root:" >&2
    echo "    $cmd" >&2
    exit 1
fi

echo "install-system-deps: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q "${missing[@]}" </dev/null
for p in "${missing[@]}"; do
    installed "$p" || { echo "install-system-deps: $p is still not installed" >&2; exit 1; }
done
echo "install-system-deps: installed ${missing[*]}"
