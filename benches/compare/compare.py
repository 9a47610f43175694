#!/usr/bin/env python3
"""The same aggregation as `sipas aggregate`, in DuckDB, Python polars and
pandas, plus the agreement check and the timing table of benches/compare.

Per unit x period (rows of channel `survey`), with weights w, answers a_j
(null = missing) and satisfied s_j = [a_j >= satisfied_min]:
  X_j = sum w*[a_j not null], Y_j = sum w*s_j, share_j = 100*Y_j/X_j,
  group g = 100 * sum_j c_gj * Y_j/X_j  (c from the instrument TOML, as
  sipas_core::Instrument::coefficients computes them).

Subcommands (see run.sh):
  coef INSTRUMENT.toml OUT.csv          item,<root>,<groups...> coefficients (for R)
  export-r PARQUET INSTRUMENT.toml OUT.csv   the columns survey.R reads, as CSV
  run TOOL PARQUET INSTRUMENT.toml [--out CELLS.csv] [--timing FILE]
                                        TOOL = duckdb | polars | pandas
  check DIR                             compare DIR/cells-*.csv, fail loudly
  table DIR                             medians and ratios from DIR/*.json, DIR/timing-*.txt
"""
import json
import math
import os
import sys
import time
import tomllib


def load_instrument(path):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    items = [i["id"] for i in raw["items"]]
    groups = raw["groups"]
    root = next(g["id"] for g in groups if not g.get("parent"))

    def coef(gid):
        item_children = [j for j, i in enumerate(raw["items"]) if i["group"] == gid]
        group_children = [g["id"] for g in groups if g.get("parent") == gid]
        k = len(item_children) + len(group_children)
        share = 1.0 / k
        c = [0.0] * len(items)
        for j in item_children:
            c[j] += share
        for g in group_children:
            sub = coef(g)
            c = [a + share * b for a, b in zip(c, sub)]
        return c

    reported = [g["id"] for g in groups if g.get("kind") == "element"]
    reported += [g["id"] for g in groups if g.get("kind") == "part"]
    coefs = {g: coef(g) for g in reported + [root]}
    sat_min = raw["scale"]["satisfied_min"]
    return items, reported, root, coefs, sat_min


def cmd_coef(inst_path, out):
    items, reported, root, coefs, _ = load_instrument(inst_path)
    cols = [root] + reported
    with open(out, "w") as f:
        f.write("item," + ",".join(cols) + "\n")
        for j, it in enumerate(items):
            f.write(it + "," + ",".join(repr(coefs[g][j]) for g in cols) + "\n")


def cmd_export_r(path, inst_path, out):
    """The columns R needs, as CSV (R here has no Parquet reader)."""
    import duckdb

    items = load_instrument(inst_path)[0]
    cols = ", ".join(f'"{c}"' for c in ["unit_code", "period", "channel", "weight"] + items)
    duckdb.sql(f"COPY (SELECT {cols} FROM read_parquet('{path}')) TO '{out}' (HEADER)")


def linear(coefs, share_cols, op_add, op_mul):
    """sum_j c_j * share_j over the nonzero coefficients (share as a fraction)."""
    expr = None
    for c, s in zip(coefs, share_cols):
        if c == 0.0:
            continue
        term = op_mul(c, s)
        expr = term if expr is None else op_add(expr, term)
    return expr


def run_duckdb(path, inst):
    import duckdb

    items, reported, root, coefs, sat = inst
    xy = []
    for j in items:
        xy.append(f'sum(CASE WHEN "{j}" IS NOT NULL THEN weight ELSE 0.0 END) AS "x_{j}"')
        xy.append(f'sum(CASE WHEN "{j}" >= {sat} THEN weight ELSE 0.0 END) AS "y_{j}"')
    shares = [f'("y_{j}" / "x_{j}")' for j in items]
    outs = [f'100.0 * {s} AS "{j}"' for j, s in zip(items, shares)]
    for g in reported + [root]:
        terms = [f"{c!r} * {s}" for c, s in zip(coefs[g], shares) if c != 0.0]
        outs.append(f'100.0 * ({" + ".join(terms)}) AS "{g}"')
    sql = f"""
    WITH t AS (
      SELECT unit_code, period, count(*) AS n, {", ".join(xy)}
      FROM read_parquet('{path}') WHERE channel = 'survey'
      GROUP BY unit_code, period)
    SELECT unit_code, period, n, {", ".join(outs)} FROM t ORDER BY unit_code, period
    """
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    return con.execute(sql).fetch_df()


