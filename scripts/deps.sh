#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian packages heliostat needs to build, test and run its
# demo. Idempotent: when everything is present it only checks and exits.
# Usage: scripts/deps.sh [--check]   (--check: list what is missing, exit 1 if any)
set -eu

pkgs=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev
	libmnl-dev libcurl4-openssl-dev libjson-c-dev libinih-dev liblmdb-dev libssl-dev
	# lint
	clang-format clang-tidy cppcheck
	# tests and benchmarks
	iproute2 nftables iperf3 xdp-tools ethtool procps psmisc iputils-ping netcat-openbsd tcpdump jq
	openvswitch-switch etcd-server etcd-client
	# test guest (selftests/vm, scripts/mkguest.sh)
	qemu-system-x86 busybox-static cpio
)

missing=()
for p in "${pkgs[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done

if [ "${1:-}" = --check ]; then
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "missing packages: ${missing[*]}"
	exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps.sh: need root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
