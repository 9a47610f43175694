#!/usr/bin/env python3
"""Executes every notebook in this folder in place of a person (nbclient), in the folder itself, and
fails on the first cell that raises. The executed copies go to OUT_DIR (default: ../out/notebooks);
the notebooks in the repository stay without outputs.

    python notebooks/run.py [NOTEBOOK ...]      # SIPAS_OUT, SIPAS_BENCH as the notebooks read them
"""
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
out_dir = Path(os.environ.get("OUT_DIR", HERE.parent / "out" / "notebooks"))
out_dir.mkdir(parents=True, exist_ok=True)
names = sys.argv[1:] or sorted(p.name for p in HERE.glob("*.ipynb"))
for name in names:
    path = HERE / name
    nb = nbformat.read(path, as_version=4)
    if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        sys.exit(f"{name}: stored with outputs; strip them before committing")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, out_dir / name)
    print(f"notebook {name}: ok ({len(nb.cells)} cells) → {out_dir / name}")
print(f"notebooks: all {len(names)} executed without error")
