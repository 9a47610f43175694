#!/usr/bin/env bash
# National scale: many units. Writes a synthetic list of U units (codes 10000…, 100 districts,
# `xa` kind) and a pilot list of U/100 of them (start 2024Q1), then runs generate (CSV) → ingest
# → clean → aggregate at N responses through benches/scale.sh (each stage under /usr/bin/time -v).
#
#   bash benches/units.sh N U          # issue 18's target: N = 10000000, U = 10000
#
# Environment: as benches/scale.sh (OUT defaults to bench-data/units-U-N).
set -euo pipefail
N=${1:?usage: bash benches/units.sh N U}
U=${2:?usage: bash benches/units.sh N U}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIST="$ROOT/bench-data/units-$U"
mkdir -p "$LIST"
awk -v u="$U" 'BEGIN {
  print "code,name,kind,district_code,district_name"
  for (i = 0; i < u; i++) {
    d = i % 100
    printf "%05d,Xã Thử Nghiệm %d,xa,%03d,Huyện Thử Nghiệm %d\n", 10000 + i, i, 100 + d, d
  }
}' > "$LIST/units.csv"
awk -v u="$U" 'BEGIN {
  print "program = \"synthetic national pilot\""
  print "start = \"2024Q1\""
  printf "units = ["
  n = int(u / 100); if (n < 1) n = 1
  for (k = 0; k < n; k++) printf "%s\"%05d\"", (k ? ", " : ""), 10000 + k * int(u / n)
  print "]"
}' > "$LIST/pilots.toml"
OUT=${OUT:-$ROOT/bench-data/units-$U-$N} UNITS="$LIST/units.csv" PILOTS="$LIST/pilots.toml" \
  bash "$HERE/scale.sh" "$N"
