"""Runs a query written by `sipas sql` in DuckDB or Spark and writes its
result as CSV with every double at full precision (repr), for sipas.

Used by `sipas aggregate --engine spark` and by the tests; not needed
otherwise. Exit codes: 0 done, 3 the engine's Python package (or Java, for
Spark) is missing (the message says what to install), 1 the query failed.

    python3 sipas_sql_run.py --engine spark|duckdb [--master local[*]]
        --query NAME=FILE.sql ... --out DIR
        [--view NAME=csv:PATH|parquet:PATH]
        [--check]

Each --query writes DIR/NAME.csv. A --view registers a table (CSV with a
header; `unit_code`, `period` and other text columns read as text; items
and numbers inferred) under NAME before the queries run. --check only
tests that the engine can start.
"""

import argparse
import csv
import math
import os
import shutil
import sys


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return repr(v)
    return str(v)


def write_csv(path, columns, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt(v) for v in r])
    os.replace(tmp, path)


TEXT = ("unit_code", "period", "channel", "response_id", "village", "district_code",
        "old_unit_code", "village_lonely", "submitted_at")


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def missing(what):
    print(f"sipas: {what}", file=sys.stderr)
    sys.exit(3)


def run_duckdb(args, queries, views):
    try:
        import duckdb
    except ImportError:
        missing("the Python package `duckdb` is not installed for "
                f"{sys.executable}: install it with `{sys.executable} -m pip install duckdb`")
    if args.check:
        return
    con = duckdb.connect()
    for name, kind, path in views:
        if kind == "csv":
            head = open(path, encoding="utf-8").readline().strip().split(",")
            types = {c: "VARCHAR" for c in head if c in TEXT}
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_csv({lit(path)}, header = true, types = {types!r})")
        else:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({lit(path)})")
    for name, text in queries:
        cur = con.execute(text)
        cols = [d[0] for d in cur.description]
        write_csv(os.path.join(args.out, name + ".csv"), cols, cur.fetchall())


def run_spark(args, queries, views):
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        missing("the Python package `pyspark` is not installed for "
                f"{sys.executable}: install it with `{sys.executable} -m pip install pyspark` "
                "(or set SIPAS_PYTHON to a Python that has it)")
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) \
            and shutil.which("java") is None:
        missing("Java is not installed (Spark needs a Java 17 runtime): install it, "
                "e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME")
    spark = (SparkSession.builder.master(args.master).appName("sipas")
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", os.environ.get("SIPAS_SPARK_PARTITIONS", "8"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        if args.check:
            return
        for name, kind, path in views:
            if kind == "csv":
                from pyspark.sql.types import StringType, StructField, StructType, DoubleType
                head = open(path, encoding="utf-8").readline().strip().split(",")
                schema = StructType([
                    StructField(c, StringType() if c in TEXT else DoubleType(), True)
                    for c in head])
                df = spark.read.csv(path, header=True, schema=schema)
            else:
                df = spark.read.parquet(path)
            df.createOrReplaceTempView(name)
        for name, text in queries:
            df = spark.sql(text)
            rows = [tuple(r) for r in df.collect()]
            write_csv(os.path.join(args.out, name + ".csv"), df.columns, rows)
    finally:
        spark.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["spark", "duckdb"], required=True)
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--view", action="append", default=[])
    ap.add_argument("--out", default=".")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    queries = []
    for q in args.query:
        name, path = q.split("=", 1)
        with open(path, encoding="utf-8") as f:
            queries.append((name, f.read().rstrip().rstrip(";")))
    views = []
    for v in args.view:
        name, spec = v.split("=", 1)
        kind, path = spec.split(":", 1)
        views.append((name, kind, path))
    try:
        if args.engine == "duckdb":
            run_duckdb(args, queries, views)
        else:
            run_spark(args, queries, views)
    except SystemExit:
        raise
    except Exception as e:  # the engine's own message
        print(f"sipas: the {args.engine} query failed: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