def run_polars(path, inst):
    import polars as pl

    items, reported, root, coefs, sat = inst
    w = pl.col("weight")
    prods = []
    for j in items:
        a = pl.col(j)
        prods.append(pl.when(a.is_not_null()).then(w).otherwise(0.0).alias(f"x_{j}"))
        prods.append(pl.when(a >= sat).then(w).otherwise(0.0).alias(f"y_{j}"))
    lf = (
        pl.scan_parquet(path)
        .filter(pl.col("channel") == "survey")
        .select(pl.col("unit_code"), pl.col("period"), *prods)
        .group_by("unit_code", "period")
        .agg(pl.len().alias("n"), pl.all().sum())
    )
    shares = [pl.col(f"y_{j}") / pl.col(f"x_{j}") for j in items]
    outs = [(100.0 * s).alias(j) for j, s in zip(items, shares)]
    for g in reported + [root]:
        e = linear(coefs[g], shares, lambda a, b: a + b, lambda c, s: c * s)
        outs.append((100.0 * e).alias(g))
    lf = lf.select("unit_code", "period", "n", *outs).sort("unit_code", "period")
    return lf.collect(engine="streaming").to_pandas()


def run_pandas(path, inst):
    import pandas as pd

    items, reported, root, coefs, sat = inst
    df = pd.read_parquet(path, columns=["unit_code", "period", "channel", "weight"] + items)
    df = df[df["channel"] == "survey"]
    w = df["weight"].to_numpy()
    data = {"unit_code": df["unit_code"].to_numpy(), "period": df["period"].to_numpy()}
    for j in items:
        a = df[j]
        data[f"x_{j}"] = a.notna().to_numpy() * w
        data[f"y_{j}"] = (a >= sat).fillna(False).to_numpy(dtype=bool) * w
    t = pd.DataFrame(data)
    g = t.groupby(["unit_code", "period"], sort=True)
    sums = g.sum()
    sums.insert(0, "n", g.size())
    out = pd.DataFrame(index=sums.index)
    out["n"] = sums["n"]
    shares = [sums[f"y_{j}"] / sums[f"x_{j}"] for j in items]
    for j, s in zip(items, shares):
        out[j] = 100.0 * s
    for gid in reported + [root]:
        out[gid] = 100.0 * linear(coefs[gid], shares, lambda a, b: a + b, lambda c, s: c * s)
    return out.reset_index()


TOOLS = {"duckdb": run_duckdb, "polars": run_polars, "pandas": run_pandas}


def cmd_run(tool, path, inst_path, out=None, timing=None):
    inst = load_instrument(inst_path)
    t0 = time.perf_counter()
    df = TOOLS[tool](path, inst)
    dt = time.perf_counter() - t0
    print(f"{tool}: {len(df)} cells in {dt:.3f} s", file=sys.stderr)
    if timing:
        with open(timing, "a") as f:
            f.write(f"{dt:.6f}\n")
    if out:
        items, reported, root, _, _ = inst
        cols = ["unit_code", "period", "n"] + items + reported + [root]
        df = df[cols].copy()
        df["sipas_se"] = float("nan")
        with open(out, "w") as f:
            f.write(",".join(df.columns) + "\n")
            for row in df.itertuples(index=False):
                f.write(",".join(fmt(v) for v in row) + "\n")


