#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job. Until the network-namespace demo lands, this runs the data
# plane's unit tests so a newcomer sees the programs at work.
set -eu
cd "$(dirname "$0")/.."
exec selftests/run bpf
