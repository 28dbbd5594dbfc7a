"""Decide every row of a Logpush log in DuckDB: `accessrules` as a
vectorised scalar function over Arrow (`create_function(..., type="arrow")`).

    python duckdb_logpush.py RULES LOGPUSH.ndjson
"""

from __future__ import annotations

import sys

import duckdb
import pyarrow as pa

import accessrules


def register(con: duckdb.DuckDBPyConnection, matcher: accessrules.Matcher) -> None:
    """Registers `access_decision(ip, country)` -> 'allow' | 'block'. The
    log's country is the edge's own; GeoIP is used where it is NULL."""

    def decide(ips: pa.Array, countries: pa.Array) -> pa.Array:
        actions, _rules = matcher.decide_batch(ips, countries)
        return actions

    con.create_function(
        "access_decision",
        decide,
        [duckdb.sqltype("VARCHAR"), duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type="arrow",
        null_handling="special",
    )


def decide_log(rules: str, log: str) -> list[tuple[str, int]]:
    """(decision, viewers) for every row of `log`."""
    con = duckdb.connect()
    register(con, accessrules.Matcher(rules))
    return con.execute(
        """
        SELECT access_decision(ClientIP, ClientCountry) AS decision, count(*) AS viewers
        FROM read_json_auto(?, format = 'newline_delimited')
        GROUP BY decision ORDER BY decision
        """,
        [log],
    ).fetchall()


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(decide_log(f.read(), sys.argv[2]))
