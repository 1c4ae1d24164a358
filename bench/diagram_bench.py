#!/usr/bin/env python3
"""Circuit-diagram benchmark: a `%%qasm NAME` cell in azq (stores the program and shows it as
inline SVG and text art) against the same program drawn in ipykernel by Qiskit
(`qc = QuantumCircuit.from_qasm_str(src); display(qc.draw("text"))`, text only: Qiskit's
SVG-capable drawer needs matplotlib, which is not installed), in the same run, interleaved
(azq, Qiskit, azq, ...), each cell timed from execute_request to IOPub idle with the client of
`kernel_bench.py`. The drawing's size on the wire (the display's bytes) is printed too.

Circuits: a Bell pair; QFT on 20 qubits and a 16-qubit quantum-volume circuit (Qiskit's circuit
library, transpiled to {u, cx} and written as OpenQASM 2: published benchmark shapes); a random
2,000-gate circuit on 24 qubits (wider and longer than a screen: azq draws its first 500 columns
and says how many operations it left out, Qiskit draws all of it, so azq does less work there
and the row says so); and the largest: 50,000 gates on 64 qubits.

  AZQ_BIN=target/release/azq .venv/bin/python bench/diagram_bench.py [--n 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit, qasm2, transpile
from qiskit.circuit.library import QFTGate, quantum_volume

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_bench import Probe  # noqa: E402

AZQ = os.environ.get("AZQ_BIN", str(Path(__file__).resolve().parent.parent / "target" / "release" / "azq"))
KERNEL = "azq-diagram-bench"


def install_kernelspec(tmp: str) -> None:
    d = Path(tmp, "jupyter", "kernels", KERNEL)
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": [AZQ, "kernel", "--connection-file", "{connection_file}"],
        "display_name": "azq (diagram bench)", "language": "rust", "interrupt_mode": "message"}))
    os.environ["JUPYTER_PATH"] = str(Path(tmp, "jupyter"))


def library(circuit, basis=("u", "cx")) -> str:
    qc = transpile(circuit, basis_gates=list(basis), optimization_level=0, seed_transpiler=7)
    qc.measure_all()
    return qasm2.dumps(qc)


def random_circuit(n: int, gates: int, seed: int) -> str:
    rng = np.random.RandomState(seed)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for _ in range(gates):
        a = int(rng.randint(n))
        if rng.uniform() < 0.3:
            b = int(rng.randint(n - 1))
            b += b >= a
            lines.append(f"cx q[{a}], q[{b}];")
        else:
            kind = rng.choice(["h", "rx", "rz"])
            lines.append(f"h q[{a}];" if kind == "h" else f"{kind}({rng.uniform(0, 6.283):.4f}) q[{a}];")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def qft(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.append(QFTGate(n), range(n))
    return qc


def circuits() -> dict[str, str]:
    bell = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
    return {
        "bell (2q, 2 gates)": bell,
        "qft-20 (library)": library(qft(20)),
        "quantum-volume-16 (library)": library(quantum_volume(16, seed=11)),
        "random 24q x 2,000 gates": random_circuit(24, 2000, 5),
        "random 64q x 50,000 gates": random_circuit(64, 50_000, 9),
    }


def display_bytes(probe: Probe, code: str) -> int:
    """The bytes of the display_data / execute_result content the cell sent."""
    msg = probe.session.send(probe.shell, "execute_request", {
        "code": code, "silent": False, "store_history": False,
        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    size, idle = 0, False
    while not idle:
        for sock, _ in probe.poller.poll(timeout=60_000):
            _, frames = probe.session.feed_identities(sock.recv_multipart(), copy=True)
            m = probe.session.deserialize(frames, content=True)
            if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if m["msg_type"] in ("display_data", "execute_result"):
                size += len(json.dumps(m["content"]["data"]))
            if m["msg_type"] == "error":
                raise RuntimeError(m["content"]["evalue"])
            idle = m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
    return size


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=15, help="cells timed per circuit and kernel")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="azq-diagram-bench-")
    install_kernelspec(tmp)
    azq, py = Probe(KERNEL), Probe("python3")
    try:
        py.execute("from qiskit import QuantumCircuit\nfrom IPython.display import display", 120)
        print(f"{'circuit':32} {'azq p50 ms':>10} {'qiskit p50 ms':>13} {'ratio':>7} {'azq bytes':>10} {'qiskit bytes':>12}")
        worst = None
        for name, src in circuits().items():
            az_cell = f"%%qasm prog\n{src}"
            py_cell = f"qc = QuantumCircuit.from_qasm_str({src!r})\ndisplay(qc.draw('text', fold=100))"
            az_bytes, py_bytes = display_bytes(azq, az_cell), display_bytes(py, py_cell)
            a_times, p_times = [], []
            for _ in range(args.n):
                a_times.append(azq.execute(az_cell, 120))
                p_times.append(py.execute(py_cell, 600))
            a, p = statistics.median(a_times), statistics.median(p_times)
            ratio = p / a
            worst = ratio if worst is None else min(worst, ratio)
            print(f"{name:32} {a:10.1f} {p:13.1f} {ratio:6.1f}x {az_bytes:10,} {py_bytes:12,}")
        print(f"worst ratio (qiskit / azq): {worst:.1f}x")
    finally:
        azq.close()
        py.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
