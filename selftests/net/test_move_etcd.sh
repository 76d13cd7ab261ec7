#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_move.sh with the cluster state in etcd: written with hsctl (VM moves
# are `hsctl vm move`), applied by every node's agent in etcd mode.
command -v etcd >/dev/null || { echo "SKIP move_etcd: etcd is not installed (etcd-server)"; exit 77; }
HS_STATE=etcd exec bash "$(dirname "$0")/test_move.sh"
