#!/usr/bin/env python3
"""`%azure.connect` benchmark: azq against ipykernel running the official SDK, in the same run,
on the same emulator (`azq emulator --tls`, reached by both through its HTTPS proxy at the real
host names, with its CA trusted), each timed from execute_request to IOPub idle.

  warm    one kernel per side, already connected once, timed two ways each, interleaved
          (azq, SDK, azq, SDK, ...) so both see the same machine:
            reused  azq `%azure.connect connectionString="…"` (the session's HTTP client and
                    its kept-alive TLS connection); SDK `ws.get_targets()` on a Workspace made
                    in an earlier cell (its pipeline's pooled connection)
            fresh   azq: the same cell after an `%env` change that makes the session build a
                    new HTTP client (a new TLS connection); SDK: `Workspace.from_connection_string`
                    then `get_targets()` (what a user re-running the cell gets)
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
        results: dict = {"azq": {}, "ipykernel+SDK": {}}
        azq = Probe("azq")
        sdk = Probe("python3")
        sdk.execute(sdk_setup + "\n" + sdk_cell)
        variants = {
            ("azq", "reused"): (azq, lambda i: azq_cell),
            ("azq", "fresh"): (azq, lambda i: f"%env NO_PROXY=fresh-{i}.invalid\n{azq_cell}"),
            ("ipykernel+SDK", "reused"): (sdk, lambda i: "targets = ws.get_targets()\nassert len(targets) > 0"),
            ("ipykernel+SDK", "fresh"): (sdk, lambda i: sdk_cell),
        }
        times: dict = {k: [] for k in variants}
        for i in range(5):
            for probe, cell in variants.values():
                probe.execute(cell(-1 - i))
        for i in range(args.n):
            for key, (probe, cell) in variants.items():
                times[key].append(probe.execute(cell(i)))
        status = [azq.execute("%azure.connect") for _ in range(args.n)]
        azq.close()
        sdk.close()
        for (side, how), values in times.items():
            results[side][how] = summary(values)
        results["azq"]["status"] = summary(status)
        # Cold: a fresh kernel per run, alternating sides.
        cold: dict = {"azq": [], "ipykernel+SDK": []}
        for _ in range(args.cold):
            for name, kernel, setup, cell in (("azq", "azq", None, azq_cell), ("ipykernel+SDK", "python3", sdk_setup, sdk_cell)):
                t0 = time.perf_counter()
                q = Probe(kernel)
                q.execute(setup + "\n" + cell if setup else cell)
                cold[name].append((time.perf_counter() - t0) * 1000)
                q.close()
        for name, values in cold.items():
            results[name]["cold"] = summary(values)
    finally:
        proc.terminate()
        proc.wait()
    a, b = results["azq"], results["ipykernel+SDK"]
    rows = []
    for label, key, stat in (("warm reused p50", "reused", "p50"), ("warm reused p90", "reused", "p90"),
                             ("warm fresh p50", "fresh", "p50"), ("warm fresh p90", "fresh", "p90"),
                             ("cold start + connect p50", "cold", "p50"), ("cold start + connect max", "cold", "max")):
        rows.append((b[key][stat] / a[key][stat], label, a[key][stat], b[key][stat]))
    # Like with like: azq fresh against SDK fresh, reused against reused; and the worst first.
    worst = min(rows)
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores); {args.n} warm repetitions interleaved, {args.cold} cold kernels each")
    print(f"worst ratio: {worst[0]:.1f}x ({worst[1]})")
    print(f"{'metric':<36} {'azq':>10} {'ipykernel+SDK':>14} {'azq better by':>14}")
    for ratio, label, x, y in rows:
        print(f"{label:<36} {x:>8.2f}ms {y:>12.2f}ms {ratio:>13.1f}x")
    print(f"{'azq fresh vs SDK reused p50':<36} {a['fresh']['p50']:>8.2f}ms {b['reused']['p50']:>12.2f}ms {b['reused']['p50'] / a['fresh']['p50']:>13.1f}x")
    s = a["status"]
    print(f"{'azq bare %azure.connect (status)':<36} p50 {s['p50']:.3f} ms, p90 {s['p90']:.3f} ms, max {s['max']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
