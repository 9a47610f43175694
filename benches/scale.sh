#!/usr/bin/env bash
# Every stage end to end at N responses, each under /usr/bin/time -v:
# generate (CSV) -> ingest -> clean -> aggregate -> report.
#
#   bash benches/scale.sh N            # e.g. 10000000 or 100000000
#
# Prints wall time, peak RSS and time per row of each stage and writes them to
# $OUT/stages.tsv. A stage that fails (e.g. out of memory under the optional
# MEM_LIMIT_KB virtual-memory limit) is recorded with its exit status and the
# next stages are skipped. Environment: OUT (bench-data/scale-N),
# CARGO_TARGET_DIR (~/.cache/sipas/target-release), UNITS / PILOTS,
# MEM_LIMIT_KB, LAYOUT (file | period: how ingest and clean write the response
# table; default file), FORMAT (csv | parquet: what generate writes; default csv,
# where each row carries its unit's code as of its date, as offices send them, so
# clean keeps every row; a Parquet file carries the 2023–2024 codes in every period
# and clean excludes the rows dated after the 2024/2025 reorganisations under
# retired codes), KEEP=1 to keep the data, SEED (generate's seed; default 1: another seed
# gives data the figures were not tuned on).
set -uo pipefail
N=${1:?usage: bash benches/scale.sh N}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$ROOT/bench-data/scale-$N}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sipas/target-release}
[ -z "${SKIP_BUILD:-}" ] && { (cd "$ROOT" && cargo build --release -q -p sipas-cli) || exit 1; }
SIPAS=$CARGO_TARGET_DIR/release/sipas
DOMAIN=()
[ -n "${UNITS:-}" ] && DOMAIN+=(--units "$UNITS")
[ -n "${PILOTS:-}" ] && DOMAIN+=(--pilots "$PILOTS")
LAYOUT=${LAYOUT:-file}
FORMAT=${FORMAT:-csv}
has_table() { [ -s "$1/responses.parquet" ] || [ -d "$1/responses" ]; }
rm -rf "$OUT"; mkdir -p "$OUT"
printf 'stage\texit\twall_s\tpeak_rss_mib\tns_per_row\n' > "$OUT/stages.tsv"

stage() {
  local name=$1; shift
  echo "== $name: $*" >&2
  (
    [ -n "${MEM_LIMIT_KB:-}" ] && ulimit -v "$MEM_LIMIT_KB"
    /usr/bin/time -v -o "$OUT/time-$name.txt" "$@"
  ) 2> "$OUT/log-$name.txt"
  local rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/time-$name.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/time-$name.txt")
  local ns
  ns=$(awk -v w="$wall" -v n="$N" 'BEGIN {printf "%.1f", w*1e9/n}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$wall" "$rss" "$ns" | tee -a "$OUT/stages.tsv" >&2
  tail -3 "$OUT/log-$name.txt" >&2
  return $rc
}

stage generate "$SIPAS" generate --responses "$N" --seed "${SEED:-1}" --instrument sipas-2023 "${DOMAIN[@]}" \
    --out "$OUT/data/responses.$FORMAT" &&
  stage ingest "$SIPAS" ingest "$OUT/data/responses.$FORMAT" "${DOMAIN[@]}" --layout "$LAYOUT" --out "$OUT/ingest"
[ -z "${KEEP:-}" ] && rm -f "$OUT/data/responses.$FORMAT"
has_table "$OUT/ingest" &&
  stage clean "$SIPAS" clean --data "$OUT/ingest" "${DOMAIN[@]}" --layout "$LAYOUT" --out "$OUT/clean"
has_table "$OUT/clean" &&
  stage aggregate "$SIPAS" aggregate --data "$OUT/clean" "${DOMAIN[@]}" --out "$OUT/results" &&
  stage report "$SIPAS" report --results "$OUT/results" "${DOMAIN[@]}" --out "$OUT/report"
column -t "$OUT/stages.tsv"
du -sh "$OUT"/* 2>/dev/null
if [ -z "${KEEP:-}" ]; then rm -rf "$OUT"/ingest/responses.parquet "$OUT"/clean/responses.parquet "$OUT"/ingest/responses "$OUT"/clean/responses; fi
