#!/usr/bin/env bash
# End-to-end comparison, in one run: (a) CSV ingest — `sipas ingest` against
# DuckDB's and polars' CSV → Parquet on one generated CSV (ingest_csv.sh);
# (b) the aggregation — the estimator alone and the whole `sipas aggregate`
# command against DuckDB, Python polars, pandas and R survey on the same
# responses.parquet: sipas' clean table of that CSV (the table users
# aggregate; its two answer-mask columns are read by sipas only).
#
#   bash benches/compare/run.sh N            # e.g. 1000000 or 10000000
#
# Environment: OUT (default bench-data/compare-N), SEED (generate's seed, default 1;
# data of another seed, or of none recorded, is generated afresh), CARGO_TARGET_DIR (default
# ~/.cache/sipas/target-release), RUNS (5), WARMUP (1), R_MIN / R_MAX (R runs
# only when R_MIN <= N <= R_MAX; default 100000..1000000), UNITS / PILOTS
# (a unit list CSV and pilot TOML passed to generate, ingest and sipas;
# peers need nothing), SKIP_INSTALL=1, SKIP_BUILD=1 (use the binaries already built),
# PROFILE (release; `debug` for a smoke run, as CI does for notebooks/04_benchmarks:
# debug times mean nothing), INGEST_RUNS (3), SKIP_INGEST=1 (no ingest comparison;
# it is also skipped with UNITS / PILOTS).
# Steps: install peers if missing -> build sipas (release) -> generate a CSV
# (each row's unit code as of its date) -> the ingest comparison -> ingest -> clean ->
# every tool writes its per-cell estimates -> check agreement (fail loudly) ->
# hyperfine each tool -> both tables of medians and ratios.
set -euo pipefail
N=${1:?usage: bash benches/compare/run.sh N}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/bench-data/compare-$N}
PROFILE=${PROFILE:-release}
case "$PROFILE" in
  release) BUILD_FLAGS=(--release); export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sipas/target-release} ;;
  debug) BUILD_FLAGS=(); export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} ;;
  *) echo "PROFILE must be release or debug, not $PROFILE" >&2; exit 2 ;;
esac
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
R_MIN=${R_MIN:-100000}
R_MAX=${R_MAX:-1000000}
INSTRUMENT=$ROOT/fixtures/instruments/sipas-2023.toml
PY=${PYTHON:-python3}
DOMAIN=()
[ -n "${UNITS:-}" ] && DOMAIN+=(--units "$UNITS")
[ -n "${PILOTS:-}" ] && DOMAIN+=(--pilots "$PILOTS")
log() { printf '\n== %s\n' "$*" >&2; }

