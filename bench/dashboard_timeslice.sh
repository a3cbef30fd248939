#!/usr/bin/env bash
# Training throughput with the dashboard open on a page, against headless, with the host's
# drift taken out. A headless run and a dashboard run start together; once both train, only
# one of them runs at a time, in turns of SLICE seconds (the other is stopped with SIGSTOP).
# Both see the same minutes of the same machine a slice at a time, so a host that slows down
# for a while slows both alike. For each run it takes the steps after its first stop, leaves
# out those a stop fell in (longer than half a slice), and compares the two runs' mean step.
# Prints each pair's ratio (the dashboard's images per second as a share of headless's), then
# their mean and median.
#
# It errs against the dashboard: its clock runs on while it is stopped, so it asks for fresh
# weights up to twice as often per second of training as it would. It does not see the first
# seconds of a run, while both start together; bench/dashboard_throughput.sh times whole runs,
# one after another.
#
#   bench/dashboard_timeslice.sh [PAGE] [PAIRS] [TURNS] [SLICE]
#
# PAGE is 1 to 6 (default 1, Training); PAIRS (default 5) pairs of runs, each run given TURNS
# turns (default 20) of SLICE seconds (default 1). Needs tmux, a release build and MNIST in
# DIGITDASH_DATA_DIR (default ../shared/mnist).
set -euo pipefail
page="${1:-1}" pairs="${2:-5}" turns="${3:-20}" slice="${4:-1}"
cd "$(dirname "$0")/.."
source bench/pairs.sh
require_count PAIRS "$pairs"
require_count TURNS "$turns"
if ! awk -v s="$slice" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s + 0 >= 0.2) }'; then
    echo "SLICE must be a number of seconds of at least 0.2, not '$slice'" >&2
    exit 2
fi
bin="$PWD/target/release/digitdash"
data="$(cd "${DIGITDASH_DATA_DIR:-../shared/mnist}" && pwd)"
work="$(mktemp -d)"
sock="dd-slice-$$"
headless_pid="" dashboard_pid=""

# Lets both runs go on, asks them to stop (after the current step, with their records written)
# and waits for them.
stop_runs() {
    local pid
    for pid in $headless_pid $dashboard_pid; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $headless_pid $dashboard_pid; do
        for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    headless_pid="" dashboard_pid=""
}
trap 'stop_runs; tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

# Waits until a run has written its first step; stops the script, with what the run said, if
# it ended first or took more than 5 minutes.
wait_for_training() {
    local run="$1" pid="$2" waited=0
    until [ -f "$run/metrics.csv" ] && [ "$(wc -l <"$run/metrics.csv")" -ge 2 ]; do
        if ! kill -0 "$pid" 2>/dev/null || [ $((waited += 1)) -gt 1500 ]; then
            echo "the run in $run did not start training; it said:" >&2
            cat "$run.err" >&2
            exit 1
        fi
        sleep 0.2
    done
}

# Stops a process and checks that it stopped. (tmux continues a pane's own process when it
# stops, which is why the dashboard runs as a child of the pane's shell.)
pause() {
    kill -STOP "$1"
    for _ in $(seq 200); do
        [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
        sleep 0.01
    done
    echo "process $1 did not stop on SIGSTOP" >&2
    exit 1
}

# "MEAN_MS STEPS": the mean step of a run's steps after its first stop, leaving out those a
# stop fell in. Stops the script when the steps are too long for the slices or too few remain.
mean_step() {
    local run="$1" batch
    batch=$(sed -n 's/^batch_size = \([0-9]*\)$/\1/p' "$run/config.toml" | head -1)
    awk -F, -v batch="$batch" -v slice="$slice" -v run="$run" '
        NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i; next }
        { step[++n] = batch / $(column["samples_per_sec"]) }
        END {
            first = 0
            for (i = 1; i <= n; i++) if (step[i] > slice / 2) { first = i; break }
            for (i = first + 1; i <= n; i++) {
                if (step[i] > slice / 2) continue
                total += step[i]; kept++; sorted[kept] = step[i]
            }
            if (first == 0 || kept < 20) {
                printf "%s: %d steps to measure after its first stop; give more turns\n", run, kept > "/dev/stderr"
                exit 1
            }
            if (total / kept > slice / 10) {
                printf "%s: steps of %.0f ms are too long for slices of %s s\n", run, 1000 * total / kept, slice > "/dev/stderr"
                exit 1
            }
            printf "%.4f %d\n", 1000 * total / kept, kept
        }' "$run/metrics.csv"
}

args=(--data-dir "$data" --steps 1000000 --eval-every 0)
ratios=()
for i in $(seq "$pairs"); do
    headless="$work/h$i" dashboard="$work/d$i"
    "$bin" --headless "${args[@]}" --run-dir "$headless" >/dev/null 2>"$headless.err" &
    headless_pid=$!
    tmux -L "$sock" -f /dev/null new-session -d -s "p$i" -x 120 -y 40 \
        "$(printf '%q ' "$bin" "${args[@]}" --run-dir "$dashboard") 2>$(printf '%q' "$dashboard.err"); sleep 600"
    shell=$(tmux -L "$sock" display -p -t "p$i" '#{pane_pid}')
    for _ in $(seq 100); do
        dashboard_pid=$(pgrep -P "$shell" -x digitdash || true)
        [ -n "$dashboard_pid" ] && break
        sleep 0.05
    done
    [ -n "$dashboard_pid" ] || { echo "the dashboard did not start" >&2; exit 1; }
    sleep 0.5
    tmux -L "$sock" send-keys -t "p$i" "$page"
    wait_for_training "$headless" "$headless_pid"
    wait_for_training "$dashboard" "$dashboard_pid"
    pause "$dashboard_pid"
    sleep "$slice"
    for _ in $(seq "$turns"); do
        pause "$headless_pid"
        kill -CONT "$dashboard_pid"
        sleep "$slice"
        pause "$dashboard_pid"
        kill -CONT "$headless_pid"
        sleep "$slice"
    done
    pause "$headless_pid"
    stop_runs
    tmux -L "$sock" kill-session -t "p$i" 2>/dev/null || true
    measured=$(mean_step "$headless")
    read -r h_ms h_steps <<<"$measured"
    measured=$(mean_step "$dashboard")
    read -r d_ms d_steps <<<"$measured"
    r=$(awk -v h="$h_ms" -v d="$d_ms" 'BEGIN { printf "%.3f", h / d }')
    echo "pair $i: headless $h_ms ms a step over $h_steps steps, dashboard page $page $d_ms ms over $d_steps, ratio $r"
    ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | summarize_ratios
