#!/bin/sh
# Validation of large one-line documents (as JSON.stringify writes them), in
# both output formats: time and peak memory (docs/performance.md).
#   benches/large_documents.sh            # after cargo build --release --features cli
# repeated.json: one rule of 100 000 "::1" entries (600 KB, 199 999 warnings);
# random.json: 45 000 random networks in five rules (880 KB).
set -eu
bin=${BIN:-target/release/accessrules}
dir=target/large-docs
mkdir -p "$dir"
python3 - "$dir" <<'PY'
import ipaddress, json, random, sys
d = sys.argv[1]
json.dump([{"type": "ip.src", "ip": ["::1"] * 100000, "action": "block"}],
          open(d + "/repeated.json", "w"), separators=(",", ":"))
random.seed(10)
rules = []
for r in range(5):
    nets = []
    for _ in range(9000):
        if random.random() < 0.9:
            a = random.getrandbits(32)
            nets.append("%s/%d" % (ipaddress.IPv4Address(a), random.randint(8, 32)))
        else:
            a = random.getrandbits(64) << 64
            nets.append("%s/%d" % (ipaddress.IPv6Address(a), random.randint(16, 64)))
    rules.append({"type": "ip.src", "ip": nets, "action": "allow" if r < 4 else "block"})
json.dump(rules, open(d + "/random.json", "w"), separators=(",", ":"))
PY
for f in repeated random; do
  for fmt in human json; do
    /usr/bin/time -f "$f.json --format $fmt: %e s, %M KB peak" \
      "$bin" validate "$dir/$f.json" --format "$fmt" --now 1767225600 >/dev/null || true
  done
done
