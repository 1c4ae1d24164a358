"""The emulator runs each job on a thread budget (`--job-threads`, by default the cores shared
among `--max-running-jobs`): while a large job executes, the emulator has exactly that many
simulator threads (named `azq-sim-N`), and none with a budget of one. Bad budgets are refused
at start with the flag named."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
import requests

from emulator_helpers import start_emulator

API = "api-version=2026-01-15-preview"


def big_circuit(qubits: int) -> str:
    """Enough work that a job takes a moment: layers of H and CNOT over every qubit (at
    least 13 qubits, so no CNOT has its control as its target)."""
    gates = []
    for layer in range(12):
        gates += [{"gate": "h" if layer % 2 else "rx", "target": q, **({} if layer % 2 else {"rotation": 0.3})} for q in range(qubits)]
        gates += [{"gate": "cnot", "control": q, "target": (q + 1 + layer) % qubits} for q in range(qubits)]
    return json.dumps({"qubits": qubits, "circuit": gates})


def workspace(lines: dict) -> tuple[str, str]:
    fields = dict(p.split("=", 1) for p in lines["AZURE_QUANTUM_CONNECTION_STRING"].strip(";").split(";"))
    ws = (f"{lines['url']}/subscriptions/{fields['SubscriptionId']}/resourceGroups/{fields['ResourceGroupName']}"
          f"/providers/Microsoft.Quantum/workspaces/{fields['WorkspaceName']}")
    return ws, fields["ApiKey"]


def submit(ws: str, key: str, program: str) -> str:
    s, h = requests.Session(), {"x-ms-quantum-api-key": key}
    job_id = str(uuid.uuid4())
    sas = s.post(f"{ws}/storage/sasUri?{API}", json={"containerName": f"job-{job_id}"}, headers=h, timeout=5).json()["sasUri"]
    base, query = sas.split("?")
    blob = f"{base}/inputData?{query}"
    s.put(blob, data=program, headers={"x-ms-blob-type": "BlockBlob", "content-type": "application/json"},
          timeout=5).raise_for_status()
    body = {"id": job_id, "name": "big", "providerId": "ionq", "target": "ionq.qpu", "itemType": "Job",
            "containerUri": sas, "inputDataUri": blob, "inputDataFormat": "ionq.circuit.v1", "inputParams": {"shots": 10}}
    s.put(f"{ws}/jobs/{job_id}?{API}", json=body, headers=h, timeout=5).raise_for_status()
    return job_id


def sim_threads(pid: int) -> int:
    names = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sum(n.startswith("azq-sim-") for n in names)


@pytest.mark.parametrize("budget, expected", [("1", 0), ("3", 3)])
def test_a_job_runs_on_its_thread_budget(azq_bin, budget, expected):
    proc, lines = start_emulator(azq_bin, "--job-delay-ms", "0", "--job-threads", budget, "--max-running-jobs", "1",
                                 until="AZURE_QUANTUM_CONNECTION_STRING")
    try:
        ws, key = workspace(lines)
        job_id = submit(ws, key, big_circuit(22))
        seen, status = set(), None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = requests.get(f"{ws}/jobs/{job_id}?{API}", headers={"x-ms-quantum-api-key": key}, timeout=5).json()["status"]
            if status == "Executing":
                seen.add(sim_threads(proc.pid))
            if status in ("Succeeded", "Failed", "Cancelled"):
                break
            time.sleep(0.02)
        assert status == "Succeeded", status
        assert seen, "the job was never seen executing"
        assert max(seen) == expected, seen
    finally:
        proc.kill()
        proc.wait()


def test_a_job_over_the_emulators_size_fails_clearly(azq_bin):
    """The emulator bounds each job at 26 qubits (1 GiB), whatever memory the machine has: a
    27-qubit job fails at once with the limit named, and the emulator goes on."""
    proc, lines = start_emulator(azq_bin, "--job-delay-ms", "0", until="AZURE_QUANTUM_CONNECTION_STRING")
    try:
        ws, key = workspace(lines)
        job_id = submit(ws, key, json.dumps({"qubits": 27, "circuit": [{"gate": "h", "target": 26}]}))
        deadline, job = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            job = requests.get(f"{ws}/jobs/{job_id}?{API}", headers={"x-ms-quantum-api-key": key}, timeout=5).json()
            if job["status"] in ("Succeeded", "Failed", "Cancelled"):
                break
            time.sleep(0.05)
        assert job["status"] == "Failed", job
        assert "at most 26" in json.dumps(job.get("errorData")), job.get("errorData")
        ok = submit(ws, key, json.dumps({"qubits": 2, "circuit": [{"gate": "h", "target": 0},
                                                                  {"gate": "cnot", "control": 0, "target": 1}]}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = requests.get(f"{ws}/jobs/{ok}?{API}", headers={"x-ms-quantum-api-key": key}, timeout=5).json()["status"]
            if status == "Succeeded":
                break
            time.sleep(0.05)
        assert status == "Succeeded"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("args, flag", [(["--job-threads", "0"], "--job-threads"),
                                        (["--max-running-jobs", "0"], "--max-running-jobs"),
                                        (["--job-threads", "many"], "--job-threads")])
def test_bad_budgets_are_refused(azq_bin, args, flag):
    r = subprocess.run([str(azq_bin), "emulator", "--port", "0", *args], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert flag in r.stderr and "panicked" not in r.stderr, r.stderr
