#!/usr/bin/env bash
# How long `digitdash watch` takes to open a long run: seconds from launch until the status
# line shows the run's last step, and the process's peak memory, a few times over.
#
#   bench/watch_open.sh [ROWS] [TIMES]     (DIGITDASH_BIN: another build to time)
#
# Writes a synthetic finished run of ROWS steps (default 1000000) with the run_fixture
# example; needs tmux, /usr/bin/time (Debian package `time`) and a release build.
set -euo pipefail
rows="${1:-1000000}" times="${2:-3}"
cd "$(dirname "$0")/.."
bin="${DIGITDASH_BIN:-$PWD/target/release/digitdash}"
work="$(mktemp -d)"
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
run="$work/runs/20260101-000000"
cargo run --quiet --release --example run_fixture -- "$run" "$rows"

for i in $(seq "$times"); do
    tmux -S "$sock" -f /dev/null new-session -d -s m -x 120 -y 40 \
        "/usr/bin/time -v -o '$work/time.txt' '$bin' watch '$run' --data-dir '$work/no-data'; sleep 60"
    start=$(date +%s.%N)
    until tmux -S "$sock" capture-pane -p -t m | sed -n 2p | grep -q "step $rows "; do
        sleep 0.02
    done
    end=$(date +%s.%N)
    tmux -S "$sock" send-keys -t m q
    until grep -q "Maximum resident" "$work/time.txt" 2>/dev/null; do sleep 0.1; done
    peak=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
    awk -v s="$start" -v e="$end" -v p="$peak" -v i="$i" -v r="$rows" \
        'BEGIN { printf "open %d: step %d shown after %.2f s, peak memory %.0f MB\n", i, r, e - s, p / 1024 }'
    tmux -S "$sock" kill-server 2>/dev/null || true
    rm -f "$work/time.txt"
done
