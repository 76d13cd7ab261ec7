# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# libvirt sites for the live-migration tests. Source it after
# selftests/net/lib.sh (which sets $P, $T, nsx, pass/fail):
#
#   source "$top/selftests/net/lib.sh"
#   source "$top/selftests/vm/libvirt.sh"
#   topo_up A B
#   lv_site_up A A "$(underlay A)" && lv_site_up B B "$(underlay B)"
#   lv_domain_xml web 02:00:00:00:01:05 "hs.ip=10.1.0.5 ..." >"$T/web.xml"
#   lv_define_start A "$T/web.xml" && lv_wait_ready A web 60
#   lv_migrate A web "$(underlay B)"
#
# A site is one libvirtd with the QEMU driver, running in a node's network
# namespace and in a mount namespace of its own, where libvirt's
# directories are bind mounts of the site's directory $T/lv-SITE:
#
#   /run/libvirt       $T/lv-SITE/run     sockets, pid files, domain status
#   /var/lib/libvirt   $T/lv-SITE/lib
#   /var/log/libvirt   $T/lv-SITE/log     libvirtd.log, serial logs
#   /var/cache/libvirt $T/lv-SITE/cache   QEMU capabilities
#   /etc/libvirt       $T/lv-SITE/etc     libvirtd.conf, qemu.conf, domains
#
# so several sites run side by side on one machine, and a domain moves
# between them by live migration over the underlay as between hosts. The
# mount namespace lives as long as its processes (libvirtd, QEMU): the host
# never sees the bind mounts and nothing needs unmounting.
#
# Clients in the host's namespaces reach a site by its UNIX socket
# (lv_uri); sites reach each other over TCP on their listen address
# (lv_tcp_uri), unauthenticated: these daemons are for tests only.
# QEMU runs as root with no security driver, no cgroups and no virtlogd.
#
# A libvirtd probes QEMU's capabilities when it starts, some 8 s under TCG
# with nothing cached. The probe results (libvirt's own cache files, which
# it validates against the QEMU binary, itself and the host kernel and
# reprobes when stale) are kept in LV_CAPS_CACHE (default
# build/libvirt-caps; empty: no sharing) and given to every new site.
#
# The library replaces lib.sh's EXIT trap with one running lv_cleanup, then
# hs_cleanup; a test that sets its own trap must call both, in that order.
# Call lv_site_up, lv_site_down and lv_site_kill in the test's shell, not in
# a $(...) subshell: they keep the daemons' PIDs in shell variables.

LV_LIBVIRTD=${LV_LIBVIRTD:-/usr/sbin/libvirtd}
LV_KERNEL=${LV_KERNEL:-$top/build/guest/vmlinuz}
LV_INITRD=${LV_INITRD:-$top/build/guest/initrd.gz}
LV_MEM_MIB=${LV_MEM_MIB:-96}
LV_START_TIMEOUT=${LV_START_TIMEOUT:-30}
LV_CAPS_CACHE=${LV_CAPS_CACHE-$top/build/libvirt-caps}
LV_DIRS=(run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt etc:/etc/libvirt)
declare -A LV_PID  # site -> PID of its libvirtd; empty once stopped or killed
LV_SITES=()        # sites started, in order

declare -F hs_cleanup >/dev/null || { echo "libvirt.sh: source selftests/net/lib.sh first" >&2; return 1; }
trap 'lv_cleanup; hs_cleanup' EXIT

# lv_require NAME: skips the whole test (exit 77) when libvirtd, virsh or
# QEMU is missing, or the QEMU driver cannot run.
lv_require() {
	local t
	[ -x "$LV_LIBVIRTD" ] || skip_all "$1" "$LV_LIBVIRTD is not installed (libvirt-daemon)"
	for t in virsh unshare qemu-system-x86_64; do
		command -v $t >/dev/null || skip_all "$1" "$t is not installed"
	done
	compgen -G '/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so' >/dev/null ||
		skip_all "$1" "libvirt's QEMU driver is not installed (libvirt-daemon-driver-qemu)"
	# the driver resolves its compiled-in user and group before qemu.conf
	if ! getent passwd libvirt-qemu >/dev/null || ! getent group kvm >/dev/null; then
		skip_all "$1" "user libvirt-qemu or group kvm missing (scripts/deps.sh creates them)"
	fi
	[ -c /dev/net/tun ] || skip_all "$1" "no /dev/net/tun"
}

