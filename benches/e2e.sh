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
cargo build --release --quiet --bin accessrules --example gen_bench_inputs --example plain_replay
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
for rules in "$@"; do
    echo "$rules"
    read -r t_c cpu_c rss_c < <(run compiled "$rules" "$dir/out-compiled.txt")
    awk -v n="$viewers" -v t="$t_c" -v c="$cpu_c" -v m="$rss_c" -v f="$f" \
        'BEGIN { printf f, "compiled:", t, n / t / 1e6, c, n / c / 1e6, m / 1024 }'
    if [ "$format" = tsv ]; then
        read -r t_p cpu_p rss_p < <(run plain "$rules" "$dir/out-plain.txt")
        if cmp -s "$dir/out-compiled.txt" "$dir/out-plain.txt"; then same=identical; else same=DIFFERENT; fi
        awk -v n="$viewers" -v t="$t_p" -v c="$cpu_p" -v m="$rss_p" -v f="$f" \
            -v tc="$t_c" -v cc="$cpu_c" -v s="$same" 'BEGIN {
            printf f, "plain:", t, n / t / 1e6, c, n / c / 1e6, m / 1024
            printf "  compiled / plain: %.1fx wall, %.1fx CPU; outputs %s\n", t / tc, c / cc, s
        }'
    fi
    read -r t_r cpu_r rss_r < <(run reference "$rules" "$dir/out-reference.txt")
    if cmp -s "$dir/out-compiled.txt" "$dir/out-reference.txt"; then same=identical; else same=DIFFERENT; fi
    awk -v n="$viewers" -v t="$t_r" -v c="$cpu_r" -v m="$rss_r" -v f="$f" \
        -v tc="$t_c" -v cc="$cpu_c" -v s="$same" 'BEGIN {
        printf f, "in-pipe:", t, n / t / 1e6, c, n / c / 1e6, m / 1024
        printf "  compiled / in-pipe: %.1fx wall, %.1fx CPU; outputs %s\n", t / tc, c / cc, s
    }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
