#!/usr/bin/env python3
"""Rust cells: azq (kernel + the azq-rust companion) against evcxr_jupyter 0.22 in the same
run, measured from the client side with jupyter_client, printed as ratios (anchor / azq, so
above 1 means azq is faster).

  start         spawn -> kernel ready (kernel_info_reply and an IOPub message), measured as
                bench/kernel_bench.py does (launch_kernel, sockets polled directly)
  first cell    `let x = 40 + 2; x` sent right after ready -> execute_reply and idle
  start+first   start plus first cell: what a user waits from opening the notebook
  next cell     `x + 1`, median of 5
  new variable  `let vN = x + N; vN`, a cell that declares a variable, median of 5
  rss           resident memory 2 s after ready and 2 s after the first cell, kernel and
                companion (with its evaluation process) apart

evcxr_jupyter is installed with `cargo install evcxr_jupyter@0.22.0 --locked` (EVCXR_JUPYTER
names the binary; the default is where `make bench` puts it). Each round starts fresh kernels
of both, alternately, so a machine's load falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from kernel_bench import Probe

ROOT = Path(__file__).resolve().parent.parent
AZQ = Path(os.environ.get("AZQ_BIN", ROOT / "target/release/azq"))
EVCXR = Path(
    os.environ.get(
        "EVCXR_JUPYTER", Path.home() / ".cache/azq/anchors/evcxr/bin/evcxr_jupyter"
    )
)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid: int) -> int:
    return rss_kib(pid) + sum(tree_rss_kib(c) for c in children(pid))


def register(prefix: Path) -> None:
    """Kernelspecs for both kernels in a private JUPYTER_PATH."""
    specs = {
        "azq-bench": [str(AZQ), "kernel", "--connection-file", "{connection_file}"],
        "evcxr-bench": [str(EVCXR), "--control_file", "{connection_file}"],
    }
    for name, argv in specs.items():
        d = prefix / "kernels" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": name, "language": "rust", "interrupt_mode": "message"})
        )
    os.environ["JUPYTER_PATH"] = str(prefix)


def one_round(kernel: str) -> dict:
    probe = Probe(kernel)
    start = probe.ready_s
    pid = probe.pid()
    probe.drain(2)
    idle_before = rss_kib(pid), sum(tree_rss_kib(c) for c in children(pid))
    # A first cell includes the companion's start (azq) or nothing more (evcxr_jupyter).
    first = probe.execute("let x = 40 + 2; x", deadline_s=300) / 1000
    nxt = [probe.execute("x + 1") / 1000 for _ in range(5)]
    new = [probe.execute(f"let v{i} = x + {i}; v{i}") / 1000 for i in range(5)]
    probe.drain(2)
    idle_after = rss_kib(pid), sum(tree_rss_kib(c) for c in children(pid))
    probe.close()
    return {
        "start": start,
        "first": first,
        "start+first": start + first,
        "next": statistics.median(nxt),
        "new variable": statistics.median(new),
        "rss before": idle_before,
        "rss after": idle_after,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for binary in (AZQ, AZQ.parent / "azq-rust", EVCXR):
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing (make rust; cargo install evcxr_jupyter@0.22.0 --locked)")
    register(Path(tempfile.mkdtemp(prefix="azq-rust-bench-")))
    rounds = {"azq-bench": [], "evcxr-bench": []}
    for _ in range(args.rounds):
        for kernel in rounds:
            rounds[kernel].append(one_round(kernel))
    med = {
        k: {m: statistics.median(r[m] for r in rs) for m in ("start", "first", "start+first", "next", "new variable")}
        for k, rs in rounds.items()
    }
    print(f"Rust cells, {args.rounds} fresh kernels each, medians (anchor / azq: above 1 is azq faster)")
    print(f"{'metric':<14}{'azq':>12}{'evcxr_jupyter':>16}{'ratio':>9}")
    ratios = {}
    for m in ("start", "first", "start+first", "next", "new variable"):
        a, e = med["azq-bench"][m], med["evcxr-bench"][m]
        ratios[m] = e / a
        print(f"{m:<14}{a * 1000:>10.0f}ms{e * 1000:>14.0f}ms{e / a:>8.2f}x")
    for label, key in (("idle RSS before the first cell", "rss before"), ("idle RSS after it", "rss after")):
        a = rounds["azq-bench"][-1][key]
        e = rounds["evcxr-bench"][-1][key]
        print(
            f"{label}: azq kernel {a[0] / 1024:.1f} MiB + companion {a[1] / 1024:.1f} MiB; "
            f"evcxr_jupyter {e[0] / 1024:.1f} MiB + child {e[1] / 1024:.1f} MiB"
        )
    cells = ("first", "next", "new variable")
    worst = min(cells, key=lambda m: ratios[m])
    print(f"worst Rust-cell ratio: {worst} {ratios[worst]:.2f}x; start {ratios['start']:.0f}x; start+first {ratios['start+first']:.2f}x")


if __name__ == "__main__":
    main()
