"""`decide_batch` on a Polars column: Arrow in, Arrow out.

    python polars_column.py RULES LOGPUSH.ndjson
"""

from __future__ import annotations

import sys

import polars as pl

import accessrules


def with_decisions(df: pl.DataFrame, matcher: accessrules.Matcher) -> pl.DataFrame:
    actions, rules = matcher.decide_batch(df["ClientIP"], df["ClientCountry"])
    return df.with_columns(
        pl.Series("decision", actions), pl.Series("rule", rules)
    )


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        m = accessrules.Matcher(f.read())
    df = pl.read_ndjson(sys.argv[2])
    print(with_decisions(df, m).group_by("decision").len().sort("decision"))
