#!/usr/bin/env python3
"""Runs a notebook headless on the azq kernel with nbclient and prints each cell with its
outputs as text, as a reader of the notebook would see them, then a one-screen summary.
Optionally writes the executed notebook and an HTML page of it. Exits non-zero on an error."""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
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


def summary(nb, seconds: float) -> str:
    """What ran, what it showed (by kind of output) and what failed, in a few lines."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    ran = [c for c in code if c.get("execution_count")]
    shown: collections.Counter[str] = collections.Counter()
    errors = []
    for cell in code:
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                errors.append(f"{output['ename']} in `{cell.source.splitlines()[0]}`")
            elif output["output_type"] == "stream":
                shown["text"] += 1
            else:
                data = output.get("data", {})
                kind = next((m for m in ("image/svg+xml", "text/html", "image/png", "text/markdown") if m in data),
                            "text/plain")
                shown[{"image/svg+xml": "SVG", "text/html": "HTML", "image/png": "PNG",
                       "text/markdown": "Markdown"}.get(kind, "text")] += 1
    lines = [f"Summary: {len(ran)} of {len(code)} code cells ran in {seconds:.1f} s; "
             + ", ".join(f"{n} {kind}" for kind, n in shown.most_common()) + " outputs."]
    lines += [f"  error: {e}" for e in errors] or ["  no errors."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--save", type=Path, help="write the executed notebook here")
    parser.add_argument("--html", type=Path, help="write the executed notebook as an HTML page here")
    parser.add_argument("--kernel", default="azq")
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=120, allow_errors=False)
    failed = None
    started = time.monotonic()
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
    seconds = time.monotonic() - started
    print(summary(nb, seconds))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, args.save)
        print(f"executed notebook saved to {args.save}")
    if args.html:
        from nbconvert import HTMLExporter

        args.html.parent.mkdir(parents=True, exist_ok=True)
        page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        args.html.write_text(page, encoding="utf-8")
        print(f"as a web page: {args.html}")
    if failed is not None:
        print(f"a cell failed: {str(failed).splitlines()[-1] if str(failed) else failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
