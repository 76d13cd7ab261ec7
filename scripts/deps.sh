#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian packages heliostat needs to build, test and run its
# demo, and the user and group libvirt's QEMU driver needs. Idempotent:
# when everything is present it only checks and exits.
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
	qemu-system-x86 busybox-static cpio curl
	# libvirt sites and live migration (selftests/vm/libvirt.sh)
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev
)

# libvirt's QEMU driver resolves its compiled-in user and group
# (libvirt-qemu, kvm) before it reads qemu.conf, and will not start
# without them; only libvirt-daemon-system and udev would create them.
ids_missing() { ! getent group kvm >/dev/null || ! getent passwd libvirt-qemu >/dev/null; }
add_ids() {
	getent group kvm >/dev/null || groupadd -r kvm
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -g kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
}

missing=()
for p in "${pkgs[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done

if [ "${1:-}" = --check ]; then
	rc=0
	[ ${#missing[@]} -eq 0 ] || { echo "missing packages: ${missing[*]}"; rc=1; }
	ids_missing && { echo "missing: user libvirt-qemu or group kvm"; rc=1; }
	exit $rc
fi
[ ${#missing[@]} -eq 0 ] && ! ids_missing && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps.sh: need root to install packages" >&2
	exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
ids_missing && { echo "adding user libvirt-qemu, group kvm"; add_ids; }
exit 0
