#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the tiny test guest for the live-migration work into OUTDIR:
#   OUTDIR/vmlinuz     Debian's kernel for this release (linux-image-<arch>'s
#                      target), fetched with apt-get download and unpacked
#                      with dpkg-deb -x; never installed on the host
#   OUTDIR/initrd.gz   busybox initramfs (cpio newc, gzip), plus the host's
#                      iproute2 ip with the libraries it links (busybox ip
#                      cannot add neighbour entries)
# Idempotent: the .deb, the unpacked kernel and the initramfs are cached in
# OUTDIR and rebuilt only when the kernel package or this script changes.
#
# Guest kernel command line (all optional):
#   hs.ip=ADDR[/LEN]    IPv4 address of eth0; LEN defaults to 32
#                       (without hs.ip: 10.1.0.5/24)
#   hs.gw=ADDR          IPv4 gateway: a route to ADDR on eth0 and the default
#                       route via ADDR onlink, so it need not be in the
#                       address's subnet (heliostat uses 169.254.0.1)
#   hs.gwmac=MAC        permanent neighbour entry for hs.gw on eth0: the
#                       guest never ARPs for its gateway (the data plane
#                       does not answer ARP)
#   hs.ip6=ADDR[/LEN]   IPv6 address of eth0 (no DAD); LEN defaults to 128
#   hs.gw6=ADDR         IPv6 gateway, as hs.gw (link-local works too)
#   hs.gw6mac=MAC       permanent neighbour entry for hs.gw6 (default: hs.gwmac)
#   hs.name=NAME        hostname (default hsguest)
# The MAC comes from QEMU (-device virtio-net-pci,mac=...).
# Services: TCP echo on port 7 (a process per connection, many at once),
# HTTP on port 80 (/ shows hostname and boot id, /cgi-bin/status returns
# hostname, boot id, uptime, the addresses of eth0 and the permanent
# neighbour entries). When all are listening the guest prints
# "HS-GUEST-READY <hostname> <boot id> uptime <s>" on the console.
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
ipbin=$(command -v ip || true)
[ -n "$ipbin" ] && ipbin=$(readlink -f "$ipbin")
[ -n "$ipbin" ] || die2 "ip is not installed (iproute2)"
command -v ldd >/dev/null || die2 "ldd is not installed"
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
stamp="$stamp $(sha256sum "$ipbin" | cut -d' ' -f1)"
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

# iproute2's ip as /sbin/ip, its libraries and
# the dynamic loader at the paths ldd reports (Debian's loader searches
# /lib/<triplet>, where they go)
cp "$ipbin" "$root/sbin/ip"
for l in $(ldd "$ipbin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done

cat >"$root/init" <<'EOF'
#!/bin/sh
# heliostat test guest: set up, then hand over to busybox init.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# iproute2's ip (busybox ip cannot add neighbour entries); a function, as
# this busybox sh runs its own applets before looking at PATH
ip() { /sbin/ip "$@"; }
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
exec </dev/console >/dev/console 2>&1

for m in $(cat /lib/modules/order); do
	insmod /lib/modules/$m || echo "hs-guest: insmod $m failed"
done

ip=10.1.0.5/24 gw= gwmac= ip6= gw6= gw6mac= name=hsguest
for a in $(cat /proc/cmdline); do
	case $a in
	hs.ip=*) ip=${a#hs.ip=} ;;
	hs.gw=*) gw=${a#hs.gw=} ;;
	hs.gwmac=*) gwmac=${a#hs.gwmac=} ;;
	hs.ip6=*) ip6=${a#hs.ip6=} ;;
	hs.gw6=*) gw6=${a#hs.gw6=} ;;
	hs.gw6mac=*) gw6mac=${a#hs.gw6mac=} ;;
	hs.name=*) name=${a#hs.name=} ;;
	esac
done
case $ip in */*) ;; *) ip=$ip/32 ;; esac
case $ip6 in "" | */*) ;; *) ip6=$ip6/128 ;; esac
[ -n "$gw6mac" ] || gw6mac=$gwmac
hostname "$name"
echo "127.0.0.1 localhost" >/etc/hosts
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	usleep 50000
	i=$((i + 1))
done
# up first: taking a link down flushes its permanent neighbour entries
ip link set eth0 up || echo "hs-guest: no eth0"
ip addr add "$ip" dev eth0 || echo "hs-guest: cannot add $ip"
if [ -n "$gw" ]; then
	[ -n "$gwmac" ] && ip neigh replace "$gw" lladdr "$gwmac" dev eth0 nud permanent
	ip route replace "$gw" dev eth0
	ip route add default via "$gw" dev eth0 onlink || echo "hs-guest: no route via $gw"
fi
if [ -n "$ip6" ]; then
	ip -6 addr add "$ip6" dev eth0 nodad || echo "hs-guest: cannot add $ip6"
fi
if [ -n "$gw6" ]; then
	[ -n "$gw6mac" ] && ip -6 neigh replace "$gw6" lladdr "$gw6mac" dev eth0 nud permanent
	ip -6 route replace "$gw6" dev eth0
	ip -6 route add default via "$gw6" dev eth0 onlink || echo "hs-guest: no route via $gw6"
fi

boot_id=$(cat /proc/sys/kernel/random/boot_id)
cat >/www/index.html <<EOP
<html><body><h1>heliostat test guest</h1>
<p>hostname: $name</p>
<p>boot_id: $boot_id</p>
<p>address: $ip</p>
<p>address6: $ip6</p>
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
/sbin/ip -o addr show dev eth0 scope global | awk '{ print "addr", $4 }'
/sbin/ip neigh show nud permanent | sed 's/^/neigh /'
EOF
chmod 755 "$root/www/cgi-bin/status"

# /cgi-bin/dirty?start[=MB] rewrites an MB-sized (default 24) tmpfs file in
# a loop, so memory is dirtied faster than a capped migration copies it;
# /cgi-bin/dirty?stop ends that. For the migration tests (post-copy,
# auto-converge).
cat >"$root/www/cgi-bin/dirty" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
case "$QUERY_STRING" in
stop)
	[ -f /tmp/dirty.pid ] && kill "$(cat /tmp/dirty.pid)"
	rm -f /tmp/dirty.pid /tmp/dirty.img
	echo stopped
	;;
start*)
	mb=${QUERY_STRING#start}; mb=${mb#=}; mb=${mb:-24}
	case $mb in *[!0-9]*) echo "bad size"; exit 0 ;; esac
	[ -f /tmp/dirty.pid ] && kill -0 "$(cat /tmp/dirty.pid)" 2>/dev/null && { echo running; exit 0; }
	setsid sh -c "echo \$\$ >/tmp/dirty.pid; while :; do dd if=/dev/zero of=/tmp/dirty.img bs=1M count=$mb conv=notrunc 2>/dev/null; done" \
		</dev/null >/dev/null 2>&1 &
	echo "started $mb MiB"
	;;
*)
	echo "usage: dirty?start[=MB] | dirty?stop"
	;;
esac
EOF
chmod 755 "$root/www/cgi-bin/dirty"

# Services are respawned by busybox init; ready.sh reports once they listen.
# Echo: busybox-static has no tcpsvd or inetd, but its nc with two or more
# -l accepts forever and forks a /bin/cat per connection; the count of -l
# is also its listen backlog, so 64 of them take a burst of 64 connects
# without dropped SYNs.
cat >"$root/etc/inittab" <<EOF
::respawn:/bin/nc -$(printf 'l%.0s' $(seq 64)) -p 7 -e /bin/cat
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
