#!/usr/bin/env python3
"""`%azure.connect` benchmark: azq against ipykernel running the official SDK, in the same run,
on the same emulator (`azq emulator --tls`, reached by both through its HTTPS proxy at the real
host names, with its CA trusted), each timed from execute_request to IOPub idle.

  warm    one kernel, already connected once: azq `%azure.connect connectionString="…"` against
          ipykernel `ws = Workspace.from_connection_string(cs); ws.get_targets()` (a fresh
          Workspace each time, as a user re-running the cell gets)
  status  bare `%azure.connect` (shows the connection and targets; no sign-in, no request)
  cold    a fresh kernel per run: start (Popen of the kernelspec's argv, ready when
          kernel_info is answered and IOPub talks) + the first connect cell; for ipykernel the
          cell also imports azure.quantum, as a notebook's first cell does
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_bench import Probe, pct  # noqa: E402

AZQ = os.environ.get("AZQ_BIN", str(Path(__file__).resolve().parent.parent / "target" / "release" / "azq"))


def start_emulator(tmp: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([AZQ, "emulator", "--port", "0", "--tls", "--data-dir", tmp], stdout=subprocess.PIPE, text=True)
    lines = {}
    while "SSL_CERT_FILE" not in lines:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator did not start")
        k, _, v = line.strip().partition("=")
        lines[k] = v
    return proc, lines


def summary(values: list[float]) -> dict:
    return {"p50": statistics.median(values), "p90": pct(values, 90), "min": min(values), "max": max(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50, help="warm repetitions")
    ap.add_argument("--cold", type=int, default=7, help="fresh kernels per side")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="azq-bench-")
    proc, lines = start_emulator(tmp)
    cs = lines["AZURE_QUANTUM_CONNECTION_STRING"]
    # Both kernels inherit these: the proxy, and the emulator's CA for Rust (SSL_CERT_FILE)
    # and for Python's requests (REQUESTS_CA_BUNDLE).
    os.environ.update(HTTPS_PROXY=lines["HTTPS_PROXY"], SSL_CERT_FILE=lines["SSL_CERT_FILE"],
                      REQUESTS_CA_BUNDLE=lines["SSL_CERT_FILE"], HOME=tmp)
    os.environ.pop("NO_PROXY", None)
    azq_cell = f'%azure.connect connectionString="{cs}"'
    sdk_setup = "from azure.quantum import Workspace"
    sdk_cell = f'ws = Workspace.from_connection_string("{cs}")\ntargets = ws.get_targets()\nassert len(targets) > 0'
    try:
        results = {}
        for name, kernel, setup, cell in (("azq", "azq", None, azq_cell), ("ipykernel+SDK", "python3", sdk_setup, sdk_cell)):
            p = Probe(kernel)
            if setup:
                p.execute(setup)
            for _ in range(5):
                p.execute(cell)
            warm = [p.execute(cell) for _ in range(args.n)]
            status = [p.execute("%azure.connect") for _ in range(args.n)] if kernel == "azq" else None
            p.close()
            cold = []
            for _ in range(args.cold):
                t0 = time.perf_counter()
                q = Probe(kernel)
                if setup:
                    q.execute(setup + "\n" + cell)
                else:
                    q.execute(cell)
                cold.append((time.perf_counter() - t0) * 1000)
                q.close()
            results[name] = {"warm": summary(warm), "cold": summary(cold), "status": status and summary(status)}
    finally:
        proc.terminate()
        proc.wait()
    a, b = results["azq"], results["ipykernel+SDK"]
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores); {args.n} warm repetitions, {args.cold} cold kernels each")
    print(f"{'metric':<36} {'azq':>10} {'ipykernel+SDK':>14} {'azq better by':>14}")
    for label, key, stat in (("warm connect + targets p50", "warm", "p50"), ("warm connect + targets p90", "warm", "p90"),
                             ("cold start + connect p50", "cold", "p50"), ("cold start + connect max", "cold", "max")):
        x, y = a[key][stat], b[key][stat]
        print(f"{label:<36} {x:>8.2f}ms {y:>12.2f}ms {y / x:>13.1f}x")
    s = a["status"]
    print(f"{'azq bare %azure.connect (status)':<36} p50 {s['p50']:.3f} ms, p90 {s['p90']:.3f} ms, max {s['max']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
