#!/usr/bin/env python3
"""Simulator suite: azq against Qiskit Aer, qulacs and qsim (qsimcirq), one thread each, in
the same run, on the circuits people run: random circuits with 10% and 40% two-qubit gates,
quantum-volume-like layers, QFT (controlled phases as CX + RZ), GHZ and Grover (a Toffoli
ladder with ancillas), at 20, 24 and 26 qubits, 1000 shots, every qubit measured.

Each circuit is built once as a list of gates and handed to each simulator in its own form
(OpenQASM 2 for azq, QuantumCircuit for Aer, a qulacs circuit, a cirq circuit for qsim).
Times (ms, median of --repeat runs at 20 and 24 qubits, one run of each anchor at 26;
azq, a fresh process each run, takes at least 5 runs everywhere, since on a VM the first touch
of fresh memory varies by up to half a second from run to run):
- azq: what `azq simulate --json` reports for simulating and sampling (parsing excluded),
  `--threads 1`, double and `--precision single`;
- Aer 0.18: `AerSimulator(method="statevector", max_parallel_threads=1)`, `.run().result()`
  on a built circuit (its own fusion on), double;
- qulacs 0.6: `update_quantum_state` then `sampling(1000)` with OMP_NUM_THREADS=1, double;
- qsim 0.22 (qsimcirq): `QSimSimulator({"t": 1, "f": 4}).run(circuit, repetitions=1000)`,
  float32 (its only precision), its 4-qubit fusion, translation from cirq included.

Prints one table and the worst ratio for each target; `--markdown` prints it as markdown and
`--write-readme` also puts it in bench/README.md (between its sim-suite markers), as
`make bench` does. `--threads-check` adds azq with 2 threads at 24 and 26 qubits."""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # qulacs and Aer's OpenMP: one thread

import numpy as np  # noqa: E402

# --- circuits: lists of (name, qubits, params) -------------------------------------------


def random_circuit(n: int, two: float, seed: int = 7) -> list:
    rng = np.random.RandomState(seed + n + int(two * 100))
    gates = [("h", (q,), ()) for q in range(n)]
    while len(gates) < 10 * n:
        a = int(rng.randint(n))
        if rng.uniform() < two:
            b = int(rng.randint(n - 1))
            gates.append(("cx", (a, b + (b >= a)), ()))
        else:
            kind = ["h", "rx", "ry", "rz"][rng.randint(4)]
            gates.append((kind, (a,), () if kind == "h" else (float(rng.uniform(0, 2 * math.pi)),)))
    return gates


def qv_circuit(n: int, depth: int = 10, seed: int = 11) -> list:
    """Quantum-volume-like: each layer pairs the qubits at random and applies a random
    two-qubit unitary to each pair, as 3 CX and 4 U gates (7 gates a pair)."""
    rng = np.random.RandomState(seed + n)
    gates = []
    for _ in range(depth):
        perm = rng.permutation(n)
        for i in range(0, n - 1, 2):
            a, b = int(perm[i]), int(perm[i + 1])
            u = lambda q: ("u", (q,), tuple(float(x) for x in rng.uniform(0, 2 * math.pi, 3)))  # noqa: E731
            gates += [u(a), u(b), ("cx", (a, b), ()), u(a), ("cx", (b, a), ()), u(b), ("cx", (a, b), ())]
    return gates


