#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Mounts bpffs at /sys/fs/bpf when it is not mounted (it is not at boot here).
set -eu
if ! mount | grep -q ' /sys/fs/bpf type bpf '; then
	mount -t bpf bpf /sys/fs/bpf
fi
