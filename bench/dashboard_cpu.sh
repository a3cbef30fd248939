#!/usr/bin/env bash
# What the dashboard itself costs while it trains: the processor time of each thread of a
# dashboard run on one page, read just before training ends, and the tmux server's (the
# terminal that draws it). Unlike a throughput ratio, this does not move with the load that
# other machines put on a shared host.
#
#   bench/dashboard_cpu.sh [PAGE] [STEPS]
#
# PAGE is 1 to 4 (default 1, Training); needs tmux, a release build and MNIST in
# DIGITDASH_DATA_DIR (default ../shared/mnist). The training threads are the trainer and the
# rayon workers it starts, which Linux names after it ("trainer"); "digitdash" is the
# dashboard's frame loop.
set -euo pipefail
page="${1:-1}" steps="${2:-800}"
cd "$(dirname "$0")/.."
bin="$PWD/target/release/digitdash"
data="$(cd "${DIGITDASH_DATA_DIR:-../shared/mnist}" && pwd)"
work="$(mktemp -d)"
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

ticks() { awk '{ print $14 + $15 }' "$1"; }

tmux -S "$sock" -f /dev/null new-session -d -s m -x 120 -y 40 \
    "'$bin' --data-dir '$data' --steps $steps --eval-every 0 --run-dir '$work/run'; sleep 60"
# The dashboard is the pane's shell's child (not any other digitdash on the machine).
shell=$(tmux -S "$sock" display -p -t m '#{pane_pid}')
waited=0
until pid=$(pgrep -P "$shell" -x digitdash); do
    if [ $((waited += 1)) -gt 100 ]; then
        echo "the dashboard did not start; the pane shows:" >&2
        tmux -S "$sock" capture-pane -p -t m >&2
        exit 1
    fi
    sleep 0.1
done
server=$(tmux -S "$sock" display -p '#{pid}')
sleep 1
tmux -S "$sock" send-keys -t m "$page"
server_start=$(ticks "/proc/$server/stat")
snapshot=""
until tmux -S "$sock" capture-pane -p -t m | grep -q FINISHED; do
    snapshot=$(for task in /proc/"$pid"/task/*; do
        echo "$(tr ' ' _ <"$task/comm") $(ticks "$task/stat")"
    done)
    sleep 0.5
done
server_ticks=$(( $(ticks "/proc/$server/stat") - server_start ))
tmux -S "$sock" send-keys -t m q
echo "$snapshot" | awk -v server="$server_ticks" -v page="$page" '
    { cpu[$1] += $2; total += $2 }
    END {
        for (name in cpu) if (cpu[name] > 0)
            printf "%-16s %7.2f s  %5.2f%%\n", name, cpu[name] / 100, 100 * cpu[name] / total
        printf "%-16s %7.2f s  %5.2f%%\n", "tmux server", server / 100, 100 * server / total
        others = total - cpu["trainer"] + server
        printf "page %s: everything but training took %.2f%% of the processor time training took\n",
            page, 100 * others / cpu["trainer"]
    }'
