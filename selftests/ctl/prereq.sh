# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# What the hsctl tests need, checked the same way by each: source it after
# setting B (the hsctl binary), then hsctl_prereq NAME.

# hsctl_prereq NAME: SKIP (exit 77) without etcd, etcdctl or python3; FAIL
# (exit 1) when $B is not built.
hsctl_prereq() {
	local t
	for t in etcd etcdctl; do
		if ! command -v $t >/dev/null; then
			echo "SKIP $1: $t not found (Debian: apt-get install etcd-server etcd-client)"
			exit 77
		fi
	done
	if ! command -v python3 >/dev/null; then
		echo "SKIP $1: python3 is needed to read the JSON output"
		exit 77
	fi
	if [ ! -x "$B" ]; then
		echo "FAIL $1_build: $B is missing (run make)"
		exit 1
	fi
}
