"""The unit x period aggregation of sipas, with the linearized SE of SIPAS,
as one SQL query (DuckDB; the same SQL runs on Spark SQL or DataFusion over a
partitioned Parquet data set, which is how the work can leave one machine).

    python3 benches/compare/aggregation_sql.py RESPONSES [unit_period.csv]

RESPONSES is `responses.parquet`, or the `responses/` folder of the layout
partitioned by period (`period=2024Q1/part-00000.parquet`, Hive style), read
with `hive_partitioning` and the period as text.

Prints the SQL; with sipas' unit_period.csv it also runs the query with DuckDB
and checks SIPAS and its SE per cell against sipas (to the rounding of its
6-decimal CSV), exiting 1
on any difference. Strata are unit x period, each response its own PSU (the
default design): per cell, z_i = 100 w_i sum_j c_j (s_ij - R_j a_ij) / X_j and
Var = n/(n-1) * sum (z_i - mean z)^2.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from compare import load_instrument  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def source(path):
    """The DuckDB table expression of either layout."""
    if os.path.isdir(path):
        glob = os.path.join(path, "period=*", "*.parquet")
        return (f"read_parquet('{glob}', hive_partitioning = true, "
                "hive_types = {'period': VARCHAR})")
    return f"read_parquet('{path}')"


def sql(path, inst):
    items, _reported, root, coefs, sat = inst
    c = {j: coefs[root][k] for k, j in enumerate(items)}
    totals = ", ".join(
        f'sum(CASE WHEN "{j}" IS NOT NULL THEN weight ELSE 0 END) AS "x_{j}", '
        f'sum(CASE WHEN "{j}" >= {sat} THEN weight ELSE 0 END) AS "y_{j}"'
        for j in items
    )
    sipas = " + ".join(f'{c[j]!r} * "y_{j}" / "x_{j}"' for j in items if c[j] != 0.0)
    z = " + ".join(
        f'{c[j]!r} * ((CASE WHEN r."{j}" >= {sat} THEN 1 ELSE 0 END) - '
        f'"y_{j}" / "x_{j}" * (CASE WHEN r."{j}" IS NOT NULL THEN 1 ELSE 0 END)) / "x_{j}"'
        for j in items
        if c[j] != 0.0
    )
    return f"""
WITH r AS (SELECT * FROM {source(path)} WHERE channel = 'survey'),
cell AS (SELECT unit_code, period, count(*) AS n, {totals}
         FROM r GROUP BY unit_code, period),
infl AS (SELECT r.unit_code, r.period, 100 * r.weight * ({z}) AS z
         FROM r JOIN cell USING (unit_code, period)),
var AS (SELECT unit_code, period,
               CASE WHEN count(*) > 1
                    THEN count(*) / (count(*) - 1.0) * (sum(z * z) - sum(z) * sum(z) / count(*))
               END AS v
        FROM infl GROUP BY unit_code, period)
SELECT unit_code, period, n, 100 * ({sipas}) AS sipas, sqrt(greatest(v, 0)) AS sipas_se
FROM cell JOIN var USING (unit_code, period)
ORDER BY unit_code, period
"""


def main():
    path = sys.argv[1]
    inst = load_instrument(os.path.join(ROOT, "fixtures/instruments/sipas-2023.toml"))
    q = sql(path, inst)
    print(q)
    if len(sys.argv) < 3:
        return
    import duckdb

    rows = duckdb.sql(q).fetchall()
    ref = {(r["unit_code"], r["period"]): r for r in csv.DictReader(open(sys.argv[2]))}
    worst = 0.0
    for unit, period, n, s, se in rows:
        r = ref[(unit, period)]
        assert int(r["n"]) == n, (unit, period)
        worst = max(worst, abs(float(r["sipas"]) - s), abs(float(r["sipas_se"]) - se))
    # unit_period.csv has 6 decimals: agreement to rounding.
    ok = len(rows) == len(ref) and worst <= 5e-7
    print(f"-- {len(rows)} cells, max |difference| vs sipas {worst:.2e}: {'agree' if ok else 'DIFFER'}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
