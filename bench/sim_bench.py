#!/usr/bin/env python3
"""Simulator benchmark: azq against Qiskit Aer's statevector method, one thread each, in
the same run, on the same random circuits (n qubits, 200 gates: n H gates, then a seeded
mix of H/RX/RY/RZ and CX with CX at 20% (the old default), 10%, 50% and 90% of the gates),
all qubits measured, 1000 shots. Rows are printed worst ratio first: two-qubit-heavy
circuits are where gate fusion helps least.

azq time is what `azq simulate --json` reports for simulating and sampling (parsing
excluded); Aer time is the wall time of `AerSimulator.run(...).result()` on an already
built circuit (parsing and transpiling excluded). Medians of --repeat runs."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from qiskit import qasm2
from qiskit_aer import AerSimulator


def random_circuit(n: int, gates: int = 200, seed: int = 1234, cx: float = 0.2) -> str:
    rng = np.random.RandomState(seed + n + int(cx * 1000))
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    lines += [f"h q[{i}];" for i in range(n)]
    for _ in range(gates - n):
        a = int(rng.randint(n))
        if rng.uniform() < cx:
            b = int(rng.randint(n - 1))
            b += b >= a
            lines.append(f"cx q[{a}], q[{b}];")
            continue
        kind = rng.choice(["h", "rx", "ry", "rz"])
        if kind == "h":
            lines.append(f"h q[{a}];")
        else:
            lines.append(f"{kind}({rng.uniform(0, 6.283):.6f}) q[{a}];")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def time_azq(azq: str, path: str, repeat: int) -> float:
    times = []
    for i in range(repeat):
        out = subprocess.run([azq, "simulate", path, "--shots", "1000", "--seed", str(i), "--json"],
                             capture_output=True, text=True, check=True)
        times.append(json.loads(out.stdout)["elapsed_ms"])
    return statistics.median(times)


def time_aer(text: str, repeat: int) -> float:
    circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    sim = AerSimulator(method="statevector", max_parallel_threads=1)
    sim.run(circuit, shots=10).result()  # warm-up
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        sim.run(circuit, shots=1000, seed_simulator=i).result()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qubits", type=int, nargs="+", default=[20, 24, 26])
    ap.add_argument("--cx", type=float, nargs="+", default=[0.2, 0.1, 0.5, 0.9], help="fractions of two-qubit gates")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    azq = os.environ.get("AZQ_BIN", "target/release/azq")
    rows = []
    for cx in args.cx:
        for n in args.qubits:
            text = random_circuit(n, cx=cx)
            with tempfile.NamedTemporaryFile("w", suffix=".qasm", delete=False) as f:
                f.write(text)
            try:
                repeat = args.repeat if n <= 24 else max(1, args.repeat // 2)
                a = time_azq(azq, f.name, repeat)
                b = time_aer(text, repeat)
            finally:
                os.unlink(f.name)
            rows.append((b / a, cx, n, a, b))
    rows.sort()
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores); 200 gates, 1000 shots, one thread, median of {args.repeat}")
    print(f"worst ratio: {rows[0][0]:.2f}x ({rows[0][2]} qubits, {rows[0][1]:.0%} CX)")
    print(f"{'CX':>4} {'qubits':>6} {'azq ms':>10} {'Aer ms':>10} {'azq faster by':>14}")
    for ratio, cx, n, a, b in rows:
        print(f"{cx:>4.0%} {n:>6} {a:>10.1f} {b:>10.1f} {ratio:>13.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
