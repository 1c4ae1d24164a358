#!/usr/bin/env python3
"""Runs a notebook headless on the azq kernel with nbclient and prints each cell with its
outputs as text, as a reader of the notebook would see them. Exits non-zero on an error."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text_of(output: dict) -> str:
    kind = output["output_type"]
    if kind == "stream":
        return output["text"]
    if kind == "error":
        return ANSI.sub("", "\n".join(output["traceback"])) + "\n"
    data = output.get("data", {})
    for mime in ("text/plain", "text/markdown"):
        if mime in data:
            return data[mime] + ("" if data[mime].endswith("\n") else "\n")
    return f"[{', '.join(data)}]\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--save", type=Path, help="write the executed notebook here")
    parser.add_argument("--kernel", default="azq")
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=120, allow_errors=False)
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    for n, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        print(f"In [{cell.get('execution_count') or ' '}]: " + cell.source.replace("\n", "\n        "))
        for output in cell.get("outputs", []):
            print("    " + text_of(output).rstrip("\n").replace("\n", "\n    "))
        print()
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, args.save)
        print(f"executed notebook saved to {args.save}")
    if failed is not None:
        print(f"a cell failed: {str(failed).splitlines()[-1] if str(failed) else failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
