#!/usr/bin/env bash
# install-system-deps.sh — install the Debian (bookworm) packages Nubo's tests need.
#
# That is what the conformance tier needs (Tempest and the openstack CLI, used by
# ../shared/conformance), and what the tiny guest build (`nubo image build-tiny`) and the
# dataplane tier (QEMU boots of it) need. Quiet and quick when everything is installed; runs
# `apt-get update` once, and only when something is missing. Needs root to install;
# when not root it prints the exact command to run and exits 1.
#
# Usage: bash scripts/install-system-deps.sh
set -euo pipefail

# The package list, in one place.
PACKAGES=(
    tempest
    python3-openstackclient
    python3-openstacksdk
    python3-keystoneclient
    python3-osc-placement
    python3-swiftclient
    awscli s3cmd   # S3 API tests (test/functional/object/s3.test.ts)
    # tiny guest build (src/image/tiny-guest; the kernel .deb is fetched by the build itself)
    # and the dataplane tier (QEMU under TCG, config drives)
    qemu-system-x86
    qemu-utils
    busybox-static
    dropbear-bin
    genisoimage
    dosfstools
    mtools
    syslinux
    syslinux-common
    fdisk
    cpio
    e2fsprogs
    xz-utils
    gzip
    openssh-client   # ssh into guests (dataplane tier, boot benchmark)
    python3-novaclient
    # network service dataplane (src/network/drivers/linux): bridges, namespaces, DHCP,
    # security groups and NAT in nftables, the metadata proxy, conntrack flushes
    iproute2
    dnsmasq-base
    nftables
    haproxy
    conntrack
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
apt-get -o DPkg::Lock::Timeout=600 update -qq   # waits for another apt run instead of failing
apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" </dev/null
for p in "${missing[@]}"; do
    installed "$p" || { echo "install-system-deps: $p is still not installed" >&2; exit 1; }
done
echo "install-system-deps: installed ${missing[*]}"
