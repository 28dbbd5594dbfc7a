#!/usr/bin/env bash
# Before/after of the plain `simulate --input` path: two binaries, the same
# command, alternating five times; CPU seconds are user + system.
#
#   bash benches/ab_plain.sh BEFORE_BINARY [AFTER_BINARY]
#
# BEFORE_BINARY: a release build of the earlier commit (e.g. built from
# `git worktree`); AFTER_BINARY defaults to target/release/accessrules.
# Needs the log of benches/e2e.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: ab_plain.sh BEFORE_BINARY [AFTER_BINARY]}
after=${2:-target/release/accessrules}
log=target/bench-inputs/viewers-2000000.txt
for i in 1 2 3 4 5; do
  for which in before after; do
    bin=$before
    if [ "$which" = after ]; then bin=$after; fi
    /usr/bin/time -f '%e %U %S' -o target/ab-time.txt "$bin" simulate examples/docs-example.json \
        --input "$log" --format tsv >"target/ab-out-$which.tsv" 2>/dev/null
    read -r e u s <target/ab-time.txt
    awk -v w="$which" -v e="$e" -v u="$u" -v s="$s" 'BEGIN { printf "%-6s %.2f s wall %.2f CPU-s\n", w, e, u + s }'
  done
done
cmp target/ab-out-before.tsv target/ab-out-after.tsv && echo "outputs identical"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
