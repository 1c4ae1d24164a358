"""The official azure-quantum SDK, unmodified, runs a whole session against the emulator in
proxy mode (HTTPS_PROXY to the emulator, its CA trusted): once with the API-key connection
string the emulator prints, once with a service principal of the emulator's Entra ID.
Results are the simulator's, not canned."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid

import pytest

from emulator_helpers import through_proxy

SECRET = "sp-" + uuid.uuid4().hex


@contextlib.contextmanager
def tls_emulator(azq_bin, job_delay_ms: int):
    proc = subprocess.Popen(
        [str(azq_bin), "emulator", "--tls", "--port", "0", "--job-delay-ms", str(job_delay_ms), "--client-secret", SECRET],
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
    try:
        with through_proxy(lines):
            yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def emulator(azq_bin):
    with tls_emulator(azq_bin, 20) as lines:
        yield lines


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

    quotas = ws.get_quotas()
    assert any(q["dimension"] == "qgs" for q in quotas)

    with ionq.open_session(name="azq-session") as session:
        sjob = ionq.submit(GHZ, name="in-session", shots=10)
        sjob.wait_until_completed(timeout_secs=60)
        assert sjob.details.session_id == session.id
    # Its one job had finished when the session closed.
    assert ws.get_session(session.id).details.status == "Succeeded"
    assert sjob.id in {j.id for j in ws.list_session_jobs(session.id)}


@pytest.mark.parametrize("connect", [workspace_with_key, workspace_with_principal], ids=["api-key", "service-principal"])
def test_the_sdk_cancels_a_waiting_job(azq_bin, connect):
    # The emulator's clock holds every job in Waiting for an hour: the cancel always lands
    # before the job runs, so there is one right answer.
    with tls_emulator(azq_bin, 3_600_000) as lines:
        ws = connect(lines)
        ionq = ws.get_targets("ionq.simulator")
        waiting = ionq.submit(GHZ, name="azq-to-cancel", shots=10)
        assert ws.get_job(waiting.id).details.status == "Waiting"
        ws.cancel_job(waiting)
        cancelled = ws.get_job(waiting.id).details
        assert cancelled.status == "Cancelled" and cancelled.cancellation_time is not None
        # A finished job cannot be cancelled again: the service says why.
        from azure.core.exceptions import HttpResponseError

        with pytest.raises(HttpResponseError) as refused:
            ws.cancel_job(waiting)
        assert refused.value.status_code == 409


def test_only_azure_hosts_are_proxied(emulator):
    import requests

    proxies = {"https": emulator["HTTPS_PROXY"], "http": emulator["HTTPS_PROXY"]}
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", proxies=proxies, timeout=5)
    r = requests.get("http://example.com/", proxies=proxies, timeout=5)
    assert r.status_code == 403
