#!/usr/bin/env bash
# What fresh memory costs on this machine: allocates M MiB (default 4096), touches one byte per
# 4 KiB page, frees it, then does the same again in the same process. On a VM the first touch
# can cost far more than the second (the host backs each new page), and every large table
# sipas builds pays it. Needs a C compiler (`cc`).
#
#   bash benches/first_touch.sh [M]
set -euo pipefail
M=${1:-4096}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/t.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double touch(size_t n) {
  double a = now(); volatile char *p = malloc(n); if (!p) exit(1);
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  double b = now(); free((void *)p); return b - a;
}
int main(int argc, char **argv) {
  size_t n = (size_t)atol(argv[1]) << 20;
  double first = touch(n), again = touch(n);
  printf("%s MiB: first touch %.3f s (%.2f s/GiB), again %.3f s (%.2f s/GiB)\n", argv[1], first,
         first * 1024.0 / atol(argv[1]), again, again * 1024.0 / atol(argv[1]));
  return 0;
}
C
cc -O2 -o "$DIR/t" "$DIR/t.c"
"$DIR/t" "$M"
