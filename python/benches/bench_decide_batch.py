"""Figures for docs/python.md (a benchmark script, not a test).

    python python/benches/bench_decide_batch.py [ROWS]

1. `decide_batch` on a 1 M-row pyarrow array, IP rules of 10 000 networks
   (no country needed): rows per second, one core.
2. The same with country resolution: the documentation example, addresses
   only, countries from the embedded GeoIP database; 2b. the same addresses
   as binary (`ipaddress` `.packed`), which leaves out the text parsing.
   Their Rust yardstick: `cargo bench --features internals --bench evaluate
   -- python_inputs` (the same kind of 1 M addresses, from text and parsed).
3. DuckDB over a 1 M-row Logpush table: the Arrow UDF (`decide_batch`)
   against a plain Python UDF doing the same with `ipaddress` and a dict.

Each figure is the best of 5 runs (3 for DuckDB) on this machine.
"""

from __future__ import annotations

import ipaddress
import json
import random
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

import accessrules

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
REPO = Path(__file__).resolve().parents[2]
rng = random.Random(5)


def best(f, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def random_ip() -> str:
    if rng.random() < 0.5:
        return "%d.%d.%d.%d" % tuple(rng.randrange(256) for _ in range(4))
    return "%x:%x:%x::%x" % (rng.randrange(0x2000, 0x2c00), rng.randrange(0x10000),
                             rng.randrange(0x10000), rng.randrange(0x10000))


def ip_rules(networks: int) -> str:
    nets = set()
    while len(nets) < networks:
        if rng.random() < 0.5:
            a = rng.randrange(1 << 32) & ~0xFF
            nets.add(str(ipaddress.ip_network((a, 24))))
        else:
            a = (rng.randrange(0x2000, 0x2c00) << 112) | (rng.randrange(1 << 32) << 80)
            nets.add(str(ipaddress.ip_network((a, 48))))
    nets = sorted(nets)
    per = len(nets) // 4
    rules = [
        {"type": "ip.src", "ip": nets[i * per:(i + 1) * per], "action": "allow" if i % 2 else "block"}
        for i in range(4)
    ] + [{"type": "any", "action": "block"}]
    return json.dumps(rules)


def main() -> None:
    ips = pa.array([random_ip() for _ in range(ROWS)])
    print(f"rows: {ROWS}")

    m = accessrules.Matcher(ip_rules(10_000))
    t = best(lambda: m.decide_batch(ips))
    print(f"1. IP rules, 10 000 networks: {t*1e3:.1f} ms, {ROWS/t/1e6:.1f} M rows/s")

    docs = (REPO / "examples" / "docs-example.json").read_text()
    m = accessrules.Matcher(docs)
    t = best(lambda: m.decide_batch(ips))
    print(f"2. docs example, GeoIP for every row: {t*1e3:.1f} ms, {ROWS/t/1e6:.1f} M rows/s")
    packed = pa.array([ipaddress.ip_address(ip).packed for ip in ips.to_pylist()], type=pa.binary())
    assert m.decide_batch(packed) == m.decide_batch(ips)
    t = best(lambda: m.decide_batch(packed))
    print(f"2b. the same, addresses as 4/16-byte binary (no text to parse): {t*1e3:.1f} ms, "
          f"{ROWS/t/1e6:.1f} M rows/s")

    countries = pa.array([rng.choice(["us", "mx", "gb", "de", None]) for _ in range(ROWS)])
    table = pa.table({"ClientIP": ips, "ClientCountry": countries})
    con = duckdb.connect()
    con.register("logs", table)

    def arrow_udf(ip, country):
        return m.decide_batch(ip, country)[0]

    con.create_function("decide_arrow", arrow_udf,
                        [duckdb.sqltype("VARCHAR"), duckdb.sqltype("VARCHAR")],
                        duckdb.sqltype("VARCHAR"), type="arrow",
                        null_handling="special")

    allowed = {"US", "MX"}
    networks = [ipaddress.ip_network(n) for n in ("93.184.216.0/24", "2400:cb00::/32")]
    geo = accessrules.Matcher(docs)  # the plain UDF needs GeoIP where the log has none

    def plain_udf(ip: str, country):
        if ip is None:
            return None
        addr = ipaddress.ip_address(ip)
        if country is None:
            # The same GeoIP answer, one viewer at a time.
            return geo.decide(ip).action
        if country.upper() in allowed:
            return "allow"
        if any(addr in n for n in networks):
            return "allow"
        return "block"

    con.create_function("decide_plain", plain_udf,
                        [duckdb.sqltype("VARCHAR"), duckdb.sqltype("VARCHAR")],
                        duckdb.sqltype("VARCHAR"), type="native",
                        null_handling="special")
    q = "SELECT {f}(ClientIP, ClientCountry) AS d, count(*) FROM logs GROUP BY d ORDER BY d"
    a = con.execute(q.format(f="decide_arrow")).fetchall()
    p = con.execute(q.format(f="decide_plain")).fetchall()
    assert a == p, (a, p)
    ta = best(lambda: con.execute(q.format(f="decide_arrow")).fetchall(), 3)
    tp = best(lambda: con.execute(q.format(f="decide_plain")).fetchall(), 3)
    print(f"3. DuckDB, {ROWS} Logpush rows: Arrow UDF {ta:.2f} s, plain Python UDF {tp:.2f} s: {tp/ta:.1f}x; same counts {a}")


if __name__ == "__main__":
    main()
