"""azq's simulator against Qiskit as an oracle: every program in circuits/tests/corpus has
the same exact outcome distribution from `azq simulate --exact` as from Qiskit's own gate
definitions (to 1e-9 in double precision, 1e-5 in single), with measurements, resets and
conditions followed branch by branch. Both `--exact` and `--statevector` run the plan shots
use (gates fused into blocks, vectorised passes); the final state of every corpus program
without mid-circuit operations, and of random circuits of every gate kind at 10%, 50% and 90%
multi-qubit gates, must equal Qiskit's statevector to 1e-9 (1e-5 single) up to a global
phase."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from qiskit import qasm2
from qiskit.circuit import IfElseOp
from qiskit.quantum_info import Operator, Statevector

# The tolerance each precision is held to.
PRECISIONS = {"double": 1e-9, "single": 1e-5}

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


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_probabilities_agree_with_qiskit(azq_bin, path: Path, precision: str):
    text = path.read_text()
    expected = qiskit_distribution(text)
    tol = PRECISIONS[precision]
    out = subprocess.run([str(azq_bin), "simulate", str(path), "--exact", "--json", "--precision", precision],
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)["probabilities"]
    for label in set(expected) | set(got):
        assert abs(expected.get(label, 0.0) - got.get(label, 0.0)) < tol, f"{path.name} {label}: qiskit {expected.get(label)} azq {got.get(label)}"
    assert abs(sum(got.values()) - 1) < tol


def test_sampling_matches_the_distribution(azq_bin):
    path = next(p for p in CORPUS if p.name == "teleport.qasm")
    out = subprocess.run([str(azq_bin), "simulate", str(path), "--shots", "20000", "--seed", "3", "--json"], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout)["counts"]
    expected = qiskit_distribution(path.read_text())
    for label, p in expected.items():
        assert abs(counts.get(label, 0) / 20000 - p) < 0.02


def azq_statevector(azq_bin, text: str, precision: str = "double") -> np.ndarray:
    out = subprocess.run([str(azq_bin), "simulate", "-", "--statevector", "--precision", precision], input=text,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return np.array([complex(re, im) for re, im in json.loads(out.stdout)["amplitudes"]])


def qiskit_statevector(text: str) -> np.ndarray:
    circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    circuit.remove_final_measurements()
    return Statevector(circuit).data  # little-endian, as azq


def assert_same_state(got: np.ndarray, want: np.ndarray, what: str, tol: float = 1e-9):
    assert got.shape == want.shape, what
    # The same state up to a global phase (OpenQASM's and Qiskit's rz differ by one).
    k = int(np.argmax(np.abs(want)))
    phase = got[k] / want[k]
    assert abs(abs(phase) - 1) < tol, f"{what}: norms differ"
    worst = float(np.max(np.abs(got - phase * want)))
    assert worst < tol, f"{what}: amplitudes differ by {worst}"


def unitary_then_measured(path: Path) -> bool:
    """A corpus program whose only non-gate operations are final measurements."""
    circuit = qasm2.loads(path.read_text(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    if any(inst.operation.name == "reset" or isinstance(inst.operation, IfElseOp) for inst in circuit.data):
        return False
    circuit.remove_final_measurements()
    return not any(inst.operation.name == "measure" for inst in circuit.data)


UNITARY = [p for p in CORPUS if unitary_then_measured(p)]


def test_most_of_the_corpus_is_compared_by_state():
    assert len(UNITARY) >= len(CORPUS) // 2, (len(UNITARY), len(CORPUS))


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("path", UNITARY, ids=[p.name for p in UNITARY])
def test_fast_path_state_agrees_with_qiskit(azq_bin, path: Path, precision: str):
    text = path.read_text()
    assert_same_state(azq_statevector(azq_bin, text, precision), qiskit_statevector(text), path.name,
                      PRECISIONS[precision])


# Every gate of qelib1.inc: (name, parameters, qubits).
GATES = [
    ("u3", 3, 1), ("u2", 2, 1), ("u1", 1, 1), ("cx", 0, 2), ("id", 0, 1), ("u0", 1, 1), ("u", 3, 1), ("p", 1, 1),
    ("x", 0, 1), ("y", 0, 1), ("z", 0, 1), ("h", 0, 1), ("s", 0, 1), ("sdg", 0, 1), ("sx", 0, 1), ("sxdg", 0, 1),
    ("t", 0, 1), ("tdg", 0, 1), ("rx", 1, 1), ("ry", 1, 1), ("rz", 1, 1), ("swap", 0, 2), ("cswap", 0, 3),
    ("crx", 1, 2), ("cry", 1, 2), ("crz", 1, 2), ("cu1", 1, 2), ("cu3", 3, 2), ("csx", 0, 2), ("cu", 4, 2),
    ("rxx", 1, 2), ("rzz", 1, 2), ("rccx", 0, 3), ("rc3x", 0, 4), ("c3x", 0, 4), ("c3sqrtx", 0, 4), ("c4x", 0, 5),
    ("ccx", 0, 3), ("ch", 0, 2), ("cp", 1, 2), ("cy", 0, 2), ("cz", 0, 2),
]


def random_circuit(rng: random.Random, qubits: int, gates: int, multi: float) -> str:
    ones = [g for g in GATES if g[2] == 1]
    many = [g for g in GATES if 1 < g[2] <= qubits]
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{qubits}];", f"creg c[{qubits}];"]
    for _ in range(gates):
        name, np_, nq = rng.choice(many if rng.random() < multi else ones)
        # u0's parameter counts idle periods: an integer.
        values = [str(rng.randint(0, 3)) if name == "u0" else f"{rng.uniform(-7, 7):.6f}" for _ in range(np_)]
        params = "(" + ", ".join(values) + ")" if np_ else ""
        on = ", ".join(f"q[{i}]" for i in rng.sample(range(qubits), nq))
        lines.append(f"{name}{params} {on};")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("multi", [0.1, 0.5, 0.9])
def test_fast_path_state_agrees_with_qiskit_on_random_circuits(azq_bin, multi, precision):
    rng = random.Random(f"azq-{multi}")
    seen = set()
    for k in range(12):
        text = random_circuit(rng, qubits=3 + k % 4, gates=60, multi=multi)
        seen |= {line.split("(")[0].split(" ")[0] for line in text.splitlines()[4:-1]}
        assert_same_state(azq_statevector(azq_bin, text, precision), qiskit_statevector(text),
                          f"random circuit {k} ({multi:.0%} multi-qubit):\n{text}", PRECISIONS[precision])
    if multi == 0.5:
        assert seen >= {g[0] for g in GATES}, {g[0] for g in GATES} - seen


def test_statevector_refuses_what_has_no_single_state(azq_bin):
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nh q[0];\nreset q[0];\n'
    out = subprocess.run([str(azq_bin), "simulate", "-", "--statevector"], input=text, capture_output=True, text=True)
    assert out.returncode != 0 and "reset" in out.stderr
