"""The official azure-quantum SDK, unmodified, runs a whole session against the emulator in
proxy mode (HTTPS_PROXY to the emulator, its CA trusted): once with the API-key connection
string the emulator prints, once with a service principal of the emulator's Entra ID.
Results are the simulator's, not canned."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from emulator_helpers import through_proxy

SECRET = "sp-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def emulator(azq_bin):
    proc = subprocess.Popen(
        [str(azq_bin), "emulator", "--tls", "--port", "0", "--job-delay-ms", "20", "--client-secret", SECRET],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = {}
    deadline = time.monotonic() + 20
    while len(lines) < 6 and time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if line.startswith("listening on "):
            lines["url"] = line.removeprefix("listening on ")
        elif "=" in line:
            key, _, value = line.partition("=")
            lines[key] = value
    assert len(lines) == 6, f"emulator did not start: {lines} {proc.stderr.read() if proc.poll() is not None else ''}"
    with through_proxy(lines):
        yield lines
    proc.terminate()
    proc.wait(timeout=10)


def workspace_with_key(lines):
    from azure.quantum import Workspace

    return Workspace.from_connection_string(lines["AZURE_QUANTUM_CONNECTION_STRING"])


def workspace_with_principal(lines):
    from azure.identity import ClientSecretCredential
    from azure.quantum import Workspace

    cs = dict(p.split("=", 1) for p in lines["AZURE_QUANTUM_CONNECTION_STRING"].strip(";").split(";"))
    credential = ClientSecretCredential(lines["AZURE_TENANT_ID"], lines["AZURE_CLIENT_ID"], SECRET)
    return Workspace(
        subscription_id=cs["SubscriptionId"], resource_group=cs["ResourceGroupName"], name=cs["WorkspaceName"],
        location="westus", credential=credential,
    )


GHZ = {"qubits": 3, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}, {"gate": "cnot", "control": 0, "target": 2}]}
BELL_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
ry(1.2) q[0];
cx q[0], q[1];
measure q -> c;
"""


@pytest.mark.parametrize("connect", [workspace_with_key, workspace_with_principal], ids=["api-key", "service-principal"])
def test_scripted_sdk_session(emulator, connect):
    ws = connect(emulator)
    targets = {t.name for t in ws.get_targets()}
    assert {"ionq.simulator", "quantinuum.sim.h2-1e", "rigetti.sim.qvm"} <= targets

    ionq = ws.get_targets("ionq.simulator")
    job = ionq.submit(GHZ, name="azq-ghz", shots=100)
    job.wait_until_completed(timeout_secs=60)
    assert job.details.status == "Succeeded"
    histogram = job.get_results()["histogram"]
    assert set(histogram) == {"0", "7"} and abs(histogram["0"] - 0.5) < 1e-9

    quantinuum = ws.get_targets("quantinuum.sim.h2-1e")
    qjob = quantinuum.submit(BELL_QASM, name="azq-bell", shots=400)
    qjob.wait_until_completed(timeout_secs=60)
    results = qjob.get_results()
    shots = results["c"]
    assert len(shots) == 400 and set(shots) <= {"00", "11"}
    ones = shots.count("11") / 400
    assert 0.2 < ones < 0.45, ones  # sin²(0.6) ≈ 0.32: simulated, not canned

    fetched = ws.get_job(job.id)
    assert fetched.details.name == "azq-ghz" and fetched.details.status == "Succeeded"
    listed = ws.list_jobs(name_match="azq-", status=["Succeeded"])
    assert {job.id, qjob.id} <= {j.id for j in listed}
    assert all(j.details.status == "Succeeded" for j in listed)

    slow = ionq.submit(GHZ, name="azq-to-cancel", shots=10)
    ws.cancel_job(slow)
    assert ws.get_job(slow.id).details.status in ("Cancelled", "Succeeded")

    quotas = ws.get_quotas()
    assert any(q["dimension"] == "qgs" for q in quotas)

    with ionq.open_session(name="azq-session") as session:
        sjob = ionq.submit(GHZ, name="in-session", shots=10)
        sjob.wait_until_completed(timeout_secs=60)
        assert sjob.details.session_id == session.id
    assert ws.get_session(session.id).details.status in ("Succeeded", "Executing")
    assert sjob.id in {j.id for j in ws.list_session_jobs(session.id)}


def test_only_azure_hosts_are_proxied(emulator):
    import requests

    proxies = {"https": emulator["HTTPS_PROXY"], "http": emulator["HTTPS_PROXY"]}
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", proxies=proxies, timeout=5)
    r = requests.get("http://example.com/", proxies=proxies, timeout=5)
    assert r.status_code == 403