lv_dir() { echo "$T/lv-$1"; }

# lv_uri SITE: the URI of the site's daemon for clients on the host.
lv_uri() { echo "qemu+unix:///system?socket=$(lv_dir "$1")/run/libvirt-sock"; }

# lv_tcp_uri ADDR: the URI of the daemon listening on ADDR, as another
# site's libvirtd reaches it (virsh migrate --p2p's destination).
lv_tcp_uri() { case $1 in *:*) echo "qemu+tcp://[$1]/system" ;; *) echo "qemu+tcp://$1/system" ;; esac; }

# lv_virsh SITE ARGS...: virsh on the site, bounded to 60 s.
lv_virsh() { local s=$1; shift; timeout 60 virsh -q -c "$(lv_uri "$s")" "$@"; }

lv_write_conf() { # DIR ADDR
	local uuid
	# unique per site (migration refuses a destination with the source's),
	# kept when a site restarts
	uuid=$(sed -n 's/^host_uuid = "\(.*\)"$/\1/p' "$1/etc/libvirtd.conf" 2>/dev/null)
	[ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$1/etc/libvirtd.conf" <<EOF
host_uuid = "$uuid"
listen_tls = 0
listen_tcp = 1
listen_addr = "$2"
auth_tcp = "none"
auth_unix_rw = "none"
log_outputs = "2:file:/var/log/libvirt/libvirtd.log"
EOF
	cat >"$1/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
}

# lv_site_up SITE NETNS LISTEN_ADDR: starts the site's libvirtd in network
# namespace NETNS (a node name of lib.sh, A for $P-A, or else a name in
# /run/netns), listening for TCP on LISTEN_ADDR; returns when the daemon
# answers. Its log: $T/lv-SITE/log/libvirtd.log and $T/lv-SITE/libvirtd.out.
# A site brought up again after lv_site_kill keeps its directory: the new
# daemon takes over the domains whose QEMU still runs.
lv_site_up() {
	local site=$1 ns=$2 addr=$3 dir nsfile pid d end
	dir=$(lv_dir "$site")
	[ -z "${LV_PID[$site]:-}" ] || { echo "# lv: site $site is already up" >&2; return 1; }
	nsfile=/run/netns/$P-$ns
	[ -e "$nsfile" ] || nsfile=/run/netns/$ns
	[ -e "$nsfile" ] || { echo "# lv: no network namespace $ns" >&2; return 1; }
	for d in "${LV_DIRS[@]}"; do
		mkdir -p "$dir/${d%%:*}" "${d#*:}" || return 1 # the host needs the mount points
	done
	lv_write_conf "$dir" "$addr"
	lv_caps_copy "$LV_CAPS_CACHE" "$dir/cache/qemu/capabilities"
	# unshare and nsenter exec, sh execs libvirtd: $! is libvirtd
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --mount --propagation private -- nsenter --net="$nsfile" sh -c '
		d=$1 l=$2
		shift 2
		for m in "$@"; do mount --bind "$d/${m%%:*}" "${m#*:}" || exit 1; done
		exec "$l" --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid' \
		lv-mounts "$dir" "$LV_LIBVIRTD" "${LV_DIRS[@]}" >>"$dir/libvirtd.out" 2>&1 </dev/null &
	pid=$!
	LV_PID[$site]=$pid
	[[ " ${LV_SITES[*]} " == *" $site "* ]] || LV_SITES+=("$site")
	end=$((SECONDS + LV_START_TIMEOUT))
	until timeout 10 virsh -q -c "$(lv_uri "$site")" version >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $end ]; then
			echo "# lv: libvirtd of site $site did not start:" >&2
			tail -n 5 "$dir/libvirtd.out" "$dir/log/libvirtd.log" 2>/dev/null | sed 's/^/#   /' >&2
			lv_site_down "$site"
			return 1
		fi
		sleep 0.1
	done
	lv_caps_copy "$dir/cache/qemu/capabilities" "$LV_CAPS_CACHE"
}

