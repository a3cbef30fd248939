#!/usr/bin/env bash
# Training throughput with the dashboard open on a page, against headless, with the host's
# drift taken out. A headless run and a dashboard run start together; once both train, only
# one of them runs at a time, in turns of SLICE seconds (the other is stopped with SIGSTOP).
# Both see the same minutes of the same machine a turn at a time: a host that slows down for
# longer than a turn slows both alike, and shorter spells add noise to a pair, not a lean.
# For each run it takes the time between consecutive steps (`wall_seconds` in its
# metrics.csv, so the trainer's work between steps counts, such as copying its weights for the
# dashboard) from its first stop to its last, leaves out the gaps a stop fell in (longer than
# half a turn), and compares the two runs' mean. Prints each pair's ratio (the dashboard's
# steps per second as a share of headless's), then their mean and median.
#
# It errs against the dashboard, the more the shorter the turns: its clock runs on while it
# is stopped, so on each turn it catches up at once (a frame, fresh weights for its viewer,
# tmux's redraw) while training starts again, and it asks for weights up to twice as often per
# second of training as it would. On a 2-vCPU AMD EPYC that came to about 10 ms a turn (the
# ratio over five pairs was 0.973 with turns of 0.5 s, 0.983 with 1 s, 0.988 with 2 s). Each
# stop leaves out the step it fell in, and a longer step is likelier to be hit; that leans the
# other way, by about a tenth of a percent. It does not see the first seconds of a run, while
# both start together; bench/dashboard_throughput.sh times whole runs, one after another.
#
#   bench/dashboard_timeslice.sh [PAGE] [PAIRS] [TURNS] [SLICE]
#
# PAGE is 1 to 4 (default 1, Training); PAIRS (default 5) pairs of runs, each run given TURNS
# turns (default 10) of SLICE seconds (default 2). Needs tmux, a release build and MNIST in
# DIGITDASH_DATA_DIR (default ../shared/mnist).
set -euo pipefail
page="${1:-1}" pairs="${2:-5}" turns="${3:-10}" slice="${4:-2}"
cd "$(dirname "$0")/.."
source bench/pairs.sh
require_page "$page"
require_count PAIRS "$pairs"
require_count TURNS "$turns"
if ! awk -v s="$slice" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s + 0 >= 0.2) }'; then
    echo "SLICE must be a number of seconds of at least 0.2, not '$slice'" >&2
    exit 2
fi
bin="$PWD/target/release/digitdash"
data="$(cd "${DIGITDASH_DATA_DIR:-../shared/mnist}" && pwd)"
work="$(mktemp -d)"
sock="$work/tmux.sock"
headless_pid="" dashboard_pid=""

# Lets both runs go on, asks them to stop (after the current step, with their records written)
# and waits for them; kills a run that has not ended a minute later, and says so.
stop_runs() {
    local pid
    for pid in $headless_pid $dashboard_pid; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $headless_pid $dashboard_pid; do
        for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "process $pid did not end within a minute of SIGTERM; killed" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    headless_pid="" dashboard_pid=""
}
trap 'stop_runs; tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

# Stops the script with what a run said.
run_failed() {
    echo "$1; the run in $2 said:" >&2
    cat "$2.err" >&2
    exit 1
}

# Waits until a run has written its first step; stops the script if it ended first or took
# more than 5 minutes.
wait_for_training() {
    local run="$1" pid="$2" waited=0
    until [ -f "$run/metrics.csv" ] && [ "$(wc -l <"$run/metrics.csv")" -ge 2 ]; do
        if ! kill -0 "$pid" 2>/dev/null || [ $((waited += 1)) -gt 1500 ]; then
            run_failed "training did not start" "$run"
        fi
        sleep 0.2
    done
}

