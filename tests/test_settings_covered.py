"""Settings and behaviours that had no test of their own: workspace defaults from the
environment (AZURE_QUANTUM_* and IQ#'s IQSHARP_*), `tenant=` at sign-in, AZQ_CLIENT_ID for
device code, a session's job-failure policy in the emulator, and `%%bash` output reaching the
front end while the script still runs. Each is end to end, and each has a control that shows
the check can fail."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from emulator_helpers import Emulator, new_id
from test_connect import KEY, EmulatorLines, kernel, kernel_env, run


@pytest.fixture(scope="module")
def em(azq_bin):
    e = EmulatorLines(azq_bin)
    yield e
    e.close()


def requests_seen(em) -> list[dict]:
    r = requests.get(f"{em.url}/_emulator/requests", headers={"x-ms-quantum-api-key": KEY}, timeout=10)
    r.raise_for_status()
    body = r.json()
    return body["requests"] if isinstance(body, dict) else body


@pytest.mark.parametrize("prefix", ["AZURE_QUANTUM_", "IQSHARP_AZURE_QUANTUM_"])
def test_workspace_defaults_come_from_the_environment(em, tmp_path, prefix):
    # No location: ARM (the emulator) says where the workspace is, so nothing leaves loopback.
    names = {"SUBSCRIPTION_ID": em.sub, "WORKSPACE_RG": em.rg, "WORKSPACE_NAME": em.ws}
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal(), **{prefix + k: v for k, v in names.items()})
    with kernel(env) as kc:
        ran = run(kc, "%azure.connect credential=Environment")
        assert ran.error is None, ran.text()
        assert ran.result["data"]["text/plain"].startswith(f"Connected to Azure Quantum workspace {em.ws} in location westus")
    # Control: the variables are what named the workspace.
    env[prefix + "WORKSPACE_NAME"] = "no-such-workspace"
    with kernel(env) as kc:
        ran = run(kc, "%azure.connect credential=Environment")
        assert ran.error is not None and "no-such-workspace" in ran.error["evalue"], ran.text()


def test_tenant_argument_is_the_tenant_signed_in_to(em, tmp_path):
    other = str(uuid.uuid4())
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal())
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=Environment tenant={other}")
    token_paths = [r["path"] for r in requests_seen(em) if r["path"].endswith("/oauth2/v2.0/token")]
    assert f"/{other}/oauth2/v2.0/token" in token_paths, token_paths
    # The emulator knows the service principal in its own tenant only: another tenant refuses it.
    assert ran.error is not None and ran.error["ename"] == "AuthenticationFailed", ran.text()
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=Environment tenant={em.tenant}")
        assert ran.error is None, ran.text()


def test_azq_client_id_is_the_device_code_application(em, tmp_path):
    client = str(uuid.uuid4())
    cache = tmp_path / "cache"
    env = kernel_env(tmp_path, **em.endpoints(), AZQ_CLIENT_ID=client, AZURE_QUANTUM_TOKEN_CACHE=str(cache))

    def approve(m):
        text = json.dumps(m["content"])
        for word in text.replace("\\n", " ").split():
            code = word.strip(".,\"'`<>()")
            if len(code) >= 8 and code.isupper() and code.isalnum():
                try:
                    em.approve(code)
                except requests.HTTPError:
                    continue

    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=DeviceCode", on_msg=approve)
        assert ran.error is None, ran.text()
    assert cache.is_file(), "the device-code sign-in left no token cache"
    stored = cache.read_text()
    assert client in stored, "the token cache does not name the application that signed in"


def test_a_session_that_aborts_on_failure_fails_and_one_that_continues_does_not(azq_bin):
    """As recorded from the live service: Abort ends the session Failed; Continue keeps it
    open, marked `Failure(s)`."""
    em = Emulator(azq_bin)
    try:
        bad = '{"qubits": 1, "circuit": [{"gate": "no-such-gate", "target": 0}]}'
        for policy, after in (("Abort", "Failed"), ("Continue", "Failure(s)")):
            sid = new_id()
            opened = em.call("PUT", f"sessions/{sid}", {"itemType": "Session", "name": policy, "providerId": "ionq",
                                                          "target": "ionq.simulator", "jobFailurePolicy": policy})
            assert opened.status_code == 200, opened.text
            jid = new_id()
            sas, blob = em.upload(jid, bad)
            made = em.call("PUT", f"jobs/{jid}", {"id": jid, "name": "bad", "providerId": "ionq", "target": "ionq.simulator",
                                                  "itemType": "Job", "containerUri": sas, "inputDataUri": blob,
                                                  "inputDataFormat": "ionq.circuit.v1", "sessionId": sid})
            assert made.status_code in (200, 201), made.text
            deadline = time.monotonic() + 30
            while em.call("GET", f"jobs/{jid}").json()["status"] != "Failed":
                assert time.monotonic() < deadline, "the bad job never failed"
                time.sleep(0.02)
            session = em.call("GET", f"sessions/{sid}").json()
            assert session["jobFailurePolicy"] == policy
            assert session["status"] == after, session
            assert (session["endExecutionTime"] is None) == (policy == "Continue"), session
    finally:
        em.close()


def test_bash_output_arrives_while_the_script_runs(tmp_path):
    """The script prints, then waits for a file that the test writes only after it has seen that
    print on IOPub: the cell can finish only if output streams before the cell ends."""
    go = tmp_path / "go"
    env = kernel_env(tmp_path)
    with kernel(env) as kc:
        seen_first = []

        def on_msg(m):
            if m["msg_type"] == "stream" and "first" in m["content"]["text"] and not seen_first:
                seen_first.append(True)
                go.write_text("")

        ran = run(kc, f"%%bash\necho first\nfor i in $(seq 600); do [ -e '{go}' ] && break; sleep 0.05; done\n"
                      f"[ -e '{go}' ] && echo second || echo gave-up", on_msg=on_msg, timeout=60)
        assert ran.error is None, ran.text()
        text = ran.text()
        assert seen_first and "second" in text and "gave-up" not in text, text


def test_any_region_shaped_location_is_taken_and_a_malformed_one_refused(em, tmp_path):
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal())
    with kernel(env) as kc:
        # A region azq has no list entry for (a new region, a sovereign cloud's): taken as written.
        ran = run(kc, f'%azure.connect {em.rid} location="Sovereign Central 2" endpoint={em.url}/ credential=Environment')
        assert ran.error is None, ran.text()
        assert "in location sovereigncentral2" in ran.result["data"]["text/plain"], ran.text()
        ran = run(kc, f"%azure.connect {em.rid} location=west-us endpoint={em.url}/ credential=Environment")
        assert ran.error["ename"] == "InvalidWorkspaceLocation", ran.text()
        assert "did you mean `westus`?" in ran.error["evalue"]


def test_bare_connect_fetches_the_targets_again_once_they_are_old(em, tmp_path):
    def provider_reads() -> int:
        return sum(1 for r in requests_seen(em) if r["path"].endswith("/providerStatus"))

    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal())
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=Environment")
        assert ran.error is None, ran.text()
        before = provider_reads()
        assert run(kc, "%azure.connect").error is None
        assert provider_reads() == before, "a fresh list was fetched again"
        # Any age is too old now: each bare connect reads the list once more.
        run(kc, "%env AZQ_TARGETS_MAX_AGE=0")
        for k in (1, 2):
            ran = run(kc, "%azure.connect")
            assert ran.error is None, ran.text()
            assert provider_reads() == before + k
        run(kc, "%env AZQ_TARGETS_MAX_AGE=soon")
        ran = run(kc, "%azure.connect")
        assert ran.error["ename"] == "InvalidArgument" and "AZQ_TARGETS_MAX_AGE" in ran.error["evalue"], ran.text()
