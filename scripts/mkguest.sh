#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the tiny test guest for the live-migration work into OUTDIR:
#   OUTDIR/vmlinuz     Debian's kernel for this release (linux-image-<arch>'s
#                      target), fetched with apt-get download and unpacked
#                      with dpkg-deb -x; never installed on the host
#   OUTDIR/initrd.gz   busybox initramfs (cpio newc, gzip)
# Idempotent: the .deb, the unpacked kernel and the initramfs are cached in
# OUTDIR and rebuilt only when the kernel package or this script changes.
#
# Guest kernel command line:
#   hs.ip=ADDR/LEN   address of eth0 (default 10.1.0.5/24)
#   hs.gw=ADDR       default route (optional)
#   hs.name=NAME     hostname (default hsguest)
# The MAC comes from QEMU (-device virtio-net-pci,mac=...).
# Services: TCP echo on port 7, HTTP on port 80 (/ shows hostname and boot
# id, /cgi-bin/status returns uptime and boot id). When all are listening
# the guest prints "HS-GUEST-READY" on the console.
#
# Usage: scripts/mkguest.sh OUTDIR    (prints OUTDIR/vmlinuz and initrd.gz)
# Exit 2 when a host tool or the kernel package is not available.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 1; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

die2() { echo "mkguest: $*" >&2; exit 2; }

for t in apt-get apt-cache dpkg-deb depmod cpio gzip; do
	command -v $t >/dev/null || die2 "$t is not installed"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die2 "busybox is not installed (busybox-static)"
# The guest has no libc: busybox must be static.
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
	die2 "$busybox is not static (install busybox-static)"
fi

# ---- the kernel package ----
arch=$(dpkg --print-architecture)
meta=linux-image-$arch
kpkg=$(apt-cache depends "$meta" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || die2 "cannot resolve $meta with apt-cache (apt-get update?)"
kver=${kpkg#linux-image-}

kdir=$out/kernel-$kver
if [ ! -f "$kdir/.done" ]; then
	rm -rf "$kdir" "$out"/dl
	mkdir -p "$out/dl"
	(cd "$out/dl" && apt-get download -q "$kpkg" >/dev/null 2>&1) ||
		die2 "apt-get download $kpkg failed"
	dpkg-deb -x "$out"/dl/"$kpkg"_*.deb "$kdir"
	[ -d "$kdir/lib/modules/$kver" ] || die2 "no modules for $kver in $kpkg"
	depmod -b "$kdir" "$kver"
	rm -rf "$out/dl"
	touch "$kdir/.done"
	# drop kernels of older packages
	for d in "$out"/kernel-*; do
		[ "$d" = "$kdir" ] || rm -rf "$d"
	done
fi
mdir=$kdir/lib/modules/$kver

# ---- the initramfs ----
stamp="$kpkg $(sha256sum "$self" | cut -d' ' -f1) $(sha256sum "$busybox" | cut -d' ' -f1)"
if [ -f "$out/initrd.gz" ] && [ -f "$out/vmlinuz" ] &&
   [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out/vmlinuz"
	echo "$out/initrd.gz"
	exit 0
fi

# Modules in load order: each module's dependencies (modules.dep lists
# them deepest last) before it, no duplicates.
mods=()
add_mod() {
	local line deps d i
	line=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$mdir/modules.dep") ||
		die2 "module $1 not in $kpkg"
	read -r -a deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		add_path "${deps[i]}"
	done
	add_path "${line%%:*}"
}
add_path() {
	local m
	for m in "${mods[@]}"; do [ "$m" = "$1" ] && return; done
	mods+=("$1")
}
for m in virtio_pci virtio_net virtio_blk; do
	add_mod $m
done

root=$(mktemp -d "$out/.root.XXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,www/cgi-bin,lib/modules,run}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
order=
for m in "${mods[@]}"; do
	b=$(basename "$m")
	case $b in
	*.ko.xz) xz -dc "$mdir/$m" >"$root/lib/modules/${b%.xz}"; b=${b%.xz} ;;
	*.ko.zst) zstd -qdc "$mdir/$m" >"$root/lib/modules/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$mdir/$m" "$root/lib/modules/$b" ;;
	esac
	order="$order $b"
done
echo "${order# }" >"$root/lib/modules/order"

cat >"$root/init" <<'EOF'
#!/bin/sh
# heliostat test guest: set up, then hand over to busybox init.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
exec </dev/console >/dev/console 2>&1

for m in $(cat /lib/modules/order); do
	insmod /lib/modules/$m || echo "hs-guest: insmod $m failed"
done

ip=10.1.0.5/24 gw= name=hsguest
for a in $(cat /proc/cmdline); do
	case $a in
	hs.ip=*) ip=${a#hs.ip=} ;;
	hs.gw=*) gw=${a#hs.gw=} ;;
	hs.name=*) name=${a#hs.name=} ;;
	esac
done
hostname "$name"
echo "127.0.0.1 localhost" >/etc/hosts
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	usleep 50000
	i=$((i + 1))
done
ip addr add "$ip" dev eth0 || echo "hs-guest: no eth0"
ip link set eth0 up
[ -n "$gw" ] && ip route add default via "$gw"

boot_id=$(cat /proc/sys/kernel/random/boot_id)
cat >/www/index.html <<EOP
<html><body><h1>heliostat test guest</h1>
<p>hostname: $name</p>
<p>boot_id: $boot_id</p>
<p>address: $ip</p>
</body></html>
EOP
exec /bin/init
EOF
chmod 755 "$root/init"

cat >"$root/www/cgi-bin/status" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "hostname $(hostname)"
echo "boot_id $(cat /proc/sys/kernel/random/boot_id)"
echo "uptime $(cut -d' ' -f1 /proc/uptime)"
EOF
chmod 755 "$root/www/cgi-bin/status"

# Services are respawned by busybox init; ready.sh reports once they listen.
cat >"$root/etc/inittab" <<'EOF'
::respawn:/bin/nc -ll -p 7 -e /bin/cat
::respawn:/bin/httpd -f -p 80 -h /www
::once:/etc/ready.sh
::ctrlaltdel:/bin/poweroff -f
EOF

cat >"$root/etc/ready.sh" <<'EOF'
#!/bin/sh
i=0
while [ $i -lt 200 ]; do
	l=$(netstat -ltn 2>/dev/null)
	if echo "$l" | grep -q ':7 ' && echo "$l" | grep -q ':80 '; then
		echo; echo "HS-GUEST-READY $(hostname) $(cat /proc/sys/kernel/random/boot_id) uptime $(cut -d' ' -f1 /proc/uptime)" >/dev/console
		exit 0
	fi
	usleep 50000
	i=$((i + 1))
done
echo "HS-GUEST-FAILED services not listening" >/dev/console
EOF
chmod 755 "$root/etc/ready.sh"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -9n >"$out/initrd.gz.tmp"
cp "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$stamp" >"$out/.stamp"
echo "$out/vmlinuz"
echo "$out/initrd.gz"
