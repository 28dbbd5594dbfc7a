#!/usr/bin/env bash
# `simulate --input` on a gzip Cloudflare Logpush log (docs/performance.md,
# target: at most 1.5x what `gzip -dc LOG > /dev/null` costs on the same
# file). Builds, from the plain benchmark log of benches/e2e.sh, a Logpush
# `http_requests` NDJSON log (the default field set, about 1.3 KB a
# record, keys in Logpush's order, one record in 50 a Worker subrequest),
# gzip-compressed in members of 10 000 records as Logpush writes its
# batches; then times, three times each and alternating:
#   gzip      gzip -dc LOG > /dev/null
#   simulate  accessrules simulate RULES --input LOG --format tsv > /dev/null
# and reports wall-clock and CPU seconds (user + system) and their ratios.
#
#   bash benches/logpush.sh [RULES]
#
# Default RULES: examples/docs-example.json. Environment: RECORDS (default
# 500000), RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

records=${RECORDS:-500000}
runs=${RUNS:-3}
rules=${1:-examples/docs-example.json}
dir=target/bench-inputs
cargo build --release --quiet --features cli,internals --bin accessrules --example gen_bench_inputs
if [ ! -f "$dir/viewers-2000000.txt" ]; then
    target/release/examples/gen_bench_inputs --out "$dir" --viewers 2000000
    mv "$dir/viewers.txt" "$dir/viewers-2000000.txt"
fi
log="$dir/logpush-$records.ndjson.gz"
if [ ! -f "$log" ]; then
    rm -f "$log.tmp"
    head -n "$records" "$dir/viewers-2000000.txt" | awk -v OFS='' '
    BEGIN { srand(1); split("US GB DE FR JP BR IN MX CA AU NL SE xx t1", cc, " ")
            split("GET GET GET POST HEAD", m, " "); split("HIT MISS DYNAMIC EXPIRED", cs, " ")
            split("/videos/a1b2/manifest/video.m3u8 /videos/c3d4/seg-001.ts /api/v1/items /index.html /static/app.js", p, " ") }
    {
        split($0, f, ","); ip = f[1]; c = (f[2] != "") ? tolower(f[2]) : tolower(cc[int(rand() * 14) + 1])
        src = (NR % 50 == 0) ? "edgeWorkerFetch" : "eyeball"; t = 1767225600000000000 + NR * 1000003
        printf "{\"CacheCacheStatus\":\"%s\",\"CacheResponseBytes\":%d,\"CacheResponseStatus\":200,\"ClientASN\":%d,\"ClientCountry\":\"%s\",\"ClientDeviceType\":\"desktop\",\"ClientIP\":\"%s\",\"ClientIPClass\":\"noRecord\",\"ClientRequestBytes\":%d,\"ClientRequestHost\":\"www.example.com\",\"ClientRequestMethod\":\"%s\",\"ClientRequestPath\":\"%s\",\"ClientRequestProtocol\":\"HTTP/2\",\"ClientRequestReferer\":\"https://www.example.com/\",\"ClientRequestScheme\":\"https\",\"ClientRequestSource\":\"%s\",\"ClientRequestURI\":\"%s?t=%d\",\"ClientRequestUserAgent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36\",\"ClientSSLCipher\":\"AEAD-AES128-GCM-SHA256\",\"ClientSSLProtocol\":\"TLSv1.3\",\"ClientSrcPort\":%d,\"ClientRegionCode\":\"%s\",\"EdgeColoCode\":\"LHR\",\"EdgeColoID\":%d,\"EdgeEndTimestamp\":%d,\"EdgePathingOp\":\"wl\",\"EdgePathingSrc\":\"macro\",\"EdgePathingStatus\":\"nr\",\"EdgeRequestHost\":\"www.example.com\",\"EdgeResponseBytes\":%d,\"EdgeResponseCompressionRatio\":1,\"EdgeResponseContentType\":\"application/vnd.apple.mpegurl\",\"EdgeResponseStatus\":200,\"EdgeServerIP\":\"172.70.%d.%d\",\"EdgeStartTimestamp\":%d,\"OriginIP\":\"203.0.113.%d\",\"OriginResponseBytes\":0,\"OriginResponseStatus\":200,\"OriginResponseTime\":%d,\"ParentRayID\":\"00\",\"RayID\":\"%08x%08x\",\"RequestHeaders\":{\"accept-language\":\"en-GB,en;q=0.9\"},\"SecurityLevel\":\"med\",\"WAFAction\":\"unknown\",\"WAFFlags\":\"0\",\"WorkerCPUTime\":0,\"WorkerStatus\":\"unknown\",\"WorkerSubrequest\":false,\"ZoneID\":123456789}\n",
            cs[int(rand() * 4) + 1], int(rand() * 900000), int(rand() * 60000), c, ip, int(rand() * 3000) + 200,
            m[int(rand() * 5) + 1], p[int(rand() * 5) + 1], src, p[int(rand() * 5) + 1], int(rand() * 1e9),
            int(rand() * 20) + 110, int(rand() * 60000) + 1024, (c == "gb") ? "ENG" : "", int(rand() * 400),
            t + int(rand() * 5e7), int(rand() * 900000), int(rand() * 256), int(rand() * 256), t,
            int(rand() * 256), int(rand() * 5e8), int(rand() * 4294967295), int(rand() * 4294967295)
    }' | split -l 10000 --filter='gzip -6 >> "$FILE"' - "$log.tmp"
    cat "$log".tmp* > "$log"
    rm -f "$log".tmp*
fi
size_gz=$(stat -c %s "$log")
size=$(gzip -dc "$log" | wc -c)
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $log ($records records, $((size_gz / 1048576)) MiB gzip in $(((records + 9999) / 10000)) members, $((size / 1048576)) MiB NDJSON), rules $rules"

# timed NAME CMD...: prints "elapsed_s cpu_s"
timed() {
    /usr/bin/time -f '%e %U %S' -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/logpush.err"
    awk '{ print $1, $2 + $3 }' "$dir/time.txt"
}
for i in $(seq "$runs"); do
    read -r gw gc < <(timed gzip -dc "$log")
    read -r sw sc < <(timed target/release/accessrules simulate "$rules" --input "$log" --format tsv)
    awk -v gw="$gw" -v gc="$gc" -v sw="$sw" -v sc="$sc" -v n="$records" 'BEGIN {
        printf "  run: gzip -dc %.2f s wall %.2f CPU-s | simulate %.2f s wall %.2f CPU-s (%.2f M records/s) | simulate / gzip: %.2fx wall, %.2fx CPU\n",
            gw, gc, sw, sc, n / sw / 1e6, sw / gw, sc / gc
    }'
done
tail -n 6 "$dir/logpush.err"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
