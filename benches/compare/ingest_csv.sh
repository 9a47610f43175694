#!/usr/bin/env bash
# CSV ingest throughput: `sipas ingest` against DuckDB's and Python polars' CSV
# readers on the same canonical CSV file.
#
#   bash benches/compare/ingest_csv.sh N        # e.g. 10000000
#
# sipas does more than the peers: it validates every row (unit, period,
# answers 1-5, unique response ids, weights), quarantines what fails, sorts by
# (period, unit_code, response_id) and writes responses.parquet. The peers
# parse the file and write it to Parquet (DuckDB: COPY (SELECT * FROM
# read_csv(…)) TO '….parquet'; polars: scan_csv(…).sink_parquet(…)) and do
# nothing else. Before timing, the script checks that all three read the same
# rows and the same answers (per-item sums).
# Environment: OUT (default bench-data/ingest-csv-N), CSV (an existing CSV of
# N rows to use instead of generating one), RUNS (3), WARMUP (0),
# CARGO_TARGET_DIR (~/.cache/sipas/target-release), PROFILE (release; the binary's
# build profile, as in run.sh), SKIP_BUILD=1, SKIP_INSTALL=1.
# The table is also written to $OUT/table.md.
set -euo pipefail
N=${1:?usage: bash benches/compare/ingest_csv.sh N}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/bench-data/ingest-csv-$N}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sipas/target-release}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-0}
PY=${PYTHON:-python3}
log() { printf '\n== %s\n' "$*" >&2; }

if [ -z "${SKIP_INSTALL:-}" ]; then
  for m in duckdb polars pyarrow; do
    "$PY" -c "import $m" 2>/dev/null || "$PY" -m pip install --quiet "$m"
  done
  if ! command -v hyperfine >/dev/null; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq hyperfine
  fi
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  log "build (release)"
  (cd "$ROOT" && cargo build --release --locked -p sipas-cli)
fi
SIPAS=$CARGO_TARGET_DIR/${PROFILE:-release}/sipas

mkdir -p "$OUT"
CSV=${CSV:-$OUT/responses.csv}
if [ ! -f "$CSV" ]; then
  log "generate $N responses (CSV)"
  "$SIPAS" generate --responses "$N" --seed 1 --instrument sipas-2023 --out "$CSV"
fi
ls -l "$CSV" >&2

cat > "$OUT/peers.py" <<'PY'
import sys, time
# peers.py TOOL PATH [CHECK_OUT]: read PATH and write the row count and per-item sums to CHECK_OUT;
# peers.py TOOL PATH --parquet OUT: read the CSV at PATH and write it to the Parquet file OUT (timed).
tool, path = sys.argv[1], sys.argv[2]
if len(sys.argv) > 4 and sys.argv[3] == "--parquet":
    out = sys.argv[4]
    if tool == "duckdb":
        import duckdb
        duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{path}', header=true, types={{'unit_code': 'VARCHAR', 'response_id': 'VARCHAR', 'period': 'VARCHAR'}})) TO '{out}' (FORMAT parquet)")
    else:
        import polars as pl
        pl.scan_csv(path, schema_overrides={"unit_code": pl.Utf8, "response_id": pl.Utf8, "period": pl.Utf8}).sink_parquet(out)
    sys.exit(0)
items = [f"{p}{i}" for p, n in [("pa",2),("pb",2),("pc",8),("pd",2),("sa",4),("sb",4),("sc",5),("sd",3),("se",3)] for i in range(1, n+1)]
t0 = time.perf_counter()
if tool == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header=true, types={{'unit_code': 'VARCHAR', 'response_id': 'VARCHAR', 'period': 'VARCHAR'}})")
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    sums = con.execute("SELECT " + ",".join(f"coalesce(sum({c}),0)" for c in items) + " FROM t").fetchone()
elif tool == "polars":
    import polars as pl
    df = pl.read_csv(path, schema_overrides={"unit_code": pl.Utf8, "response_id": pl.Utf8, "period": pl.Utf8})
    n = df.height
    sums = [int(df[c].sum()) for c in items]
elif tool == "sipas":
    import polars as pl
    df = pl.read_parquet(path)
    n = df.height
    sums = [int(df[c].cast(pl.Int64).sum()) for c in items]
el = time.perf_counter() - t0
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.write(f"{n}\n" + ",".join(str(int(s)) for s in sums) + "\n")
print(f"{tool}: {n} rows in {el:.3f} s", file=sys.stderr)
PY

log "check: the same rows and answers in every tool"
"$SIPAS" ingest "$CSV" --out "$OUT/ingest" >&2
"$PY" "$OUT/peers.py" sipas "$OUT/ingest/responses.parquet" "$OUT/check-sipas.txt"
"$PY" "$OUT/peers.py" duckdb "$CSV" "$OUT/check-duckdb.txt"
"$PY" "$OUT/peers.py" polars "$CSV" "$OUT/check-polars.txt"
for t in duckdb polars; do
  if ! cmp -s "$OUT/check-sipas.txt" "$OUT/check-$t.txt"; then
    echo "MISMATCH: sipas and $t read different rows or answers" >&2
    diff "$OUT/check-sipas.txt" "$OUT/check-$t.txt" >&2 || true
    exit 1
  fi
done
echo "agree: $(head -1 "$OUT/check-sipas.txt") rows, identical per-item answer sums" >&2

log "time (hyperfine --warmup $WARMUP --runs $RUNS)"
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/hyperfine.json" \
  -n sipas-ingest "$SIPAS ingest $CSV --out $OUT/ingest-timed" \
  -n duckdb-read_csv-to-parquet "$PY $OUT/peers.py duckdb $CSV --parquet $OUT/duckdb.parquet" \
  -n polars-scan_csv-to-parquet "$PY $OUT/peers.py polars $CSV --parquet $OUT/polars.parquet" >&2
"$PY" - "$OUT/hyperfine.json" > "$OUT/table.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = next(x for x in r if x["command"] == "sipas-ingest")["median"]
print("| CSV → Parquet | median (s) | ratio vs sipas ingest |\n|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['median']:.2f} | {x['median']/base:.2f} |")
PY
cat "$OUT/table.md"
