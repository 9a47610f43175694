#!/usr/bin/env python3
"""Replays a `script -T` session through a minimal terminal and writes one frame as SVG.

    progress_svg.py SESSION TIMING OUT.svg [--title T] [--cols 110] [--rows 30]

The frame is the last one that shows a progress bar ("[===>  ]" or a rate "…/s"); without
any, the final screen. Handles what indicatif and sipas write: printable text, CR, LF, BS,
CSI cursor moves (A B C D G H), erase (K J), SGR colours; other sequences are skipped.
"""
import argparse
import html
import re

PALETTE = {30: "#2e3436", 31: "#ef2929", 32: "#8ae234", 33: "#fce94f", 34: "#729fcf",
           35: "#ad7fa8", 36: "#34e2e2", 37: "#eeeeec", 90: "#888a85", 91: "#ef2929",
           92: "#8ae234", 93: "#fce94f", 94: "#729fcf", 95: "#ad7fa8", 96: "#34e2e2",
           97: "#ffffff"}
FG = "#d3d7cf"
BG = "#1e1e1e"


class Screen:
    def __init__(self, cols, rows):
        self.cols, self.rows = cols, rows
        self.cells = [[(" ", FG)] * cols for _ in range(rows)]
        self.r = self.c = 0
        self.fg = FG

    def scroll(self):
        self.cells.pop(0)
        self.cells.append([(" ", FG)] * self.cols)
        self.r = self.rows - 1

    def put(self, ch):
        if self.c >= self.cols:
            self.c = 0
            self.r += 1
            if self.r >= self.rows:
                self.scroll()
        self.cells[self.r][self.c] = (ch, self.fg)
        self.c += 1

    def csi(self, params, final):
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params else []
        n = nums[0] if nums and nums[0] else 1
        if final == "A":
            self.r = max(0, self.r - n)
        elif final == "B":
            self.r = min(self.rows - 1, self.r + n)
        elif final == "C":
            self.c = min(self.cols - 1, self.c + n)
        elif final == "D":
            self.c = max(0, self.c - n)
        elif final == "G":
            self.c = min(self.cols - 1, n - 1)
        elif final == "H":
            self.r = min(self.rows - 1, (nums[0] if nums else 1) - 1 if nums and nums[0] else 0)
            self.c = min(self.cols - 1, (nums[1] - 1) if len(nums) > 1 and nums[1] else 0)
        elif final == "K":
            mode = nums[0] if nums else 0
            row = self.cells[self.r]
            span = {0: range(self.c, self.cols), 1: range(0, self.c + 1), 2: range(self.cols)}
            for i in span.get(mode, []):
                row[i] = (" ", FG)
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                self.csi("0", "K")
                for r in range(self.r + 1, self.rows):
                    self.cells[r] = [(" ", FG)] * self.cols
            elif mode in (2, 3):
                self.cells = [[(" ", FG)] * self.cols for _ in range(self.rows)]
        elif final == "m":
            for v in nums or [0]:
                if v in (0, 39):
                    self.fg = FG
                elif v in PALETTE:
                    self.fg = PALETTE[v]

    def feed(self, text):
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = re.match(r"\x1b\[([0-9;?]*)([@-~])", text[i:])
                if m:
                    self.csi(m.group(1), m.group(2))
                    i += m.end()
                    continue
                m = re.match(r"\x1b[\]P][^\x07\x1b]*(\x07|\x1b\\)?", text[i:])
                i += m.end() if m else 2
                continue
            if ch == "\r":
                self.c = 0
            elif ch == "\n":
                self.r += 1
                if self.r >= self.rows:
                    self.scroll()
            elif ch == "\b":
                self.c = max(0, self.c - 1)
            elif ch >= " ":
                self.put(ch)
            i += 1

    def lines(self):
        return ["".join(ch for ch, _ in row).rstrip() for row in self.cells]

    def snapshot(self):
        return [list(row) for row in self.cells]


def has_bar(lines):
    return any(re.search(r"\[[=> ]{5,}\]|\d/s", line) for line in lines)


def svg(cells, title, font=14):
    cw, lh = font * 0.6, font * 1.35
    used = [i for i, row in enumerate(cells) if "".join(c for c, _ in row).strip()]
    last = (used[-1] + 1) if used else 1
    cols = max((len("".join(c for c, _ in row).rstrip()) for row in cells), default=1)
    width = int(cols * cw + 32)
    top = 40
    height = int(top + last * lh + 16)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
           f'font-size="{font}">',
           f'<rect width="100%" height="100%" rx="8" fill="{BG}"/>',
           '<circle cx="18" cy="16" r="5" fill="#ff5f56"/><circle cx="36" cy="16" r="5" fill="#ffbd2e"/>'
           '<circle cx="54" cy="16" r="5" fill="#27c93f"/>',
           f'<text x="{width / 2:.0f}" y="21" fill="#999" text-anchor="middle">{html.escape(title)}</text>']
    for r, row in enumerate(cells[:last]):
        y = top + (r + 1) * lh - lh * 0.25
        spans, cur, buf = [], None, ""
        text = "".join(c for c, _ in row).rstrip()
        for ch, color in row[:len(text)]:
            if color != cur and buf:
                spans.append((cur, buf))
                buf = ""
            cur = color
            buf += ch
        if buf:
            spans.append((cur, buf))
        if not spans:
            continue
        parts = "".join(f'<tspan fill="{c}">{html.escape(t)}</tspan>' for c, t in spans)
        out.append(f'<text x="16" y="{y:.1f}" xml:space="preserve">{parts}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("session")
    ap.add_argument("timing")
    ap.add_argument("out")
    ap.add_argument("--title", default="sipas run")
    ap.add_argument("--cols", type=int, default=110)
    ap.add_argument("--rows", type=int, default=30)
    a = ap.parse_args()
    data = open(a.session, "rb").read()
    # `script` writes a "Script started …" header line that the timing file does not count.
    if data.startswith(b"Script started"):
        data = data[data.index(b"\n") + 1:]
    chunks = []
    for line in open(a.timing):
        parts = line.split()
        if len(parts) == 2:  # classic format: delay bytes
            chunks.append(int(parts[1]))
    screen = Screen(a.cols, a.rows)
    pos, best = 0, None
    dec = __import__("codecs").getincrementaldecoder("utf-8")("replace")
    for size in chunks or [len(data)]:
        screen.feed(dec.decode(data[pos:pos + size]))
        pos += size
        if has_bar(screen.lines()):
            best = screen.snapshot()
    screen.feed(dec.decode(data[pos:], final=True))
    frame = best if best is not None else screen.snapshot()
    open(a.out, "w", encoding="utf-8").write(svg(frame, a.title))


if __name__ == "__main__":
    main()
