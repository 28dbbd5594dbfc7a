#!/usr/bin/env bash
# Builds every fuzz target with `cargo +nightly fuzz` and runs each for
# SECONDS seconds, one after the other (one job each: the machine is shared),
# seeding from ../tests/data. Prints executions and corpus size per target.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Corpora grow in fuzz/corpus/TARGET, crashes land in fuzz/artifacts/TARGET,
# libFuzzer's output in fuzz/logs/TARGET.log (all git-ignored). Exit status
# 1 if any target found a crash, timeout or out-of-memory input.
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
data=$here/../tests/data

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(parse_validate differential geoip_bytes viewer_lines token_key decompress)
fi

# Seed directories per target (read-only; new inputs go to corpus/TARGET).
seeds() {
    case $1 in
        parse_validate | differential) echo "$data/rules" ;;
        geoip_bytes) echo "$data/geoip" ;;
        viewer_lines) echo "$data/viewers" ;;
        token_key) echo "$data/keys" ;;
        decompress) echo "$data/logs" ;;
    esac
}

# A dictionary of tokens per target (if any).
dict() {
    case $1 in
        parse_validate) echo "-dict=$here/dict/rules.dict" ;;
        viewer_lines) echo "-dict=$here/dict/viewers.dict" ;;
    esac
}

# Longest input libFuzzer may generate, per target.
max_len() {
    case $1 in
        geoip_bytes | viewer_lines | decompress) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

cargo +nightly fuzz build >&2

mkdir -p logs
status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=logs/$t.log
    echo "== $t: ${seconds}s" >&2
    start=$(date +%s)
    set +e
    cargo +nightly fuzz run "$t" "corpus/$t" "$(seeds "$t")" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 $(dict "$t") >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(($(date +%s) - start))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    files=$(find "corpus/$t" -type f | wc -l)
    bytes=$(du -sb "corpus/$t" | cut -f1)
    result=clean
    if [[ $rc -ne 0 ]]; then
        result="FAILED (exit $rc; see fuzz/$log and fuzz/artifacts/$t)"
        status=1
    fi
    line="$t: ${execs:-?} executions in ${elapsed}s, corpus ${files} inputs (${bytes} bytes): $result"
    echo "$line" >&2
    summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
exit $status
