#!/usr/bin/env bash
# End-to-end `simulate --input` benchmark (README, Performance). Runs, on the
# same viewer log:
#   compiled  accessrules simulate (compiled matcher, GeoIP range table,
#             streaming on every core given);
#   plain     the plain evaluator end to end (examples/plain_replay.rs:
#             BufRead::lines, reference::evaluate, a maxminddb lookup per
#             viewer, writeln!, one thread);
#   in-pipe   the plain evaluator inside simulate's own reading, parsing and
#             writing (hidden `--engine reference`): isolates the evaluation.
# Checks that all three write identical output, and reports for each the
# wall-clock rate (viewers/s), the rate per CPU-second (viewers / (user +
# system time): the per-core figure, the one that holds when other
# processes share the machine), the ratios, and the peak memory (maximum
# resident set size).
#
#   bash benches/e2e.sh [RULES...]
#
# Default RULES: examples/docs-example.json and the generated 10 000-network
# document. Environment: VIEWERS (default 2000000), FORMAT (default tsv; the
# plain program writes tsv only and is skipped for other formats), CPUS
# (e.g. CPUS=0 runs pinned to one core with taskset; default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

viewers=${VIEWERS:-2000000}
format=${FORMAT:-tsv}
dir=target/bench-inputs
cargo build --release --quiet --features cli,internals --bin accessrules --example gen_bench_inputs --example plain_replay
if [ ! -f "$dir/viewers-$viewers.txt" ] || [ ! -f "$dir/large-rules.json" ]; then
    target/release/examples/gen_bench_inputs --out "$dir" --viewers "$viewers"
    mv "$dir/viewers.txt" "$dir/viewers-$viewers.txt"
fi
log="$dir/viewers-$viewers.txt"
pin=()
if [ -n "${CPUS:-}" ]; then pin=(taskset -c "$CPUS"); fi
if [ $# -eq 0 ]; then set -- examples/docs-example.json "$dir/large-rules.json"; fi

# run ENGINE RULES OUT: prints "elapsed_s cpu_s max_rss_kb"
run() {
    local cmd
    case $1 in
        plain) cmd=(target/release/examples/plain_replay "$2" "$log") ;;
        *) cmd=(target/release/accessrules simulate "$2" --input "$log" --format "$format" --engine "$1") ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" "${pin[@]}" "${cmd[@]}" >"$3" 2>"$3.err"
    awk '{ print $1, $2 + $3, $4 }' "$dir/time.txt"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $log ($viewers viewers), format $format${CPUS:+, pinned to CPU(s) $CPUS}"
f="  %-9s %7.2f s wall %6.2f M viewers/s | %7.2f CPU-s %6.2f M viewers/CPU-s | max RSS %d MiB\n"
# measure ENGINE RULES: runs it, prints its line and, after the compiled
# run, its ratio to the compiled one and whether their outputs are the same.
measure() {
    local t c m same=""
    read -r t c m < <(run "$1" "$2" "$dir/out-$1.txt")
    if [ "$1" = compiled ]; then
        t_c=$t
        cpu_c=$c
    elif cmp -s "$dir/out-compiled.txt" "$dir/out-$1.txt"; then
        same=identical
    else
        same=DIFFERENT
    fi
    awk -v name="$1" -v n="$viewers" -v t="$t" -v c="$c" -v m="$m" -v f="$f" \
        -v tc="$t_c" -v cc="$cpu_c" -v s="$same" 'BEGIN {
        label = (name == "reference") ? "in-pipe" : name
        printf f, label ":", t, n / t / 1e6, c, n / c / 1e6, m / 1024
        if (s != "") printf "  compiled / %s: %.1fx wall, %.1fx CPU; outputs %s\n", label, t / tc, c / cc, s
    }'
}
for rules in "$@"; do
    echo "$rules"
    measure compiled "$rules"
    if [ "$format" = tsv ]; then measure plain "$rules"; fi
    measure reference "$rules"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
