#!/usr/bin/env python3
"""Rust cells: azq (kernel + the azq-rust companion) against evcxr_jupyter 0.22 in the same
run, measured from the client side with jupyter_client, printed as ratios (anchor / azq, so
above 1 means azq is faster).

  start         KernelManager.start_kernel -> kernel ready (kernel_info_reply and IOPub)
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

from jupyter_client.manager import KernelManager

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


def execute(kc, code: str, timeout: float = 300) -> float:
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: None)
    took = time.perf_counter() - t
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"{code!r} failed: {reply['content']}")
    return took


def one_round(kernel: str) -> dict:
    km = KernelManager(kernel_name=kernel)
    t = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    start = time.perf_counter() - t
    pid = km.provisioner.process.pid
    time.sleep(2)
    idle_before = rss_kib(pid), sum(tree_rss_kib(c) for c in children(pid))
    first = execute(kc, "let x = 40 + 2; x")
    nxt = [execute(kc, "x + 1") for _ in range(5)]
    new = [execute(kc, f"let v{i} = x + {i}; v{i}") for i in range(5)]
    time.sleep(2)
    idle_after = rss_kib(pid), sum(tree_rss_kib(c) for c in children(pid))
    kc.stop_channels()
    km.shutdown_kernel(now=True)
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
