#!/usr/bin/env bash
# Training throughput with the dashboard open on a page, against headless, measured
# alternately so both see the same machine: headless, dashboard, headless, dashboard, ...,
# headless. Each dashboard run is compared with the mean of the headless runs on either side
# of it, which cancels a host that speeds up or slows down steadily over the pairs (neighbouring
# ratios share a headless run, so they are not independent). Prints each pair, then the mean
# and median ratio.
#
#   bench/dashboard_throughput.sh [PAGE] [PAIRS] [STEPS]
#
# PAGE is 1 to 4 (default 2, Inspect); needs tmux, a release build and MNIST in
# DIGITDASH_DATA_DIR (default ../shared/mnist). The rate each run prints counts the steps' own
# time, not the trainer's work between steps (such as copying its weights for the dashboard);
# bench/dashboard_timeslice.sh counts both.
set -euo pipefail
page="${1:-2}" pairs="${2:-3}" steps="${3:-400}"
cd "$(dirname "$0")/.."
source bench/pairs.sh
require_page "$page"
require_count PAIRS "$pairs"
bin="$PWD/target/release/digitdash"
data="$(cd "${DIGITDASH_DATA_DIR:-../shared/mnist}" && pwd)"
work="$(mktemp -d)"
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
args=(--data-dir "$data" --steps "$steps" --eval-every 0)

# The images per second a run printed; stops the script, naming the log, when there are none.
rate() {
    local r
    r=$(sed -n 's/.*(\([0-9.]*\) images\/s).*/\1/p' "$1" | tail -1)
    if [ -z "$r" ]; then
        echo "no throughput in $1:" >&2
        cat "$1" >&2
        return 1
    fi
    echo "$r"
}

headless() {
    "$bin" --headless "${args[@]}" --run-dir "$work/h$1" >/dev/null 2>"$work/h$1.err"
    rate "$work/h$1.err"
}

dashboard() {
    local log="$work/d$1.err"
    tmux -S "$sock" -f /dev/null new-session -d -s m -x 120 -y 40 \
        "'$bin' ${args[*]} --run-dir '$work/d$1' 2>'$log'; tmux -S '$sock' wait-for -S done"
    sleep 1
    tmux -S "$sock" send-keys -t m "$page"
    until tmux -S "$sock" capture-pane -p -t m | grep -q FINISHED; do sleep 0.5; done
    tmux -S "$sock" send-keys -t m q
    tmux -S "$sock" wait-for done
    tmux -S "$sock" kill-server 2>/dev/null || true
    rate "$log"
}

ratios=()
before=$(headless 0)
for i in $(seq "$pairs"); do
    d=$(dashboard "$i")
    after=$(headless "$i")
    r=$(awk -v d="$d" -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", 2 * d / (a + b) }')
    echo "pair $i: headless $before and $after images/s, dashboard page $page $d images/s, ratio $r"
    ratios+=("$r")
    before=$after
done
printf '%s\n' "${ratios[@]}" | summarize_ratios