# 1. Peers (skipped when present).
if [ -z "${SKIP_INSTALL:-}" ]; then
  log "peers"
  missing_py=()
  for m in duckdb polars pandas pyarrow; do
    "$PY" -c "import $m" 2>/dev/null || missing_py+=("$m")
  done
  if [ ${#missing_py[@]} -gt 0 ]; then
    "$PY" -m pip install --quiet "${missing_py[@]}"
  fi
  apt_pkgs=()
  command -v hyperfine >/dev/null || apt_pkgs+=(hyperfine)
  command -v Rscript >/dev/null || apt_pkgs+=(r-base-core)
  if ! command -v Rscript >/dev/null || ! Rscript -e 'quit(status = !requireNamespace("survey", quietly = TRUE))' >/dev/null 2>&1; then
    apt_pkgs+=(r-cran-survey)
  fi
  if ! command -v Rscript >/dev/null || ! Rscript -e 'quit(status = !requireNamespace("data.table", quietly = TRUE))' >/dev/null 2>&1; then
    apt_pkgs+=(r-cran-data.table)
  fi
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_pkgs[@]}"
  fi
fi

# 2. sipas, release.
if [ -z "${SKIP_BUILD:-}" ]; then
  log "build ($PROFILE, $CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build "${BUILD_FLAGS[@]}" --locked -q -p sipas-cli)
  (cd "$ROOT" && cargo build "${BUILD_FLAGS[@]}" --locked -q -p sipas-bench --bin sipas-bench-aggregate)
fi
SIPAS=$CARGO_TARGET_DIR/$PROFILE/sipas
SIPAS_AGG=$CARGO_TARGET_DIR/$PROFILE/sipas-bench-aggregate

# 3. Data: generate -> ingest (the canonical responses.parquet every tool reads).
mkdir -p "$OUT"
P=$OUT/clean/responses.parquet
CSV=$OUT/data/responses.csv
SEED=${SEED:-1}
STAMP=$OUT/data/seed
if [ ! -s "$P" ] || [ ! -s "$CSV" ] || [ "$(cat "$STAMP" 2>/dev/null || true)" != "$SEED" ]; then
  log "generate + ingest + clean $N responses (seed $SEED)"
  rm -f "$STAMP"
  /usr/bin/time -f "generate: %e s, max RSS %M KiB" "$SIPAS" generate --responses "$N" --seed "$SEED" \
    --instrument sipas-2023 "${DOMAIN[@]}" --out "$CSV"
  rm -rf "$OUT/ingest" "$OUT/clean"
  /usr/bin/time -f "ingest: %e s, max RSS %M KiB" "$SIPAS" ingest "$CSV" \
    "${DOMAIN[@]}" --out "$OUT/ingest"
  # Exit 1: rows quarantined (the generator's few re-sent copies), reported, not an error.
  /usr/bin/time -f "clean: %e s, max RSS %M KiB" "$SIPAS" clean --data "$OUT/ingest" \
    "${DOMAIN[@]}" --out "$OUT/clean" || [ $? -eq 1 ]
  echo "$SEED" > "$STAMP"
fi
ls -l "$CSV" "$P" >&2

# 3b. CSV ingest against DuckDB's and polars' CSV → Parquet on the same file.
if [ -z "${DOMAIN[*]}" ] && [ -z "${SKIP_INGEST:-}" ]; then
  log "ingest comparison"
  OUT=$OUT/ingest-csv CSV=$CSV SKIP_BUILD=1 SKIP_INSTALL=1 PYTHON=$PY RUNS=${INGEST_RUNS:-3} \
    bash "$HERE/ingest_csv.sh" "$N" >&2
fi
RUN_R=0
if [ "$N" -ge "$R_MIN" ] && [ "$N" -le "$R_MAX" ]; then RUN_R=1; fi

# 4. Agreement first: every tool writes its per-cell estimates.
log "check"
CHK=$OUT/check
rm -rf "$CHK"; mkdir -p "$CHK"
"$SIPAS_AGG" "$P" "${DOMAIN[@]}" --cells "$CHK/cells-sipas.csv"
for tool in duckdb polars pandas; do
  "$PY" "$HERE/compare.py" run "$tool" "$P" "$INSTRUMENT" --out "$CHK/cells-$tool.csv"
done
if [ "$RUN_R" = 1 ]; then
  "$PY" "$HERE/compare.py" coef "$INSTRUMENT" "$OUT/coef.csv"
  "$PY" "$HERE/compare.py" export-r "$P" "$INSTRUMENT" "$OUT/responses-r.csv"
  Rscript "$HERE/survey.R" "$OUT/responses-r.csv" "$OUT/coef.csv" "$CHK/cells-r-survey.csv"
fi
"$PY" "$HERE/compare.py" check "$CHK"

# 5. Timing (same input file for every tool).
log "hyperfine --warmup $WARMUP --runs $RUNS"
TIM=$OUT/time
rm -rf "$TIM"; mkdir -p "$TIM"
domain_q=
[ ${#DOMAIN[@]} -gt 0 ] && domain_q=$(printf ' %q' "${DOMAIN[@]}")
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$TIM/hyperfine-main.json" \
  -n sipas-aggregate-only "$SIPAS_AGG $P $domain_q --timing $TIM/timing-sipas-aggregate-only.txt" \
  -n sipas-aggregate-command "$SIPAS aggregate --data $OUT/clean --out $OUT/results $domain_q" \
  -n duckdb "$PY $HERE/compare.py run duckdb $P $INSTRUMENT --timing $TIM/timing-duckdb.txt" \
  -n polars "$PY $HERE/compare.py run polars $P $INSTRUMENT --timing $TIM/timing-polars.txt" \
  -n pandas "$PY $HERE/compare.py run pandas $P $INSTRUMENT --timing $TIM/timing-pandas.txt"
if [ "$RUN_R" = 1 ]; then
  hyperfine --warmup "${R_WARMUP:-$WARMUP}" --runs "${R_RUNS:-$RUNS}" --export-json "$TIM/hyperfine-r.json" \
    -n r-survey "Rscript $HERE/survey.R $OUT/responses-r.csv $OUT/coef.csv $OUT/r-out.csv $TIM/timing-r-survey.txt"
fi

# 6. Tables.
log "results: N = $N, $(nproc) cores"
{
  if [ -s "$OUT/ingest-csv/table.md" ]; then
    echo "CSV ingest ($(du -h "$CSV" | cut -f1) CSV):"
    echo
    cat "$OUT/ingest-csv/table.md"
    echo
    echo "Aggregation:"
    echo
  fi
  "$PY" "$HERE/compare.py" table "$TIM"
} | tee "$OUT/table.md"
