#!/usr/bin/env bash
# pan_scan.sh [FILE...]: kept for scripts written before build/bin/panscan;
# runs panscan (common/sr_panscan.h: card numbers in every shape, ADR 0106).
# Exit 0 when none, 1 when some.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SR_BIN:-build/bin}
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
exec "$BIN/panscan" "$@"