def fmt(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def read_cells(path):
    import csv

    with open(path) as f:
        r = csv.reader(f)
        header = next(r)
        rows = {}
        for rec in r:
            key = (rec[0], rec[1])
            rows[key] = {h: (float(v) if v != "" else None) for h, v in zip(header[2:], rec[2:])}
    return header, rows


def cmd_check(d, abs_tol=1e-9, se_rel_tol=1e-6):
    files = sorted(f for f in os.listdir(d) if f.startswith("cells-") and f.endswith(".csv"))
    ref_name = "cells-sipas.csv"
    if ref_name not in files:
        sys.exit(f"check: {d}/{ref_name} missing")
    header, ref = read_cells(os.path.join(d, ref_name))
    value_cols = [h for h in header[2:] if h != "sipas_se"]
    failures = []
    summary = []
    for f in files:
        if f == ref_name:
            continue
        tool = f[len("cells-"):-len(".csv")]
        h, rows = read_cells(os.path.join(d, f))
        if set(rows) != set(ref):
            failures.append(f"{tool}: cells differ ({len(rows)} vs {len(ref)} in sipas)")
            continue
        cols = [c for c in value_cols if c in h]
        max_abs, worst = 0.0, None
        max_se = 0.0
        n_se = 0
        for key, r0 in ref.items():
            r1 = rows[key]
            for c in cols:
                a, b = r0[c], r1[c]
                if (a is None) != (b is None):
                    failures.append(f"{tool}: {key} {c}: sipas {a}, {tool} {b}")
                    continue
                if a is not None and abs(a - b) > max_abs:
                    max_abs, worst = abs(a - b), (key, c, a, b)
            if "sipas_se" in h and r1.get("sipas_se") is not None:
                a, b = r0["sipas_se"], r1["sipas_se"]
                if a is None:
                    failures.append(f"{tool}: {key}: SIPAS SE {b}, sipas has none")
                    continue
                rel = abs(a - b) / abs(b) if b != 0 else abs(a - b)
                max_se = max(max_se, rel)
                n_se += 1
        if max_abs > abs_tol:
            failures.append(f"{tool}: max |difference| {max_abs:.3e} > {abs_tol:g} at {worst}")
        if n_se and max_se > se_rel_tol:
            failures.append(f"{tool}: max relative SE difference {max_se:.3e} > {se_rel_tol:g}")
        line = f"{tool}: {len(rows)} cells x {len(cols)} values, max |diff| vs sipas {max_abs:.2e}"
        if n_se:
            line += f", SIPAS SE max relative diff {max_se:.2e} over {n_se} cells"
        summary.append(line)
    for s in summary:
        print("check: " + s)
    if failures:
        for m in failures[:20]:
            print("CHECK FAILED: " + m, file=sys.stderr)
        if len(failures) > 20:
            print(f"CHECK FAILED: ... and {len(failures) - 20} more", file=sys.stderr)
        sys.exit(1)
    print("check: all tools agree")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def cmd_table(d):
    rows = []
    for f in sorted(os.listdir(d)):
        if not (f.startswith("hyperfine-") and f.endswith(".json")):
            continue
        with open(os.path.join(d, f)) as fh:
            for res in json.load(fh)["results"]:
                name = res["command"]
                internal = None
                tf = os.path.join(d, f"timing-{name}.txt")
                if os.path.exists(tf):
                    with open(tf) as fh2:
                        vals = [float(l.split()[0]) for l in fh2 if l.strip()]
                    vals = vals[-len(res["times"]):]  # drop the warmup runs
                    internal = median(vals) if vals else None
                rows.append((name, res["median"], res.get("max_rss") if False else None, internal, len(res["times"])))
    ref = {r[0]: r for r in rows}
    base_wall = ref.get("sipas-aggregate-only", (None, None))[1]
    base_int = ref.get("sipas-aggregate-only", (None, None, None, None))[3]
    print(f"| tool | runs | hyperfine median, whole process (s) | ratio vs sipas | aggregation itself, median (s) | ratio vs sipas |")
    print("|---|---|---|---|---|---|")
    for name, med, _, internal, n in rows:
        ratio = f"{med / base_wall:.2f}" if base_wall else ""
        it = f"{internal:.3f}" if internal is not None else ""
        iratio = f"{internal / base_int:.2f}" if (internal is not None and base_int) else ""
        print(f"| {name} | {n} | {med:.3f} | {ratio} | {it} | {iratio} |")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, rest = argv[1], argv[2:]
    opts = {}
    pos = []
    i = 0
    while i < len(rest):
        if rest[i].startswith("--"):
            opts[rest[i][2:]] = rest[i + 1]
            i += 2
        else:
            pos.append(rest[i])
            i += 1
    if cmd == "coef":
        cmd_coef(*pos)
    elif cmd == "export-r":
        cmd_export_r(*pos)
    elif cmd == "run":
        cmd_run(pos[0], pos[1], pos[2], opts.get("out"), opts.get("timing"))
    elif cmd == "check":
        cmd_check(pos[0])
    elif cmd == "table":
        cmd_table(pos[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
