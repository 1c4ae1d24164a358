"""Quotas and sessions (issue 15, part 4), through a real kernel (jupyter_client) against the
emulator: `%azure.quotas` and its utilization following the jobs run; `%azure.session` open,
show, close; the Abort and Continue failure policies; what the emulator's jobs carry; bad input."""

from __future__ import annotations

import uuid

import pytest

from test_connect import kernel, kernel_env, run
from test_jobs import BELL, HOLD_MS, Em, em, failed, job_id, ok  # noqa: F401 (em: the fixture)

HEADS = ["Dimension", "Scope", "Provider", "Utilization", "Holds", "Limit", "Period"]
# The estimator is not emulated: its jobs fail (NotEmulated), which is how these tests fail one.
FAILING = "microsoft.estimator"


@pytest.fixture
def kc(em, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
        ok(run(kc, "%%qasm bell\n" + BELL))
        ok(run(kc, "%azure.target ionq.simulator"))
        yield kc


def quotas(kc) -> dict[tuple[str, str], dict]:
    ran = ok(run(kc, "%azure.quotas"))
    rows = ran.data("application/x-azq.quotas+json")
    assert rows, ran.text()
    return {(q["provider"], q["dimension"]): q for q in rows}


def session_of(ran) -> dict:
    data = ran.data("application/x-azq.session+json")
    assert data is not None, ran.text()
    return data


def submitted(kc, cell) -> str:
    return job_id(ok(run(kc, cell)))


def executed(kc, cell) -> str:
    """Runs an `%azure.execute` cell to its end; the job's id."""
    ok(run(kc, cell))
    return job_id(ok(run(kc, "%azure.status")))


# --- Quotas -----------------------------------------------------------------------------------

def test_quotas_are_a_table_whose_utilization_follows_the_jobs_run(azq_bin, tmp_path):
    # An emulator of its own: no other test's jobs finish between the two readings.
    em = Em(azq_bin)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
            ran = ok(run(kc, "%azure.quotas"))
            plain = ran.result["data"]["text/plain"]
            assert plain.split("\n")[0].split() == HEADS, plain
            html = ran.result["data"]["text/html"]
            assert all(f"<th style=\"text-align:start\">{h}</th>" in html for h in HEADS), html
            assert html.count("<svg") == len(ran.data("application/x-azq.quotas+json")), html
            before = quotas(kc)
            qgs = before[("ionq", "qgs")]
            assert qgs["utilization"] == 0 and qgs["holds"] == 0 and qgs["limit"] == 1_000_000
            assert qgs["scope"] == "Workspace" and qgs["period"] == "Monthly"

            ok(run(kc, "%%qasm bell\n" + BELL))
            jobs = [executed(kc, f"%azure.execute bell target=ionq.simulator shots={n}")
                    for n in (100, 250)]
            after = quotas(kc)
            # What the provider billed for the two jobs: gate-shots, one- and two-qubit.
            used = 0.0
            for jid in jobs:
                usage = em.call("GET", f"jobs/{jid}")["usage"]
                used += usage["gs1q"] + usage["gs2q"]
            # The Bell circuit is one 1-qubit and one 2-qubit gate: 2 gate-shots a shot.
            assert used == 2 * (100 + 250)
            assert after[("ionq", "qgs")]["utilization"] == pytest.approx(used)
            assert after[("ionq", "qgs")]["fraction_used"] == pytest.approx(used / 1_000_000)
            # Other providers' quotas did not move.
            for key, q in before.items():
                if key != ("ionq", "qgs"):
                    assert after[key]["utilization"] == q["utilization"], key
            assert "700 (0.1%)" in ok(run(kc, "%azure.quotas")).text()
    finally:
        em.close()


def test_quotas_need_a_connection(tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        failed(run(kc, "%azure.quotas"), "NotConnected")
        failed(run(kc, "%azure.quotas all"), "InvalidArgument")


# --- Sessions ---------------------------------------------------------------------------------

def test_jobs_submitted_while_a_session_is_open_belong_to_it(em, kc):
    opened = ok(run(kc, "%azure.session open calibration policy=continue"))
    s = session_of(opened)
    assert (s["name"], s["policy"], s["status"], s["target"]) == (
        "calibration", "Continue", "Waiting", "ionq.simulator")
    assert "is open on ionq.simulator" in opened.text()
    sid = s["id"]
    assert em.call("GET", f"sessions/{sid}")["jobFailurePolicy"] == "Continue"

    inside = [executed(kc, f"%azure.execute bell jobName=in-{i}") for i in (1, 2)]
    for jid in inside:
        assert em.call("GET", f"jobs/{jid}")["sessionId"] == sid

    for cell in ("%azure.session", "%azure.session show", f"%azure.session show {sid}",
                 "%azure.session show calibration"):
        shown = ok(run(kc, cell))
        assert sorted(r["id"] for r in shown.data("application/x-azq.jobs+json")) == sorted(inside), cell
        assert session_of(shown)["id"] == sid
        assert "Jobs in this session:" in shown.text() and "in-1" in shown.text()

    closed = ok(run(kc, "%azure.session close"))
    assert session_of(closed)["status"] == "Succeeded", closed.text()
    assert "is closed (Succeeded)" in closed.text()
    assert em.call("GET", f"sessions/{sid}")["status"] == "Succeeded"

    after = submitted(kc, "%azure.submit bell jobName=after")
    assert em.call("GET", f"jobs/{after}")["sessionId"] is None
    # The closed session still shows (the last one opened), with its two jobs only.
    shown = ok(run(kc, "%azure.session"))
    assert len(shown.data("application/x-azq.jobs+json")) == 2
    assert "was closed" in shown.text()


def test_a_failed_job_ends_an_abort_session_and_later_submits_are_refused(em, kc):
    sid = session_of(ok(run(kc, "%azure.session open strict")))["id"]
    assert em.call("GET", f"sessions/{sid}")["jobFailurePolicy"] == "Abort"
    failed(run(kc, f"%azure.execute bell target={FAILING}"), "JobFailed")
    assert em.call("GET", f"sessions/{sid}")["status"] == "Failed"

    before = len(em.all_jobs())
    error = failed(run(kc, "%azure.submit bell"), "SessionEnded")
    assert "strict" in error["evalue"] and "Abort" in error["evalue"], error
    assert "NotEmulated" in error["evalue"] and "%azure.session open" in error["evalue"], error
    failed(run(kc, "%azure.execute bell"), "SessionEnded")
    assert len(em.all_jobs()) == before

    shown = ok(run(kc, "%azure.session"))
    assert session_of(shown)["status"] == "Failed"
    assert "has ended" in shown.text() and "Abort policy" in shown.text(), shown.text()
    assert [r["status"] for r in shown.data("application/x-azq.jobs+json")] == ["Failed"]

    # An ended session is replaced by a new one without complaint; jobs go into the new one.
    new = session_of(ok(run(kc, "%azure.session open again")))["id"]
    assert new != sid
    jid = submitted(kc, "%azure.submit bell")
    assert em.call("GET", f"jobs/{jid}")["sessionId"] == new


def test_under_continue_a_failed_job_leaves_the_session_open_and_later_jobs_run(em, kc):
    sid = session_of(ok(run(kc, "%azure.session open lenient policy=CONTINUE")))["id"]
    failed(run(kc, f"%azure.execute bell target={FAILING}"), "JobFailed")
    assert em.call("GET", f"sessions/{sid}")["status"] == "Failure(s)"
    shown = ok(run(kc, "%azure.session"))
    assert "stays open" in shown.text(), shown.text()

    jid = executed(kc, "%azure.execute bell")
    job = em.call("GET", f"jobs/{jid}")
    assert job["status"] == "Succeeded" and job["sessionId"] == sid
    statuses = sorted(r["status"] for r in ok(run(kc, "%azure.session")).data("application/x-azq.jobs+json"))
    assert statuses == ["Failed", "Succeeded"]
    # Closed with a failure among its jobs, the service calls it Failed (as recorded).
    assert session_of(ok(run(kc, "%azure.session close")))["status"] == "Failed"


def test_reconnecting_to_another_workspace_forgets_the_session(em, kc):
    ok(run(kc, "%azure.session open here"))
    # The same workspace again keeps it.
    ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
    assert session_of(ok(run(kc, "%azure.session")))["name"] == "here"
    ok(run(kc, "%azure.connect emulator"))
    failed(run(kc, "%azure.session close"), "NoSession")
    assert "No session has been opened" in ok(run(kc, "%azure.session")).text()
    failed(run(kc, "%azure.session show here"), "UnknownSession")


def test_no_session_and_unknown_sessions_are_named(em, kc):
    assert "No session has been opened" in ok(run(kc, "%azure.session")).text()
    error = failed(run(kc, "%azure.session close"), "NoSession")
    assert "%azure.session open" in error["evalue"]
    assert "did you mean `open`?" in failed(run(kc, "%azure.session opne"), "UnknownSession")["evalue"]
    failed(run(kc, f"%azure.session show {uuid.uuid4()}"), "UnknownSession")
    failed(run(kc, f"%azure.session close {uuid.uuid4()}"), "UnknownSession")

    ok(run(kc, "%azure.session open calibration"))
    error = failed(run(kc, "%azure.session show calbiration"), "UnknownSession")
    assert "did you mean `calibration`?" in error["evalue"], error
    assert error["traceback"][-1].strip().startswith("^"), error["traceback"]


def test_opening_twice_says_the_first_is_still_open(em, kc):
    first = session_of(ok(run(kc, "%azure.session open first")))["id"]
    sessions = len(em.call("GET", "sessions")["value"])
    error = failed(run(kc, "%azure.session open second"), "SessionAlreadyOpen")
    assert "first" in error["evalue"] and "%azure.session close" in error["evalue"], error
    # Nothing changed: jobs still go into the first.
    jid = submitted(kc, "%azure.submit bell")
    assert em.call("GET", f"jobs/{jid}")["sessionId"] == first
    assert len(em.call("GET", "sessions")["value"]) == sessions


@pytest.mark.parametrize("cell, ename", [
    ("%azure.session open policy=maybe", "InvalidArgument"),
    ("%azure.session open target=nowhere.qpu", "InvalidTarget"),
    ("%azure.session open target=not-a-target", "InvalidArgument"),
    ("%azure.session close policy=abort", "InvalidArgument"),
    ("%azure.session show target=ionq.simulator", "InvalidArgument"),
    ("%azure.session open show", "ConflictingArguments"),
    ("%azure.session open a b", "InvalidArgument"),
    ("%azure.session opne", "UnknownSession"),
    ("%azure.session show 1234", "UnknownSession"),
    ("%azure.session open colour=red", "UnknownArgument"),
    ("%azure.session open " + "n" * 201, "InvalidArgument"),
])
def test_bad_arguments_are_named_with_a_caret_and_open_nothing(em, kc, cell, ename):
    before = len(em.call("GET", "sessions")["value"])
    error = failed(run(kc, cell), ename)
    assert error["traceback"][-1].strip().startswith("^"), error["traceback"]
    assert len(em.call("GET", "sessions")["value"]) == before


def test_opening_without_a_target_or_a_connection_says_what_to_do(em, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        failed(run(kc, "%azure.session open"), "NotConnected")
        ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
        error = failed(run(kc, "%azure.session open"), "NoTarget")
        assert "%azure.target" in error["evalue"]


def test_closing_while_a_job_still_waits_says_it_is_closing(azq_bin, tmp_path):
    held = Em(azq_bin, job_delay_ms=HOLD_MS)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{held.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            sid = session_of(ok(run(kc, "%azure.session open slow target=ionq.simulator")))["id"]
            waiting = submitted(kc, "%azure.submit bell target=ionq.simulator")
            closed = ok(run(kc, "%azure.session close"))
            assert session_of(closed)["status"] == "Executing", closed.text()
            assert "is closing" in closed.text()
            assert held.call("GET", f"jobs/{waiting}")["sessionId"] == sid
            outside = submitted(kc, "%azure.submit bell target=ionq.simulator")
            assert held.call("GET", f"jobs/{outside}")["sessionId"] is None
    finally:
        held.close()