def qft_circuit(n: int) -> list:
    gates = []
    for j in range(n - 1, -1, -1):
        gates.append(("h", (j,), ()))
        for k in range(j - 1, -1, -1):
            t = math.pi / 2 ** (j - k)
            gates += [("rz", (k,), (t / 2,)), ("cx", (k, j), ()), ("rz", (j,), (-t / 2,)),
                      ("cx", (k, j), ()), ("rz", (j,), (t / 2,))]
    for q in range(n // 2):
        a, b = q, n - 1 - q
        gates += [("cx", (a, b), ()), ("cx", (b, a), ()), ("cx", (a, b), ())]
    # Start from a basis state other than |0…0⟩ so the transform has work to do.
    return [("x", (q,), ()) for q in range(0, n, 3)] + gates


def ghz_circuit(n: int) -> list:
    return [("h", (0,), ())] + [("cx", (q, q + 1), ()) for q in range(n - 1)]


def grover_circuit(n: int, iterations: int = 3) -> list:
    """Grover's search over d = n//2 + 1 data qubits with d - 2 ancillas for the Toffoli
    ladder of the many-controlled Z; `iterations` rounds (the full count would take hours
    at 26 qubits on the slower simulators)."""
    d = n // 2 + 1
    data, anc = list(range(d)), list(range(d, d + d - 2))
    marked = [(0x5A5A5A5A >> i) & 1 for i in range(d)]

    def mcz() -> list:
        g, t = [], data[-1]
        ladder = [("ccx", (data[0], data[1], anc[0]), ())]
        for i in range(2, d - 1):
            ladder.append(("ccx", (data[i], anc[i - 2], anc[i - 1]), ()))
        g += ladder
        g += [("h", (t,), ()), ("cx", (anc[d - 3], t), ()), ("h", (t,), ())]
        g += ladder[::-1]
        return g

    gates = [("h", (q,), ()) for q in data]
    for _ in range(iterations):
        flips = [("x", (q,), ()) for q, bit in zip(data, marked) if not bit]
        gates += flips + mcz() + flips
        gates += [("h", (q,), ()) for q in data] + [("x", (q,), ()) for q in data]
        gates += mcz()
        gates += [("x", (q,), ()) for q in data] + [("h", (q,), ()) for q in data]
    return gates


SUITE = {
    "random 10%": lambda n: random_circuit(n, 0.1),
    "random 40%": lambda n: random_circuit(n, 0.4),
    "QV-like d10": qv_circuit,
    "QFT": qft_circuit,
    "GHZ": ghz_circuit,
    "Grover x3": grover_circuit,
}

# --- each simulator -----------------------------------------------------------------------


def to_qasm(n: int, gates: list) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for name, qs, ps in gates:
        p = f"({','.join(repr(x) for x in ps)})" if ps else ""
        lines.append(f"{name}{p} {', '.join(f'q[{q}]' for q in qs)};")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def time_azq(azq: str, n: int, gates: list, repeat: int, *extra: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".qasm", delete=False) as f:
        f.write(to_qasm(n, gates))
    try:
        times = []
        for i in range(repeat):
            out = subprocess.run([azq, "simulate", f.name, "--shots", "1000", "--seed", str(i), "--json", *extra],
                                 capture_output=True, text=True, check=True)
            times.append(json.loads(out.stdout)["elapsed_ms"])
        return statistics.median(times)
    finally:
        os.unlink(f.name)


def time_aer(n: int, gates: list, repeat: int) -> float:
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    qc = QuantumCircuit(n, n)
    for name, qs, ps in gates:
        getattr(qc, name)(*ps, *qs)
    qc.measure(range(n), range(n))
    sim = AerSimulator(method="statevector", max_parallel_threads=1)
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        sim.run(qc, shots=1000, seed_simulator=i).result()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def time_qulacs(n: int, gates: list, repeat: int) -> float:
    from qulacs import QuantumCircuit, QuantumState
    from qulacs import gate as G

    c = QuantumCircuit(n)
    for name, qs, ps in gates:
        if name == "h":
            c.add_H_gate(qs[0])
        elif name == "x":
            c.add_X_gate(qs[0])
        elif name == "cx":
            c.add_CNOT_gate(qs[0], qs[1])
        elif name == "ccx":
            c.add_gate(G.TOFFOLI(qs[0], qs[1], qs[2]))
        elif name == "u":
            c.add_U3_gate(qs[0], *ps)
        else:  # rx, ry, rz: qulacs' angle sign is the opposite of Qiskit's
            getattr(c, f"add_{name.upper()}_gate")(qs[0], -ps[0])
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        s = QuantumState(n)
        c.update_quantum_state(s)
        s.sampling(1000)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def time_qsim(n: int, gates: list, repeat: int) -> float:
    import cirq
    import qsimcirq

    q = cirq.LineQubit.range(n)
    ops = []
    for name, qs, ps in gates:
        if name == "h":
            ops.append(cirq.H(q[qs[0]]))
        elif name == "x":
            ops.append(cirq.X(q[qs[0]]))
        elif name == "cx":
            ops.append(cirq.CNOT(q[qs[0]], q[qs[1]]))
        elif name == "ccx":
            ops.append(cirq.CCX(q[qs[0]], q[qs[1]], q[qs[2]]))
        elif name == "u":
            t, p, l = ps
            ops += [cirq.rz(l)(q[qs[0]]), cirq.ry(t)(q[qs[0]]), cirq.rz(p)(q[qs[0]])]
        else:
            ops.append(getattr(cirq, name)(ps[0])(q[qs[0]]))
    circuit = cirq.Circuit(ops, cirq.measure(*q, key="m"))
    sim = qsimcirq.QSimSimulator(qsim_options={"t": 1, "f": 4})
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sim.run(circuit, repetitions=1000)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qubits", type=int, nargs="+", default=[20, 24, 26])
    ap.add_argument("--circuits", nargs="+", default=list(SUITE), choices=list(SUITE))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only-azq", action="store_true", help="time azq alone (for tuning)")
    ap.add_argument("--azq-args", default="", help="extra arguments for azq simulate")
    ap.add_argument("--threads-check", action="store_true", help="azq with 2 threads at 24 and 26 qubits too")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--write-readme", action="store_true",
                    help="put the table (markdown) between the sim-suite markers in bench/README.md")
    args = ap.parse_args()
    azq = os.environ.get("AZQ_BIN", "target/release/azq")
    extra = args.azq_args.split()
    rows = []
    for name in args.circuits:
        for n in args.qubits:
            gates = SUITE[name](n)
            # Fewer repeats of the anchors at 26 qubits (minutes each); azq takes at least 5.
            r = args.repeat if n < 26 else max(1, args.repeat // 3)
            row = {"circuit": name, "qubits": n, "gates": len(gates)}
            ra = max(r, 5)
            row["azq"] = time_azq(azq, n, gates, ra, "--threads", "1", *extra)
            row["azq single"] = time_azq(azq, n, gates, ra, "--threads", "1", "--precision", "single", *extra)
            if args.threads_check and n >= 24:
                row["azq 2 threads"] = time_azq(azq, n, gates, ra, "--threads", "2", *extra)
            if not args.only_azq:
                row["Aer"] = time_aer(n, gates, r)
                row["qulacs"] = time_qulacs(n, gates, r)
                row["qsim"] = time_qsim(n, gates, r)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    cols = ["azq", "azq single"] + (["azq 2 threads"] if args.threads_check else [])
    if not args.only_azq:
        cols += ["Aer", "qulacs", "qsim"]
    ratios = []
    if not args.only_azq:
        ratios = [("Aer / azq (≥ 2)", "Aer", "azq"), ("qsim / azq single (≥ 0.67)", "qsim", "azq single"),
                  ("qulacs / azq (> 1)", "qulacs", "azq")]
    if args.threads_check:
        ratios.append(("1 thread / 2 threads (≥ 1.7, 24+)", "azq", "azq 2 threads"))
    if args.write_readme:
        args.markdown = True
        out = io.StringIO()
        real_stdout, sys.stdout = sys.stdout, out
    sep = " | " if args.markdown else "  "
    head = ["circuit", "qubits", "gates"] + [f"{c} ms" for c in cols] + [r[0] for r in ratios]
    print(f"load average {os.getloadavg()[0]:.2f}; 1000 shots; one thread unless said")
    if args.markdown:
        print()
    print(("| " if args.markdown else "") + sep.join(head) + (" |" if args.markdown else ""))
    if args.markdown:
        print("|" + "---|" * len(head))
    for row in rows:
        cells = [row["circuit"], str(row["qubits"]), str(row["gates"])]
        cells += [f"{row[c]:.1f}" if c in row else "-" for c in cols]
        cells += [f"{row[a] / row[b]:.2f}x" if a in row and b in row else "-" for _, a, b in ratios]
        print(("| " if args.markdown else "") + sep.join(cells) + (" |" if args.markdown else ""))
    for label, a, b in ratios:
        got = [(row[a] / row[b], row["circuit"], row["qubits"]) for row in rows if a in row and b in row]
        if got:
            w = min(got)
            if args.markdown and label == ratios[0][0]:
                print()
            print(f"{'- ' if args.markdown else ''}worst {label}: {w[0]:.2f}x ({w[1]}, {w[2]} qubits)")
    if args.write_readme:
        sys.stdout = real_stdout
        table = out.getvalue()
        print(table)
        readme = Path(__file__).with_name("README.md")
        text = readme.read_text()
        start, end = "<!-- sim-suite -->", "<!-- /sim-suite -->"
        if start not in text or end not in text:
            print(f"bench/README.md has no {start} … {end} section; the table is above", file=sys.stderr)
            return 1
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        stamp = time.strftime("%Y-%m-%d")
        new = f"{head}{start}\n{stamp}, `{' '.join(sys.argv[1:])}`:\n\n{table}{end}{tail}"
        tmp = readme.with_suffix(".md.new")
        tmp.write_text(new)
        tmp.replace(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
