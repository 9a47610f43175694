#!/usr/bin/env bash
# Spark local[2] vs sipas on the same period-partitioned response table: the unit × period,
# group and estimate tables (sipas: `aggregate --engine local`; Spark: `aggregate --engine spark`,
# the SQL of `sipas sql` through PySpark), wall time and the peak of the summed RSS of the whole
# process tree (for Spark: sipas, Python and the JVM), then checks that both unit_period.csv are
# identical. Each command's standard error is kept in $DATA/log-NAME.txt.
#
#   bash benches/spark/run.sh N            # N responses (e.g. 1000000)
#
# Needs: a release build (cargo build --release), Java 17, and PySpark in $SIPAS_PYTHON
# (default ~/.cache/sipas/venv-spark/bin/python, as .ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:?usage: run.sh N}"
PROFILE="${PROFILE:-release}"
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/sipas"
export SIPAS_PYTHON="${SIPAS_PYTHON:-$HOME/.cache/sipas/venv-spark/bin/python}"
DATA="bench-data/spark/$N"
mkdir -p "$DATA"
if [ ! -d "$DATA/clean" ]; then
    "$BIN" -q generate --responses "$N" --seed 1 --out "$DATA/responses.parquet"
    "$BIN" -q ingest "$DATA/responses.parquet" --out "$DATA/ingest" --layout period || true
    "$BIN" -q clean --data "$DATA/ingest" --out "$DATA/clean" --layout period || true
fi
# Peak of the summed RSS of a process and all its descendants (sipas → python → the JVM that
# PySpark starts, which GNU time does not see: it is not waited for by the command), sampled
# every 0.2 s from /proc until the process ends. Prints KiB.
tree_peak() {
    local root="$1" peak=0 sum
    while kill -0 "$root" 2>/dev/null; do
        sum=$(ps -e -o pid=,ppid=,rss= | awk -v root="$root" '
            { parent[$1] = $2; rss[$1] = $3 }
            END {
                for (p in rss) {
                    q = p
                    while (q != "" && q != 0 && q != root) q = parent[q]
                    if (q == root) total += rss[p]
                }
                print total + 0
            }')
        [ "$sum" -gt "$peak" ] && peak=$sum
        sleep 0.2
    done
    echo "$peak"
}
run() {
    local name="$1"; shift
    rm -rf "$DATA/out-$name"
    local start end pid kb
    start=$(date +%s.%N)
    "$@" > /dev/null 2> "$DATA/log-${name//[^a-z0-9]/_}.txt" &
    pid=$!
    kb=$(tree_peak "$pid")
    wait "$pid" || true
    end=$(date +%s.%N)
    printf '%-22s %8.2f s  %8.1f MiB peak RSS (process tree)\n' "$name" \
        "$(echo "$end - $start" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}
echo "N = $N responses (partitioned by period), $(nproc) cores"
run sipas "$BIN" -q aggregate --data "$DATA/clean" --out "$DATA/out-sipas"
run "spark local[2]" "$BIN" -q aggregate --data "$DATA/clean" --out "$DATA/out-spark" \
    --engine spark --spark-master 'local[2]'
# The same numbers: unit_period.csv of both engines (6 decimals) must be identical.
if cmp -s "$DATA/out-sipas/unit_period.csv" "$DATA/out-spark/unit_period.csv"; then
    echo "unit_period.csv: identical"
else
    echo "unit_period.csv: DIFFERENT" >&2
    exit 1
fi
