"""The emulator's data dir: killing it with SIGKILL during a burst of job submissions and
restarting it on the same directory loses no job it acknowledged; credentials survive too,
and secrets in the data dir are private to the user."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
import time
import uuid

import requests

GHZ = '{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}'


def start(azq_bin, data_dir):
    proc = subprocess.Popen(
        [str(azq_bin), "emulator", "--port", "0", "--data-dir", str(data_dir), "--job-delay-ms", "50"],
        stdout=subprocess.PIPE, text=True,
    )
    url = proc.stdout.readline().strip().removeprefix("listening on ")
    cs = proc.stdout.readline().strip().partition("=")[2]
    fields = dict(p.split("=", 1) for p in cs.strip(";").split(";"))
    ws = f"{url}/subscriptions/{fields['SubscriptionId']}/resourceGroups/{fields['ResourceGroupName']}/providers/Microsoft.Quantum/workspaces/{fields['WorkspaceName']}"
    return proc, ws, fields["ApiKey"]


def submit(session, ws, key):
    job_id = str(uuid.uuid4())
    h = {"x-ms-quantum-api-key": key}
    sas = session.post(f"{ws}/storage/sasUri?api-version=2026-01-15-preview", json={"containerName": f"job-{job_id}"}, headers=h, timeout=5).json()["sasUri"]
    base, query = sas.split("?")
    blob = f"{base}/inputData?{query}"
    session.put(blob, data=GHZ, headers={"x-ms-blob-type": "BlockBlob", "content-type": "application/json"}, timeout=5).raise_for_status()
    body = {"id": job_id, "name": "burst", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Job",
            "containerUri": sas, "inputDataUri": blob, "inputDataFormat": "ionq.circuit.v1", "inputParams": {"shots": 10}}
    r = session.put(f"{ws}/jobs/{job_id}?api-version=2026-01-15-preview", json=body, headers=h, timeout=5)
    r.raise_for_status()
    return job_id


def test_sigkill_during_a_burst_loses_no_acknowledged_job(azq_bin, tmp_path):
    proc, ws, key = start(azq_bin, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()

    def burst():
        s = requests.Session()
        while not stop.is_set():
            try:
                acknowledged.append(submit(s, ws, key))
            except requests.RequestException:
                return

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 150

    proc, ws2, key2 = start(azq_bin, tmp_path)
    try:
        assert key2 == key, "the API key survives a restart"
        h = {"x-ms-quantum-api-key": key2}
        s = requests.Session()
        for job_id in acknowledged:
            r = s.get(f"{ws2}/jobs/{job_id}?api-version=2026-01-15-preview", headers=h, timeout=5)
            assert r.status_code == 200, job_id
        # Jobs the kill interrupted run to the end after the restart.
        deadline = time.monotonic() + 30
        while True:
            statuses = {s.get(f"{ws2}/jobs/{j}?api-version=2026-01-15-preview", headers=h, timeout=5).json()["status"] for j in acknowledged}
            if statuses == {"Succeeded"} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert statuses == {"Succeeded"}
    finally:
        proc.terminate()
        proc.wait()
    mode = stat.S_IMODE(os.stat(tmp_path / "credentials.json").st_mode)
    assert mode == 0o600
    assert not list(tmp_path.glob("*.partial"))
    json.loads((tmp_path / "state.json").read_text())
