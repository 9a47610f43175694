#!/usr/bin/env bash
# Draws docs/progress.svg: what `sipas run` shows on a terminal while it works.
#
#   docs/progress.sh [N] [SIPAS_BINARY] [OUT_SVG]
#
# The bundled demo job (fixtures/demo/job.toml) runs with N generated responses: generate,
# ingest, clean, aggregate and report, inside a pseudo-terminal (`script`, util-linux) of 140 × 30 so that
# sipas draws its progress bars. The session is replayed by docs/progress_svg.py, a small
# terminal emulator, and the last frame that still shows a progress bar (the stage lines so far
# and the running bar) is written as an SVG. Defaults: N = 200000, target/debug/sipas (a debug
# build runs that in about a minute), docs/progress.svg. For the README picture at full scale:
#
#   cargo build --release && docs/progress.sh 10000000 target/release/sipas
#
# Needs bash, script (util-linux) and python3 (standard library only).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-200000}"
bin="$(realpath "${2:-$here/../target/debug/sipas}")"
out="$(realpath -m "${3:-$here/progress.svg}")"
[[ -x "$bin" ]] || { echo "no sipas binary at $bin (cargo build first)" >&2; exit 2; }
[[ "$n" =~ ^[0-9]+$ ]] || { echo "N must be a number of responses, got $n" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The bundled demo job (real response styles, codes as offices typed them, the crosswalk onto
# today's units), with N responses.
sed "s/^responses = .*/responses = $n/" "$here/../fixtures/demo/job.toml" > "$work/job.toml"

cd "$work"
# A fixed-size terminal; `script -T` records when each chunk was written, so the replay can
# stop at any moment. The exit code of sipas is kept (1 = rows set aside is fine here).
set +e
COLUMNS=140 LINES=30 script -q -e -T timing.log -c \
  "stty cols 140 rows 30; '$bin' run job.toml -o out" session.log >/dev/null
code=$?
set -e
if [[ $code -gt 1 ]]; then
  echo "sipas run failed (exit $code); its output:" >&2
  cat session.log >&2
  exit "$code"
fi
python3 "$here/progress_svg.py" session.log timing.log "$out" --cols 140 \
  --title "sipas run (N = $n responses)"
echo "wrote $out" >&2