# lv_caps_copy FROM TO: QEMU capability cache files, each replaced whole.
lv_caps_copy() {
	local f
	[ -n "$LV_CAPS_CACHE" ] || return 0
	mkdir -p "$2" || return 0
	for f in "$1"/*.xml; do
		[ -f "$f" ] || continue
		cmp -s "$f" "$2/${f##*/}" && continue
		cp "$f" "$2/.${f##*/}.$$" && mv "$2/.${f##*/}.$$" "$2/${f##*/}"
	done
}

# lv_site_down SITE: destroys the site's domains (a QEMU that survives, or
# was left by lv_site_kill, is killed by the PID in its pid file), stops
# libvirtd (SIGTERM, SIGKILL after 5 s). Its mount namespace goes with its
# last process. Nothing is undefined: the site's directory keeps it all.
lv_site_down() {
	local site=$1 pid dom i
	pid=${LV_PID[$site]:-}
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		for dom in $(timeout 10 virsh -q -c "$(lv_uri "$site")" list --name 2>/dev/null); do
			timeout 10 virsh -q -c "$(lv_uri "$site")" destroy "$dom" >/dev/null 2>&1
		done
	fi
	lv_kill_qemu "$site"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie is gone but for our wait
		[[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" =~ ^[RSDT]$ ]] || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	LV_PID[$site]=
}

# lv_kill_qemu SITE: SIGKILL to every QEMU of the site, found by the pid
# files libvirt keeps in its run directory.
lv_kill_qemu() {
	local f q
	for f in "$(lv_dir "$1")"/run/qemu/*.pid; do
		[ -f "$f" ] || continue
		q=$(cat "$f" 2>/dev/null)
		[[ "$q" =~ ^[0-9]+$ ]] && grep -q qemu "/proc/$q/cmdline" 2>/dev/null && kill -9 "$q"
	done
	return 0
}

# lv_site_kill SITE [all]: the site's libvirtd crashes (SIGKILL); its QEMU
# processes go on, as they would (lv_site_down or lv_cleanup ends them),
# unless "all": then they are killed too, as in a host crash.
lv_site_kill() {
	local pid=${LV_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	LV_PID[$1]=
	[ "${2:-}" = all ] && lv_kill_qemu "$1"
	return 0
}

# lv_cleanup: every site down, latest first.
lv_cleanup() {
	local i
	for ((i = ${#LV_SITES[@]} - 1; i >= 0; i--)); do
		lv_site_down "${LV_SITES[i]}"
	done
	LV_SITES=()
}

lv_xml_escape() { local s=${1//&/&amp;}; s=${s//</&lt;}; s=${s//>/&gt;}; s=${s//\'/&apos;}; echo "${s//\"/&quot;}"; }

# lv_domain_xml NAME MAC CMDLINE [TAP]: prints the XML of a test guest
# (scripts/mkguest.sh's kernel and initramfs, LV_MEM_MIB MiB, one vCPU,
# TCG) named NAME with one virtio NIC of MAC on a tap TAP (default
# NAMEh, lib.sh's port name; no "vnet" prefix, libvirt renames that) in
# the site's namespace; libvirt gives the tap the MAC fe:+the rest of MAC.
# CMDLINE is the guest's hs.* options (console=ttyS0 is added). The serial
# console goes to lv_serial's file. The domain is destroyed when the guest
# powers off, reboots or crashes.
lv_domain_xml() {
	local name=$1 mac=$2 cmdline=$3 tap=${4:-$1h}
	case $tap in vnet* | macvtap* | macvlan*) echo "# lv: tap name $tap is reserved by libvirt" >&2; return 1 ;; esac
	cat <<EOF
<domain type='qemu'>
  <name>$(lv_xml_escape "$name")</name>
  <memory unit='MiB'>$LV_MEM_MIB</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$(lv_xml_escape "$LV_KERNEL")</kernel>
    <initrd>$(lv_xml_escape "$LV_INITRD")</initrd>
    <cmdline>$(lv_xml_escape "console=ttyS0 panic=-1 quiet $cmdline")</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='ethernet'>
      <mac address='$mac'/>
      <target dev='$(lv_xml_escape "$tap")'/>
      <model type='virtio'/>
      <!-- no checksum or segmentation offload: the tap's XDP program sees
           only whole packets with complete checksums (GSO frames skip a
           tap's XDP, partial checksums would leave unfinished) -->
      <driver name='qemu'>
        <host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/>
        <guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/>
      </driver>
      <rom enabled='no'/>
    </interface>
    <serial type='file'>
      <source path='/var/log/libvirt/$(lv_xml_escape "$name")-serial.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# lv_define_start SITE XMLFILE: defines the domain (persistent, as
# virsh migrate --persistent --undefinesource wants) and starts it.
lv_define_start() {
	local site=$1 xml=$2 name out
	name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$xml" | head -n1)
	[ -n "$name" ] || { echo "# lv: no <name> in $xml" >&2; return 1; }
	out=$(lv_virsh "$site" define "$xml" 2>&1) || { echo "# lv: define $name at $site: $out" >&2; return 1; }
	out=$(lv_virsh "$site" start "$name" 2>&1) || { echo "# lv: start $name at $site: $out" >&2; return 1; }
}

# lv_serial SITE NAME: the host path of the domain's serial log at SITE.
# Each site's QEMU writes its own file: after a migration the console
# continues in the destination site's file.
lv_serial() { echo "$(lv_dir "$1")/log/$2-serial.log"; }

# lv_running SITE NAME: the domain runs at SITE.
lv_running() { [ "$(lv_virsh "$1" domstate "$2" 2>/dev/null | head -n1)" = running ]; }

# lv_defined SITE NAME: SITE knows the domain at all (running or not).
lv_defined() { lv_virsh "$1" dominfo "$2" >/dev/null 2>&1; }

# lv_wait_ready SITE NAME TIMEOUT: waits up to TIMEOUT seconds for the
# guest's "HS-GUEST-READY" on its serial console at SITE and prints that
# line ("HS-GUEST-READY <hostname> <boot id> uptime <s>"); on failure
# prints the end of the serial log to stderr and returns 1.
lv_wait_ready() {
	local site=$1 name=$2 end=$((SECONDS + $3)) f next=$((SECONDS + 1)) line
	f=$(lv_serial "$site" "$name")
	while :; do
		# the whole line: the console may be caught mid-write
		line=$(grep -aoE 'HS-GUEST-READY [^ ]+ [0-9a-f-]{36} uptime [0-9.]+' "$f" 2>/dev/null | head -n1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		if [ $SECONDS -ge "$next" ]; then # is it still there?
			lv_running "$site" "$name" || { echo "# lv: $name is not running at $site" >&2; break; }
			next=$((SECONDS + 1))
		fi
		[ $SECONDS -ge $end ] && { echo "# lv: no HS-GUEST-READY from $name at $site in $3 s" >&2; break; }
		sleep 0.1
	done
	tail -n 20 "$f" 2>/dev/null | tr -d '\r' | sed 's/^/#   /' >&2
	return 1
}

# lv_migrate SITE NAME DEST_ADDR [VIRSH_ARGS...]: live-migrates the domain
# from SITE to the site listening on DEST_ADDR, peer to peer (SITE's
# libvirtd talks to the destination's), its memory over
# tcp://DEST_ADDR, the definition moved along (persistent at the
# destination, undefined at SITE).
lv_migrate() {
	local site=$1 name=$2 dst=$3 mig
	shift 3
	case $dst in *:*) mig="tcp://[$dst]" ;; *) mig="tcp://$dst" ;; esac
	timeout 300 virsh -q -c "$(lv_uri "$site")" migrate --live --p2p --persistent --undefinesource \
		"$@" "$name" "$(lv_tcp_uri "$dst")" --migrateuri "$mig"
}

# lv_jobinfo SITE NAME: virsh domjobinfo --completed of the domain's last
# migration at SITE ("Time elapsed", "Total downtime", ... in ms). After
# lv_migrate the source no longer knows the domain: ask the destination,
# which gets the statistics from the source.
lv_jobinfo() { lv_virsh "$1" domjobinfo --completed "$2"; }
