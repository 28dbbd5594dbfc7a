#!/usr/bin/env bash
# End-to-end `simulate --input` benchmark (README, Performance): the compiled
# engine against the plain evaluator (hidden `--engine reference`:
# reference::evaluate and a maxminddb lookup per viewer) on the same viewer
# log, through the same reading, parsing and writing code. Checks that both
# write identical output, and reports for each run the wall-clock rate
# (viewers/s), the rate per CPU-second (viewers / (user + system time):
# the per-core figure, and the one that holds when other processes share
# the machine), the ratios, and the peak memory (maximum resident set size).
#
#   bash benches/e2e.sh [RULES...]
#
# Default RULES: examples/docs-example.json and the generated 10 000-network
# document. Environment: VIEWERS (default 2000000), FORMAT (default tsv),
# CPUS (e.g. CPUS=0 runs pinned to one core with taskset; default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

viewers=${VIEWERS:-2000000}
format=${FORMAT:-tsv}
dir=target/bench-inputs
cargo build --release --quiet --bin accessrules --example gen_bench_inputs
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
    /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" "${pin[@]}" target/release/accessrules \
        simulate "$2" --input "$log" --format "$format" --engine "$1" >"$3" 2>"$3.err"
    awk '{ print $1, $2 + $3, $4 }' "$dir/time.txt"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $log ($viewers viewers), format $format${CPUS:+, pinned to CPU(s) $CPUS}"
for rules in "$@"; do
    read -r t_c cpu_c rss_c < <(run compiled "$rules" "$dir/out-compiled.txt")
    read -r t_r cpu_r rss_r < <(run reference "$rules" "$dir/out-reference.txt")
    if cmp -s "$dir/out-compiled.txt" "$dir/out-reference.txt"; then same=identical; else same=DIFFERENT; fi
    awk -v r="$rules" -v n="$viewers" -v tc="$t_c" -v tr="$t_r" -v cc="$cpu_c" -v cr="$cpu_r" \
        -v mc="$rss_c" -v mr="$rss_r" -v s="$same" 'BEGIN {
        f = "  %-9s %7.2f s wall %6.2f M viewers/s | %7.2f CPU-s %6.2f M viewers/CPU-s | max RSS %d MiB\n"
        printf "%s\n", r
        printf f, "compiled:", tc, n / tc / 1e6, cc, n / cc / 1e6, mc / 1024
        printf f, "reference:", tr, n / tr / 1e6, cr, n / cr / 1e6, mr / 1024
        printf "  compiled / reference: %.1fx wall, %.1fx CPU; outputs %s\n", tr / tc, cr / cc, s
    }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
