"""The engine examples of python/examples, run as tests on a Logpush-shaped
log, each checked against `decide_batch` on the same rows."""

from collections import Counter

import pytest

import accessrules
from logpush import write_logpush


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_logpush(tmp_path_factory.mktemp("logpush") / "http_requests.ndjson", 5000)


def expected_counts(rules: str, log) -> list:
    import json

    rows = [json.loads(line) for line in open(log)]
    m = accessrules.Matcher(rules)
    actions, _ = m.decide_batch(
        [r["ClientIP"] for r in rows], [r["ClientCountry"] for r in rows]
    )
    return sorted(Counter(actions).items())


def test_duckdb_arrow_udf(log, docs_example):
    import duckdb_logpush

    got = duckdb_logpush.decide_log(docs_example, str(log))
    assert got == expected_counts(docs_example, log)
    assert sum(n for _, n in got) == 5000 and len(got) == 2


def test_polars_column(log, docs_example):
    import polars as pl
    import polars_column

    df = polars_column.with_decisions(pl.read_ndjson(log), accessrules.Matcher(docs_example))
    assert df["decision"].null_count() == 0
    got = sorted(Counter(df["decision"].to_list()).items())
    assert got == expected_counts(docs_example, log)
    assert df.filter(pl.col("decision") == "block")["rule"].unique().to_list() == [2]


def test_spark_map_in_arrow(log, docs_example):
    pytest.importorskip("pyspark")
    import spark_logpush

    spark = spark_logpush.local_session()
    try:
        got = spark_logpush.decide_log(spark, docs_example, str(log))
    finally:
        spark.stop()
    assert got == expected_counts(docs_example, log)
