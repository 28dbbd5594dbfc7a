"""Decide a Logpush log on Spark with `mapInArrow`: each executor compiles
the rules once per partition and decides whole Arrow record batches.

Local mode (two cores) here; on a cluster, the same function runs with the
`accessrules` wheel installed on the executors (e.g. `--py-files` or the
cluster's library settings) and `SparkSession.builder.getOrCreate()`.

    python spark_logpush.py RULES LOGPUSH.ndjson
"""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pyarrow as pa
from pyspark.sql import SparkSession


def decide_partitions(rules: str):
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import accessrules  # imported on the executor

        matcher = accessrules.Matcher(rules)
        for batch in batches:
            actions, rule_ids = matcher.decide_batch(
                batch.column("ClientIP"), batch.column("ClientCountry")
            )
            yield pa.RecordBatch.from_arrays(
                [batch.column("ClientIP"), actions, rule_ids],
                names=["ClientIP", "decision", "rule"],
            )

    return run


def decide_log(spark: SparkSession, rules: str, log: str) -> list[tuple[str, int]]:
    df = spark.read.json(log).select("ClientIP", "ClientCountry")
    decided = df.mapInArrow(
        decide_partitions(rules), "ClientIP string, decision string, rule int"
    )
    rows = decided.groupBy("decision").count().orderBy("decision").collect()
    return [(r["decision"], r["count"]) for r in rows]


def local_session() -> SparkSession:
    # The workers run this interpreter (the one with accessrules and
    # pyarrow installed), not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master("local[2]")
        .config("spark.pyspark.python", sys.executable)
        .appName("accessrules")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        rules = f.read()
    spark = local_session()
    print(decide_log(spark, rules, sys.argv[2]))
    spark.stop()
