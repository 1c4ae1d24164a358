"""Jobs from a notebook (issue 14), through a real kernel (jupyter_client) against the emulator:
`%%qasm`, `%azure.target`, `%azure.submit`/`execute`/`status`/`output`/`jobs`/`cancel`, what the
emulator received, two clients on one workspace, faults, interrupts and bad input."""

from __future__ import annotations

import json
import math
import time
import uuid

import pytest
import requests

from test_connect import KEY, EmulatorLines, kernel, kernel_and_manager, kernel_env, run

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""
# Not symmetric, so a swapped bit order shows: P(c = 01) = sin²(0.6) ≈ 0.32, P(c = 00) ≈ 0.68.
SKEWED = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
ry(1.2) q[0];
measure q -> c;
"""
HOLD_MS = 3_600_000
PROVIDERS = {
    "ionq.simulator": ("ionq.circuit.v1", "application/json"),
    "quantinuum.sim.h2-1e": ("honeywell.openqasm.v1", "application/qasm"),
    "rigetti.sim.qvm": ("rigetti.quil.v1", "text/plain"),
}


class Em(EmulatorLines):
    """An emulator with the admin calls the job tests need."""

    def __init__(self, azq_bin, *extra, job_delay_ms: int = 5):
        super().__init__(azq_bin, *extra, job_delay_ms=job_delay_ms)
        self.http = requests.Session()
        self.http.headers["x-ms-quantum-api-key"] = KEY
        self.ws_url = (f"{self.url}/subscriptions/{self.sub}/resourceGroups/{self.rg}"
                       f"/providers/Microsoft.Quantum/workspaces/{self.ws}")

    def call(self, method, rest, body=None):
        sep = "&" if "?" in rest else "?"
        r = self.http.request(method, f"{self.ws_url}/{rest}{sep}api-version=2026-01-15-preview", json=body,
                              timeout=10)
        r.raise_for_status()
        return r.json() if r.content else None

    def all_jobs(self) -> list[dict]:
        jobs, url = [], f"{self.ws_url}/jobs?api-version=2026-01-15-preview"
        while url:
            page = self.http.get(url, timeout=30).json()
            jobs += page["value"]
            url = page.get("nextLink")
        return jobs

    def input_blob(self, job: dict) -> tuple[bytes, str]:
        """The job's input as the emulator stored it, and its content type."""
        container = job["containerUri"].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        sas = self.call("POST", "storage/sasUri", {"containerName": container, "blobName": "inputData"})["sasUri"]
        r = requests.get(sas, timeout=10)
        r.raise_for_status()
        return r.content, r.headers.get("content-type", "")

    def admin(self, method, path, body=None):
        r = self.http.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=60)
        r.raise_for_status()
        return r.json() if r.content else None


@pytest.fixture(scope="module")
def em(azq_bin):
    e = Em(azq_bin)
    yield e
    e.close()