# Stops a run's process and checks that it stopped. (tmux continues a pane's own process
# when it stops, which is why the dashboard runs as a child of the pane's shell.)
pause() {
    kill -STOP "$1" 2>/dev/null || run_failed "process $1 has ended" "$2"
    for _ in $(seq 200); do
        [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
        sleep 0.01
    done
    echo "process $1 did not stop on SIGSTOP" >&2
    exit 1
}

# Lets a stopped run's process go on.
resume() {
    kill -CONT "$1" 2>/dev/null || run_failed "process $1 has ended" "$2"
}

# "MEAN_MS STEPS": the mean time between consecutive steps of a run, from its first stop to
# its last, leaving out the gaps the stops fell in. Stops the script unless it finds as many
# such gaps as the run had stops (TURNS + 1), or when the steps are too long for the turns.
mean_step() {
    awk -F, -v slice="$slice" -v stops="$((turns + 1))" -v run="$1" '
        NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i; next }
        { wall[++n] = $(column["wall_seconds"]) }
        END {
            long = 0
            for (i = 2; i <= n; i++) {
                gap[i] = wall[i] - wall[i - 1]
                if (gap[i] > slice / 2) { long++; if (!first) first = i; last = i }
            }
            if (long != stops) {
                printf "%s: %d steps took over half a turn where %d stops were made; the host stalled, or the turns are too short\n", run, long, stops > "/dev/stderr"
                exit 1
            }
            for (i = first + 1; i < last; i++) if (gap[i] <= slice / 2) { total += gap[i]; kept++ }
            if (kept < 20) {
                printf "%s: %d steps between its first and last stop; give more turns\n", run, kept > "/dev/stderr"
                exit 1
            }
            if (total / kept > slice / 10) {
                printf "%s: steps of %.0f ms are too long for turns of %s s\n", run, 1000 * total / kept, slice > "/dev/stderr"
                exit 1
            }
            printf "%.4f %d\n", 1000 * total / kept, kept
        }' "$1/metrics.csv"
}

args=(--data-dir "$data" --steps 1000000 --eval-every 0)
ratios=()
for i in $(seq "$pairs"); do
    headless="$work/h$i" dashboard="$work/d$i"
    "$bin" --headless "${args[@]}" --run-dir "$headless" >/dev/null 2>"$headless.err" &
    headless_pid=$!
    # /bin/sh runs the pane (not the user's shell), and the dashboard is its child.
    tmux -S "$sock" -f /dev/null new-session -d -s "p$i" -x 120 -y 40 /bin/sh -c \
        "$(printf '%q ' "$bin" "${args[@]}" --run-dir "$dashboard") 2>$(printf '%q' "$dashboard.err"); sleep 600"
    shell=$(tmux -S "$sock" display -p -t "p$i" '#{pane_pid}')
    for _ in $(seq 100); do
        dashboard_pid=$(pgrep -P "$shell" -x digitdash || true)
        [ -n "$dashboard_pid" ] && break
        sleep 0.05
    done
    [ -n "$dashboard_pid" ] || run_failed "the dashboard did not start" "$dashboard"
    wait_for_training "$headless" "$headless_pid"
    wait_for_training "$dashboard" "$dashboard_pid"
    tmux -S "$sock" send-keys -t "p$i" "$page"
    sleep 0.5
    pause "$dashboard_pid" "$dashboard"
    sleep "$slice"
    for _ in $(seq "$turns"); do
        pause "$headless_pid" "$headless"
        resume "$dashboard_pid" "$dashboard"
        sleep "$slice"
        pause "$dashboard_pid" "$dashboard"
        resume "$headless_pid" "$headless"
        sleep "$slice"
    done
    pause "$headless_pid" "$headless"
    # So that each run's last stop, as its first, outlasts half a turn.
    sleep "$slice"
    stop_runs
    tmux -S "$sock" kill-session -t "p$i" 2>/dev/null || true
    measured=$(mean_step "$headless")
    read -r h_ms h_steps <<<"$measured"
    measured=$(mean_step "$dashboard")
    read -r d_ms d_steps <<<"$measured"
    r=$(awk -v h="$h_ms" -v d="$d_ms" 'BEGIN { printf "%.3f", h / d }')
    echo "pair $i: headless $h_ms ms a step over $h_steps steps, dashboard page $page $d_ms ms over $d_steps, ratio $r"
    ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | summarize_ratios
