#!/usr/bin/env bash
# How long the training threads wait on the CPU for other threads while the dashboard shows a
# run, from the scheduler's own record: `perf sched record` for a few seconds in the middle of
# a run, then, for every switch away from a runnable training thread (preempted or yielding),
# the time until that CPU switched away from the thread that took it. Prints milliseconds per
# second by thread name, largest first: the dashboard's frame loop is "digitdash", its
# inspector "inspector-pool", the terminal's server "tmux:"; the rest is the host's own.
#
#   bench/dashboard_preemption.sh [PAGE] [SECONDS] [headless]
#
# PAGE is 1 to 4 (default 1, Training); SECONDS (default 4) are recorded after 3 s of training.
# With "headless" as the third argument, the same for a headless run, for reference. Needs
# tmux, perf with the sched tracepoints (Debian's linux-perf, as root), a release build and
# MNIST in DIGITDASH_DATA_DIR (default ../shared/mnist).
set -euo pipefail
page="${1:-1}" seconds="${2:-4}" mode="${3:-dashboard}"
cd "$(dirname "$0")/.."
bin="$PWD/target/release/digitdash"
data="$(cd "${DIGITDASH_DATA_DIR:-../shared/mnist}" && pwd)"
work="$(mktemp -d)"
sock="$work/tmux.sock"
pid=""
# Stops the run (after its current step) and waits for it to write its records.
stop_run() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
}
trap 'stop_run; tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
# Long enough to outlast the recording on a slow machine; stopped once it is taken.
args=(--data-dir "$data" --steps 100000 --eval-every 0 --run-dir "$work/run")

if [ "$mode" = headless ]; then
    "$bin" --headless "${args[@]}" >/dev/null 2>"$work/err" &
    pid=$!
else
    # `exec`: the pane's process is the dashboard itself.
    tmux -S "$sock" -f /dev/null new-session -d -s m -x 120 -y 40 \
        "exec $(printf '%q ' "$bin" "${args[@]}") 2>$(printf '%q' "$work/err")"
    pid=$(tmux -S "$sock" display -p -t m '#{pane_pid}')
    sleep 0.5
    tmux -S "$sock" send-keys -t m "$page"
fi
# Training has started once the metrics have a row under their header.
metrics="$work/run/metrics.csv"
waited=0
until [ -f "$metrics" ] && [ "$(wc -l <"$metrics")" -ge 2 ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    if [ $((waited += 1)) -gt 1500 ]; then
        echo "training did not start within 5 minutes; the run said:" >&2
        cat "$work/err" >&2
        [ "$mode" = headless ] || tmux -S "$sock" capture-pane -p -t m >&2
        exit 1
    fi
    sleep 0.2
done
sleep 3
perf sched record -o "$work/sched.data" -- sleep "$seconds" >/dev/null 2>"$work/perf.err" \
    || { cat "$work/perf.err" >&2; exit 1; }
stop_run

perf script -i "$work/sched.data" -F cpu,time,event,trace 2>/dev/null | awk -v mode="$mode" '
/sched_switch/ {
    cpu = $1; t = $2; sub(":", "", t)
    prev = ""; state = ""; next_comm = ""
    for (i = 4; i <= NF; i++) {
        if ($i ~ /^prev_comm=/) prev = substr($i, 11)
        if ($i ~ /^prev_state=/) state = substr($i, 12)
        if ($i ~ /^next_comm=/) next_comm = substr($i, 11)
    }
    if (first == "") first = t
    last = t
    if (taker[cpu] != "" && prev == taker[cpu]) {
        held[prev] += t - since[cpu]; times[prev]++; taker[cpu] = ""
    }
    # R+: preempted; R: still runnable but gave the CPU up (sched_yield).
    if (prev == "trainer" && state ~ /^R/ && next_comm != "trainer") {
        taker[cpu] = next_comm; since[cpu] = t
    }
}
END {
    span = last - first
    if (span <= 0) { print "no scheduler events recorded" > "/dev/stderr"; exit 1 }
    printf "%s: training threads waiting on other threads, %.1f s recorded\n", mode, span
    for (name in held)
        printf "%-20s %6.2f ms/s  %5.1f times/s\n", name, held[name] * 1000 / span, times[name] / span | "sort -k2 -rn"
}'
