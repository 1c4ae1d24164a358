"""azq's simulator against Qiskit as an oracle: every program in circuits/tests/corpus has
the same exact outcome distribution (to 1e-9) from `azq simulate --exact` as from Qiskit's
own gate definitions, with measurements, resets and conditions followed branch by branch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from qiskit import qasm2
from qiskit.circuit import IfElseOp
from qiskit.quantum_info import Operator

CORPUS = sorted((Path(__file__).resolve().parent.parent / "circuits" / "tests" / "corpus").glob("*.qasm"))


def qiskit_distribution(text: str) -> dict[str, float]:
    circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    n = circuit.num_qubits
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    start = np.zeros(2**n, dtype=complex)
    start[0] = 1
    branches = [(start, [0] * circuit.num_clbits, 1.0)]

    def apply(state, op, qubits):
        # Qiskit's operator for the gate, on the given qubits (little-endian, like azq).
        mat = Operator(op).data
        k = len(qubits)
        psi = state.reshape([2] * n)
        axes = [n - 1 - q for q in qubits]
        psi = np.moveaxis(psi, axes[::-1], range(k))
        shape = psi.shape
        psi = (mat @ psi.reshape(2**k, -1)).reshape(shape)
        psi = np.moveaxis(psi, range(k), axes[::-1])
        return psi.reshape(-1)

    def project(state, q, value):
        idx = np.arange(state.size)
        keep = ((idx >> q) & 1) == value
        out = np.where(keep, state, 0)
        p = float(np.vdot(out, out).real)
        return (out / np.sqrt(p), p) if p > 1e-14 else (None, 0.0)

    def run(instructions, qmap, branches):
        for inst in instructions:
            op = inst.operation
            qs = [qmap[q] for q in inst.qubits]
            new = []
            for state, bits, p in branches:
                if op.name == "barrier":
                    new.append((state, bits, p))
                elif op.name in ("measure", "reset"):
                    for value in (0, 1):
                        s2, pv = project(state, qs[0], value)
                        if s2 is None:
                            continue
                        b2 = list(bits)
                        if op.name == "measure":
                            b2[cindex[inst.clbits[0]]] = value
                        elif value == 1:
                            s2 = apply(s2, Operator([[0, 1], [1, 0]]), [qs[0]])
                        new.append((s2, b2, p * pv))
                elif isinstance(op, IfElseOp):
                    reg, target = op.condition
                    bits_of = [cindex[c] for c in (reg if hasattr(reg, "__len__") else [reg])]
                    value = sum(bits[b] << i for i, b in enumerate(bits_of))
                    body = op.blocks[0]
                    if value == target:
                        inner = {bq: qmap[oq] for bq, oq in zip(body.qubits, inst.qubits)}
                        new.extend(run(body.data, inner, [(state, bits, p)]))
                    else:
                        new.append((state, bits, p))
                else:
                    new.append((apply(state, op, qs), bits, p))
            branches = new
        return branches

    branches = run(circuit.data, qindex, branches)
    dist: dict[str, float] = {}
    for _, bits, p in branches:
        label = " ".join(
            "".join(str(bits[cindex[c]]) for c in reversed(list(reg))) for reg in reversed(circuit.cregs)
        )
        dist[label] = dist.get(label, 0.0) + p
    return dist


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_probabilities_agree_with_qiskit(azq_bin, path: Path):
    text = path.read_text()
    expected = qiskit_distribution(text)
    out = subprocess.run([str(azq_bin), "simulate", str(path), "--exact", "--json"], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)["probabilities"]
    for label in set(expected) | set(got):
        assert abs(expected.get(label, 0.0) - got.get(label, 0.0)) < 1e-9, f"{path.name} {label}: qiskit {expected.get(label)} azq {got.get(label)}"
    assert abs(sum(got.values()) - 1) < 1e-9


def test_sampling_matches_the_distribution(azq_bin):
    path = next(p for p in CORPUS if p.name == "teleport.qasm")
    out = subprocess.run([str(azq_bin), "simulate", str(path), "--shots", "20000", "--seed", "3", "--json"], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout)["counts"]
    expected = qiskit_distribution(path.read_text())
    for label, p in expected.items():
        assert abs(counts.get(label, 0) / 20000 - p) < 0.02