@pytest.fixture
def kc(em, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
        yield kc


def ok(ran):
    assert ran.error is None, ran.text()
    return ran


def failed(ran, ename):
    assert ran.error is not None, ran.text()
    assert ran.error["ename"] == ename, ran.text()
    return ran.error


def histogram(ran) -> dict[str, float]:
    data = ran.data("application/x-azq.histogram+json")
    assert data is not None, ran.text()
    return {o["outcome"]: o["frequency"] for o in data["outcomes"]}


def within_sampling_error(freq: dict, exact: dict, shots: int):
    for outcome in set(freq) | set(exact):
        p = exact.get(outcome, 0.0)
        sigma = math.sqrt(max(p * (1 - p), 1e-9) / shots)
        assert abs(freq.get(outcome, 0.0) - p) <= 5 * sigma + 1e-9, (outcome, freq, exact)


def job_id(ran) -> str:
    """The job in the row a cell showed: its value, or (a watched `%azure.submit`) the display
    the watcher keeps updating."""
    rows = ran.data("application/x-azq.jobs+json")
    if rows is None:
        shown = [m["content"]["data"] for m in ran.msgs if m["msg_type"] == "display_data"]
        rows = next((d["application/x-azq.jobs+json"] for d in shown if "application/x-azq.jobs+json" in d), None)
    assert rows and len(rows) == 1, ran.text()
    return rows[0]["id"]


# --- One program, every provider -------------------------------------------------------------

@pytest.mark.parametrize("target", sorted(PROVIDERS))
def test_a_qasm_cell_runs_on_each_provider_in_its_own_format(em, kc, target):
    ran = ok(run(kc, "%%qasm skewed\n" + SKEWED))
    assert "2 qubits" in ran.text() and "1 gates" in ran.text()
    ran = ok(run(kc, f"%azure.target {target}"))
    assert ran.text().startswith(f"Active target is now {target}."), ran.text()
    ran = ok(run(kc, "%azure.execute skewed shots=2000 jobName=skew-" + target))
    within_sampling_error(histogram(ran), {"00": math.cos(0.6) ** 2, "01": math.sin(0.6) ** 2}, 2000)
    assert "<svg" in ran.result["data"]["text/html"]
    assert "application/json" not in ran.result["data"]
    # The progress line was one display, updated in place.
    shown = [m for m in ran.msgs if m["msg_type"] in ("display_data", "update_display_data")]
    assert shown and shown[0]["msg_type"] == "display_data"
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert all(m["content"]["transient"]["display_id"] == display_id for m in shown)
    # Each update says something new: none repeats the one before it.
    texts = [m["content"]["data"]["text/plain"] for m in shown]
    assert all(a != b for a, b in zip(texts, texts[1:])), texts

    status = ok(run(kc, "%azure.status"))
    row = status.data("application/x-azq.jobs+json")[0]
    assert row["status"] == "Succeeded" and row["target"] == target and row["name"] == "skew-" + target
    assert "portal.azure.com" in status.result["data"]["text/html"]
    assert "portal.azure.com" not in status.result["data"]["text/plain"]
    assert histogram(ok(run(kc, "%azure.output"))) == histogram(ran)

    # From the emulator's side: the blob is in the provider's own format.
    job = em.call("GET", f"jobs/{row['id']}")
    fmt, content_type = PROVIDERS[target]
    assert job["inputDataFormat"] == fmt and job["target"] == target
    assert job["inputParams"]["shots"] == 2000
    blob, stored_type = em.input_blob(job)
    assert stored_type.startswith(content_type), stored_type
    text = blob.decode()
    if fmt == "ionq.circuit.v1":
        circuit = json.loads(text)
        assert circuit["qubits"] == 2 and circuit["circuit"][0]["gate"] in ("ry", "gpi2", "rx", "rz"), text
    elif fmt == "honeywell.openqasm.v1":
        assert text.startswith("OPENQASM 2.0;") and "ry(1.2) q[0];" in text
    else:
        assert "DECLARE ro BIT[2]" in text and "MEASURE 0 ro[0]" in text, text


def test_the_estimator_is_not_emulated_and_says_so(kc):
    ok(run(kc, "%%qasm bell\n" + BELL))
    ran = run(kc, "%azure.execute bell target=microsoft.estimator")
    error = failed(ran, "JobFailed")
    assert "NotEmulated" in error["evalue"] and "estimat" in error["evalue"]


def test_a_program_file_in_each_format(em, kc, tmp_path):
    (tmp_path / "bell.qasm").write_text(BELL)
    ran = ok(run(kc, f"%qasm file={tmp_path / 'bell.qasm'}"))
    assert "Stored `bell`" in ran.text()
    listed = ok(run(kc, "%qasm")).data("application/x-azq.programs+json")
    assert [p["name"] for p in listed] == ["bell"] and listed[0]["qubits"] == 2 and listed[0]["gates"] == 2
    ran = ok(run(kc, f"%azure.execute file={tmp_path / 'bell.qasm'} target=ionq.simulator shots=100"))
    freq = histogram(ran)
    assert set(freq) <= {"00", "11"} and abs(sum(freq.values()) - 1) < 1e-9
    assert ok(run(kc, "%azure.status")).data("application/x-azq.jobs+json")[0]["name"] == "bell"
    # Parameters the target reads pass through, even when they start like a declared name.
    jid = job_id(ok(run(kc, "%azure.submit bell target=ionq.simulator target_profile=Base noise=0.5 sampling=true")))
    assert em.call("GET", f"jobs/{jid}")["inputParams"] == {"target_profile": "Base", "noise": 0.5, "sampling": True}
    failed(run(kc, f"%azure.submit bell file={tmp_path / 'bell.qasm'} target=ionq.simulator"), "ConflictingArguments")


# --- Two clients, one workspace ---------------------------------------------------------------

def test_the_sdk_and_azq_read_each_others_jobs(azq_bin, tmp_path):
    from test_emulator_sdk import GHZ, tls_emulator, workspace_with_key

    with tls_emulator(azq_bin, 20) as lines:
        env = kernel_env(tmp_path, HTTPS_PROXY=lines["HTTPS_PROXY"], SSL_CERT_FILE=lines["SSL_CERT_FILE"])
        ws = workspace_with_key(lines)
        with kernel(env) as kc:
            ok(run(kc, f'%azure.connect connectionString="{lines["AZURE_QUANTUM_CONNECTION_STRING"]}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            ran = ok(run(kc, "%azure.execute bell target=ionq.simulator shots=100"))
            mine = ok(run(kc, "%azure.status")).data("application/x-azq.jobs+json")[0]
            theirs = ws.get_job(mine["id"])
            assert (theirs.id, theirs.details.target, theirs.details.status) == (mine["id"], "ionq.simulator",
                                                                                 "Succeeded")
            sdk_results = theirs.get_results()["histogram"]
            assert {k: v for k, v in histogram(ran).items() if v} == pytest.approx({
                format(int(k), "02b"): v for k, v in sdk_results.items() if v})

            job = ws.get_targets("ionq.simulator").submit(GHZ, name="from-the-sdk", shots=100)
            job.wait_until_completed(timeout_secs=60)
            listed = ok(run(kc, "%azure.jobs from-the-sdk")).data("application/x-azq.jobs+json")
            assert [j["id"] for j in listed] == [job.id]
            out = histogram(ok(run(kc, f"%azure.output {job.id}")))
            expected = {format(int(k), "03b"): v for k, v in job.get_results()["histogram"].items()}
            assert out == pytest.approx(expected)


# --- get / list / cancel ----------------------------------------------------------------------

def seed_program(em, target="ionq.simulator", name="seeded", status_hold=False) -> str:
    jid = str(uuid.uuid4())
    sas = em.call("POST", "storage/sasUri", {"containerName": f"job-{jid}"})["sasUri"]
    base, query = sas.split("?")
    requests.put(f"{base}/inputData?{query}", data=json.dumps({"qubits": 1, "circuit": [{"gate": "h", "target": 0}]}),
                 headers={"x-ms-blob-type": "BlockBlob", "content-type": "application/json"}, timeout=10)
    em.call("PUT", f"jobs/{jid}", {
        "id": jid, "name": name, "providerId": "ionq", "target": target, "containerUri": sas,
        "inputDataUri": f"{base}/inputData", "inputDataFormat": "ionq.circuit.v1",
        "outputDataFormat": "ionq.quantum-results.v1", "inputParams": {"shots": 10}})
    return jid


def test_the_seeds_get_list_and_cancel(em, kc):
    jid = seed_program(em, name="seed-example")
    deadline = time.monotonic() + 30
    while em.call("GET", f"jobs/{jid}")["status"] != "Succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    ran = ok(run(kc, f"%azure.status {jid}"))
    assert "Succeeded" in ran.text() and jid in ran.text()
    listed = ok(run(kc, "%azure.jobs seed-example")).data("application/x-azq.jobs+json")
    assert [(j["id"], j["status"]) for j in listed] == [(jid, "Succeeded")]
    error = failed(run(kc, f"%azure.cancel {jid}"), "JobNotCancellable")
    assert "Succeeded" in error["evalue"]
    missing = str(uuid.uuid4())
    error = failed(run(kc, f"%azure.status {missing}"), "JobNotFound")
    assert missing in error["evalue"] and "^" in error["traceback"][-1]


def test_cancel_leaves_a_running_job_cancelled(azq_bin, tmp_path):
    held = Em(azq_bin, job_delay_ms=HOLD_MS)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{held.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            jid = job_id(ok(run(kc, "%azure.submit bell target=quantinuum.sim.h2-1e")))
            assert held.call("GET", f"jobs/{jid}")["status"] == "Waiting"
            failed(run(kc, "%azure.output"), "JobNotCompleted")
            ran = ok(run(kc, "%azure.cancel"))
            assert "Cancelled" in ran.text()
            assert held.call("GET", f"jobs/{jid}")["status"] == "Cancelled"
            failed(run(kc, "%azure.output"), "JobCancelled")
            failed(run(kc, "%azure.cancel"), "JobNotCancellable")
            # A wait that times out gives the id and the commands, not a bare error.
            ran = ok(run(kc, "%azure.execute bell target=ionq.simulator timeout=1 poll=0.2", timeout=30))
            jid2 = job_id(ran)
            assert jid2 != jid and held.call("GET", f"jobs/{jid2}")["status"] == "Waiting"
            text = ran.result["data"]["text/plain"]
            assert f"%azure.status {jid2}" in text and f"%azure.cancel {jid2}" in text, text
    finally:
        held.close()


# --- Listing ten thousand jobs -----------------------------------------------------------------

def test_jobs_over_ten_thousand_shows_the_newest_and_filters_on_the_service(azq_bin, tmp_path):
    big = Em(azq_bin)
    try:
        big.admin("POST", "jobs", {"count": 10_000, "targets": ["ionq.simulator", "quantinuum.sim.h2-1e", "rigetti.sim.qvm"]})
        everything = big.all_jobs()
        assert len(everything) == 10_000
        newest = sorted(everything, key=lambda j: (j["creationTime"], j["id"]), reverse=True)
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{big.cs}"'))
            ran = ok(run(kc, "%azure.jobs"))
            rows = ran.data("application/x-azq.jobs+json")
            assert [r["id"] for r in rows] == [j["id"] for j in newest[:30]]
            assert "more exist" in ran.text()

            def selected(code, keep):
                rows = ok(run(kc, code)).data("application/x-azq.jobs+json")
                want = [j["id"] for j in newest if keep(j)][:50]
                assert [r["id"] for r in rows] == want, code
                return rows

            selected("%azure.jobs status=Failed count=50", lambda j: j["status"] == "Failed")
            selected("%azure.jobs status=cancelled count=50", lambda j: j["status"] == "Cancelled")
            target = newest[5]["target"]
            selected(f"%azure.jobs target={target} count=50", lambda j: j["target"] == target)
            since = newest[40]["creationTime"]
            rows = selected(f"%azure.jobs since={since} count=50", lambda j: j["creationTime"] >= since)
            assert len(rows) >= 41
            name = newest[7]["name"]
            selected(f"%azure.jobs {name} count=50",
                     lambda j: name.lower() in (j["name"] or "").lower() or name.lower() in j["target"].lower()
                     or name.lower() in j["id"])
            ran = ok(run(kc, "%azure.jobs count=10000"))
            assert len(ran.data("application/x-azq.jobs+json")) == 10_000 and "more exist" not in ran.text()
    finally:
        big.close()


# --- Faults: one job, and an end within the timeout --------------------------------------------

def test_retries_through_faults_create_exactly_one_job(azq_bin, tmp_path):
    flaky = Em(azq_bin)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{flaky.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            before = flaky.admin("GET", "stats")["jobsCreated"]
            flaky.admin("POST", "faults", {"rules": [
                "PUT **/jobs/* 503 1 times=1",
                "PUT **/jobs/* drop-after times=1",
                "PUT **/jobs/* 429:1 1 times=1",
                "GET **/jobs/* 503 1 times=2",
                "GET **/jobs/* drop 1 times=1",
            ]})
            ran = run(kc, "%azure.execute bell target=ionq.simulator shots=50", timeout=120)
            assert ran.error is None or ran.error["ename"] in ("NetworkError", "ServiceError"), ran.text()
            assert flaky.admin("GET", "stats")["jobsCreated"] - before == 1
            assert len(flaky.all_jobs()) == 1
            for code in ("%azure.status", "%azure.output", "%azure.jobs"):
                ran = run(kc, code, timeout=60)
                assert ran.error is None or ran.error["ename"] in ("NetworkError", "ServiceError"), ran.text()
    finally:
        flaky.close()


# --- Interrupt -----------------------------------------------------------------------------------

def test_an_interrupt_while_executing_is_answered_at_once_and_the_kernel_goes_on(azq_bin, tmp_path):
    held = Em(azq_bin, job_delay_ms=HOLD_MS)
    try:
        with kernel_and_manager(kernel_env(tmp_path)) as (kc, km):
            ok(run(kc, f'%azure.connect connectionString="{held.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            msg_id = kc.execute("%azure.execute bell target=ionq.simulator")
            deadline = time.monotonic() + 30
            while True:
                m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
                if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "display_data":
                    break
            km.interrupt_kernel()
            asked = time.monotonic()
            reply = kc.get_shell_msg(timeout=10)
            answered = time.monotonic() - asked
            assert reply["content"]["ename"] == "Interrupted"
            assert answered < 1.0, answered
            ran = ok(run(kc, "%azure.status"))
            assert "Waiting" in ran.text()
    finally:
        held.close()


# --- Bad input: a named error with a caret, nothing submitted ------------------------------------

@pytest.mark.parametrize("cell, ename", [
    ("%azure.submit nosuch target=ionq.simulator", "UnknownProgram"),
    ("%azure.submit bell target=ionq.simulatr", "InvalidTarget"),
    ("%azure.submit wide target=ionq.qpu.aria-1", "ProgramTooLarge"),
    ("%azure.submit bell target=ionq.simulator jobParams={\"shots\": ", "SyntaxError"),
    ("%azure.submit bell target=ionq.simulator jobParams={\"shots\": 0}", "InvalidJobParams"),
    ("%azure.submit bell target=ionq.simulator jobParams='{\"shots\" 1}'", "InvalidArgument"),
    ("%azure.submit bell target=ionq.simulator jobParams=[1,2]", "InvalidArgument"),
    ("%azure.submit bell target=ionq.simulator shots=0", "InvalidArgument"),
    ("%azure.submit bell target=ionq.simulator shtos=10", "UnknownArgument"),
    ("%azure.submit bell target=ionq.simulator shots=100000000000", "InvalidArgument"),
    ("%azure.execute bell target=ionq.simulator timeout=soon", "InvalidArgument"),
    ("%azure.status not-a-guid", "InvalidArgument"),
    ("%azure.output 1234", "InvalidArgument"),
    ("%azure.cancel 285cfcb4-6822-11ea-a05f", "InvalidArgument"),
])
def test_bad_input_is_named_with_a_caret_and_nothing_is_submitted(em, kc, cell, ename):
    ok(run(kc, "%%qasm bell\n" + BELL))
    wide = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[30];\ncreg c[30];\nh q;\nmeasure q -> c;\n"
    ok(run(kc, "%%qasm wide\n" + wide))
    before = len(em.all_jobs())
    error = failed(run(kc, cell), ename)
    assert error["traceback"][-1].strip().startswith("^"), error["traceback"]
    assert len(em.all_jobs()) == before


def test_a_broken_program_points_at_its_line(kc):
    error = failed(run(kc, "%%qasm broken\nOPENQASM 2.0;\nqreg q[2];\nh q[5];\n"), "InvalidProgram")
    assert error["traceback"][1].startswith("4 | h q[5];"), error["traceback"]
    assert "^" in error["traceback"][2]
    failed(run(kc, "%azure.submit broken target=ionq.simulator"), "UnknownProgram")


def test_no_target_and_no_job_say_what_to_do(kc):
    ok(run(kc, "%%qasm bell\n" + BELL))
    assert "%azure.target" in failed(run(kc, "%azure.submit bell"), "NoTarget")["evalue"]
    assert "%azure.jobs" in failed(run(kc, "%azure.status"), "NoJob")["evalue"]


def test_completion_offers_targets_programs_and_jobs(em, kc):
    ok(run(kc, "%%qasm bell\n" + BELL))

    def complete(code):
        kc.complete(code, len(code))
        return kc.get_shell_msg(timeout=10)["content"]["matches"]

    assert "ionq.simulator" in complete("%azure.target io")
    assert "target=quantinuum.sim.h2-1e" in complete("%azure.submit bell target=quantinuum.sim.h2-1")
    assert complete("%azure.submit be") == ["bell"]
    jid = job_id(ok(run(kc, "%azure.submit bell target=ionq.simulator")))
    assert jid in complete(f"%azure.status {jid[:4]}")


def test_execute_progress_updates_only_when_what_it_says_changes(azq_bin, tmp_path):
    # A job that waits 0.4 s and runs 0.4 s: the first polls come faster than the tenths of
    # a second the line shows.
    slow = Em(azq_bin, job_delay_ms=400)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{slow.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            ran = ok(run(kc, "%azure.execute bell target=ionq.simulator", timeout=60))
    finally:
        slow.close()
    shown = [m["content"]["data"]["text/plain"] for m in ran.msgs
             if m["msg_type"] in ("display_data", "update_display_data")]
    assert len(shown) >= 2 and "Succeeded" in shown[-1], shown
    assert all(a != b for a, b in zip(shown, shown[1:])), shown


def test_cancel_of_an_executing_job_leaves_it_cancelled(azq_bin, tmp_path):
    # The emulator's clock: a job waits 1.5 s, then executes for 1.5 s.
    slow = Em(azq_bin, job_delay_ms=1500)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{slow.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            jid = job_id(ok(run(kc, "%azure.submit bell target=rigetti.sim.qvm")))
            deadline = time.monotonic() + 20
            while slow.call("GET", f"jobs/{jid}")["status"] != "Executing":
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.02)
            ran = ok(run(kc, "%azure.cancel"))
            assert ran.data("application/x-azq.jobs+json")[0]["status"] == "Cancelled", ran.text()
            # It stays cancelled after the time it would have finished.
            time.sleep(2)
            assert slow.call("GET", f"jobs/{jid}")["status"] == "Cancelled"
            failed(run(kc, "%azure.output"), "JobCancelled")
    finally:
        slow.close()


def test_a_wait_that_loses_the_service_says_the_job_goes_on(azq_bin, tmp_path):
    held = Em(azq_bin, job_delay_ms=HOLD_MS)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{held.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            held.admin("POST", "faults", {"rules": ["GET **/jobs/* 400 1"]})
            ran = run(kc, "%azure.execute bell target=ionq.simulator", timeout=120)
            jid = held.all_jobs()[0]["id"]
            assert ran.error is not None, ran.text()
            assert f"job {jid} was submitted and goes on: `%azure.status {jid}`" in ran.error["evalue"], ran.error
    finally:
        held.close()
