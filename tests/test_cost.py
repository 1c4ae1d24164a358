"""Cost before you pay (issue 15, part 2), through a real kernel (jupyter_client) against the
emulator: `%azure.estimate` against the providers' formulas worked by hand and against the
emulator's own `costEstimate`, the confirmation prompt on stdin before a paid submission (and
nothing sent when it is declined or cannot be asked), the target row, completion types."""

from __future__ import annotations

import queue
import time

import pytest

from test_connect import Ran, kernel, kernel_and_manager, kernel_env
from test_jobs import BELL, em, failed, job_id, ok  # noqa: F401 (em: the fixture)

# h, cx and a ccx (a 3-qubit gate: 6 two-qubit gates) on 3 qubits, every qubit measured.
TOFFOLI = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
ccx q[0], q[1], q[2];
measure q -> c;
"""
ARIA = (0.000220, 0.000975)


@pytest.fixture
def kc(em, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        ok(run(kc, f'%azure.connect connectionString="{em.cs}"')[0])
        ok(run(kc, "%%qasm bell\n" + BELL)[0])
        ok(run(kc, "%%qasm toffoli\n" + TOFFOLI)[0])
        yield kc


def run(kc, code: str, answer: str | None = None, allow_stdin: bool = True, timeout: float = 60):
    """Runs a cell, answering an input_request with `answer` (a prompt when `answer` is None
    fails the test). Returns what ran and the prompts seen."""
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    ran, prompts = Ran(), []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"no idle for {code!r}: {ran.text()}"
        while kc.stdin_channel.msg_ready():
            request = kc.stdin_channel.get_msg(timeout=1)
            assert request["msg_type"] == "input_request"
            assert request["parent_header"]["msg_id"] == msg_id
            prompts.append(request["content"]["prompt"])
            assert answer is not None, f"unexpected prompt: {request['content']['prompt']}"
            kc.input(answer)
        try:
            m = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
        ran.record(m)
    kc.get_shell_msg(timeout=10)
    return ran, prompts


def estimate(kc, code: str) -> dict:
    ran, prompts = run(kc, code)
    ok(ran)
    assert not prompts
    data = ran.data("application/x-azq.estimate+json")
    assert data is not None, ran.text()
    return data


def cost_of(em, jid: str) -> dict:
    """The emulator's own costEstimate of a job, once it has finished."""
    deadline = time.monotonic() + 30
    while True:
        job = em.call("GET", f"jobs/{jid}")
        if job["status"] in ("Succeeded", "Failed", "Cancelled"):
            assert job["status"] == "Succeeded", job
            return job["costEstimate"]
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def sent(em) -> tuple[int, int]:
    """Jobs created and blob uploads the emulator has seen."""
    puts = [r for r in em.requests_log() if r["method"] == "PUT" and "/jobs/" not in r["path"]]
    return em.admin("GET", "stats")["jobsCreated"], len(puts)


# --- The estimate equals the formula by hand and the emulator's own ----------------------------

def test_ionq_estimate_is_the_gate_shot_formula_and_the_emulators_cost(em, kc):
    shots = 20_000
    data = estimate(kc, f"%azure.estimate toffoli target=ionq.qpu.aria-1 shots={shots}")
    # By hand: 1 one-qubit gate (h); cx + 6 for the ccx = 7 two-qubit gates.
    assert data["counts"]["one_qubit"] == 1 and data["counts"]["two_qubit"] == 7
    by_hand = round(max(97.5, shots * (1 * ARIA[0] + 7 * ARIA[1])), 2)
    assert by_hand == 140.9
    assert data["total"] == by_hand and data["currency"] == "USD" and data["minimum"] == 97.5
    assert data["rates_checked"] == "2026-12-03"
    ran, prompts = run(kc, f"%azure.estimate toffoli target=ionq.qpu.aria-1 shots={shots}")
    text = ran.text()
    assert "estimate" in text and "2026-12-03" in text and "140.90" in text, text
    assert "<table>" in ran.result["data"]["text/html"]
    # The emulator prices the same job the same way.
    ran, prompts = run(kc, f"%azure.submit toffoli target=ionq.qpu.aria-1 shots={shots} confirm=false")
    assert not prompts
    cost = cost_of(em, job_id(ok(ran)))
    assert round(cost["estimatedTotal"], 2) == by_hand, cost
    # Below the minimum: the minimum, lower without error mitigation.
    assert estimate(kc, "%azure.estimate bell target=ionq.qpu.aria-1 shots=100")["total"] == 97.5
    off = '{"error-mitigation": {"debias": false}}'
    data = estimate(kc, f"%azure.estimate bell target=ionq.qpu.aria-1 shots=100 jobParams={off}")
    assert data["total"] == 12.42 and data["minimum"] == 12.4167
    ran, _ = run(kc, f"%azure.submit bell target=ionq.qpu.aria-1 shots=100 jobParams={off} confirm=false")
    assert round(cost_of(em, job_id(ok(ran)))["estimatedTotal"], 2) == 12.42


@pytest.mark.parametrize("target, currency", [("quantinuum.qpu.h2-1", "HQC"), ("quantinuum.sim.h2-1e", "EHQC")])
def test_quantinuum_estimate_is_the_hqc_formula_and_the_emulators_cost(em, kc, target, currency):
    data = estimate(kc, f"%azure.estimate bell target={target} shots=1000")
    # By hand: N1q 1 (h), N2q 1 (cx), Nm 2 preparations + 2 measurements = 4;
    # 5 + 1000 × (1 + 10 + 20) / 5000 = 11.2.
    assert data["counts"] == {"one_qubit": 1, "two_qubit": 1, "prep_measure": 4}
    assert data["total"] == 11.2 and data["currency"] == currency
    ran, prompts = run(kc, f"%azure.submit bell target={target} shots=1000 confirm=false")
    assert not prompts
    jid = job_id(ok(ran))
    if target == "quantinuum.qpu.h2-1":
        # Unavailable on the emulator, as a machine down for maintenance: the job waits in its
        # queue and nothing is billed until it runs.
        assert em.call("GET", f"jobs/{jid}")["status"] == "Waiting"
        assert not (em.call("GET", f"jobs/{jid}").get("costEstimate") or {}).get("events")
        return
    events = cost_of(em, jid)["events"]
    assert [e["dimensionName"] for e in events] == [currency]
    assert events[0]["amountBilled"] == 11.2


@pytest.mark.parametrize("target, shots, rates, minimum", [
    ("ionq.qpu.forte-1", 40_000, (0.0001645, 0.001121), 168.195),
    ("ionq.qpu", 20_000, ARIA, 97.5),
])
def test_other_ionq_qpus_price_as_published_and_as_the_emulator(em, kc, target, shots, rates, minimum):
    data = estimate(kc, f"%azure.estimate toffoli target={target} shots={shots}")
    by_hand = round(max(minimum, shots * (1 * rates[0] + 7 * rates[1])), 2)
    assert data["total"] == by_hand and data["minimum"] == minimum
    ran, _ = run(kc, f"%azure.submit toffoli target={target} shots={shots} confirm=false")
    assert round(cost_of(em, job_id(ok(ran)))["estimatedTotal"], 2) == by_hand


def test_free_and_time_billed_targets_say_so(kc):
    ran, _ = run(kc, "%azure.estimate bell target=ionq.simulator")
    assert "free" in ok(ran).text()
    assert ran.data("application/x-azq.estimate+json")["total"] is None
    ran, _ = run(kc, "%azure.estimate bell target=rigetti.qpu.ankaa-3 shots=10")
    assert "cannot be estimated" in ok(ran).text()
    assert estimate(kc, "%azure.estimate bell target=quantinuum.sim.h2-1sc shots=10")["total"] == 0


@pytest.mark.parametrize("cell, ename", [
    ("%azure.estimate target=ionq.qpu.aria-1", "UnknownProgram"),
    ("%azure.estimate bell target=ionq.qpu.aria-2x", "InvalidTarget"),
    ("%azure.estimate bell target=ionq.qpu.aria-1 shots=0", "InvalidArgument"),
    ("%azure.estimate bell target=ionq.qpu.aria-1 jobParams={\"shots\": -1}", "InvalidJobParams"),
    ("%azure.estimate bell target=pasqal.qpu.fresnel", "InvalidTarget"),
    ("%azure.submit bell target=ionq.qpu.aria-1 confirm=maybe", "InvalidArgument"),
])
def test_bad_estimate_input_is_named_and_nothing_is_sent(em, kc, cell, ename):
    before = sent(em)
    ran, prompts = run(kc, cell)
    failed(ran, ename)
    assert not prompts and sent(em) == before


def test_a_workspace_rates_file_replaces_the_published_rates(em, kc, tmp_path):
    rates = tmp_path / "rates.json"
    rates.write_text('{"checked": "2027-01-15", "targets": {"ionq.qpu.aria-1": '
                     '{"one_qubit": 0.001, "two_qubit": 0.01, "minimum": 1}}}')
    ok(run(kc, f"%env AZQ_PRICING_FILE={rates}")[0])
    # By hand: 1000 × (1 × 0.001 + 7 × 0.01) = 71.00.
    ran, _ = run(kc, "%azure.estimate toffoli target=ionq.qpu.aria-1 shots=1000")
    assert ok(ran).data("application/x-azq.estimate+json")["total"] == 71.0
    assert f"AZQ_PRICING_FILE ({rates}), checked 2027-01-15" in ran.text()
    before = sent(em)
    ran, prompts = run(kc, "%azure.submit toffoli target=ionq.qpu.aria-1 shots=1000", answer="n")
    assert "71.00 USD" in prompts[0]
    rates.write_text('{"targets": {"quantinuum.qpu.h2-1": {}}}')
    error = failed(run(kc, "%azure.submit bell target=ionq.qpu.aria-1")[0], "InvalidPricingFile")
    assert str(rates) in error["evalue"] and "only IonQ" in error["evalue"]
    ok(run(kc, f"%env AZQ_PRICING_FILE={tmp_path / 'missing.json'}")[0])
    failed(run(kc, "%azure.estimate bell target=ionq.qpu.aria-1")[0], "InvalidPricingFile")
    rates.write_bytes(b"{" + b" " * 70_000 + b"}")
    ok(run(kc, f"%env AZQ_PRICING_FILE={rates}")[0])
    assert "bytes" in failed(run(kc, "%azure.estimate bell target=ionq.qpu.aria-1")[0], "InvalidPricingFile")["evalue"]
    assert sent(em) == before


# --- Confirmation ----------------------------------------------------------------------------

def test_a_qpu_asks_and_no_sends_nothing_yes_submits(em, kc):
    before = sent(em)
    ran, prompts = run(kc, "%azure.submit bell target=ionq.qpu.aria-1 shots=100", answer="no")
    error = failed(ran, "SubmissionDeclined")
    assert "nothing was submitted" in error["evalue"]
    assert len(prompts) == 1 and prompts[0].endswith("? [y/N] ") and "97.50 USD" in prompts[0], prompts
    # The estimate was shown before the question.
    assert any("application/x-azq.estimate+json" in m["content"].get("data", {}) for m in ran.msgs)
    assert sent(em) == before
    for answer in ("", "n", "yes please"):
        failed(run(kc, "%azure.submit bell target=ionq.qpu.aria-1", answer=answer)[0], "SubmissionDeclined")
    assert sent(em) == before
    ran, prompts = run(kc, "%azure.execute bell target=ionq.qpu.aria-1 shots=100", answer="Y")
    ok(ran)
    assert len(prompts) == 1
    after = sent(em)
    # The counters see a submission: one job created, its input uploaded.
    assert after[0] == before[0] + 1 and after[1] > before[1]


def test_confirm_false_and_the_session_setting_do_not_ask(em, kc):
    before = sent(em)[0]
    ran, _ = run(kc, "%azure.submit bell target=ionq.qpu.aria-1 confirm=false")  # a prompt would fail
    ok(ran)
    ok(run(kc, "%env AZQ_CONFIRM_COST=0")[0])
    ok(run(kc, "%azure.submit bell target=quantinuum.qpu.h2-1")[0])
    assert sent(em)[0] == before + 2
    # An explicit confirm=true asks whatever the session says.
    ran, prompts = run(kc, "%azure.submit bell target=quantinuum.qpu.h2-1 confirm=true", answer="n")
    failed(ran, "SubmissionDeclined")
    assert len(prompts) == 1
    ok(run(kc, "%env AZQ_CONFIRM_COST=1")[0])
    failed(run(kc, "%azure.submit bell target=quantinuum.qpu.h2-1", answer="n")[0], "SubmissionDeclined")
    ok(run(kc, "%env AZQ_CONFIRM_COST=maybe")[0])
    error = failed(run(kc, "%azure.submit bell target=quantinuum.qpu.h2-1")[0], "InvalidCostSetting")
    assert "AZQ_CONFIRM_COST" in error["evalue"] and "0" in error["evalue"] and "1" in error["evalue"]
    assert sent(em)[0] == before + 2


@pytest.mark.parametrize("target", ["ionq.simulator", "quantinuum.sim.h2-1e", "quantinuum.sim.h2-1sc",
                                    "rigetti.sim.qvm"])
def test_simulators_never_ask(em, kc, target):
    before = sent(em)[0]
    ran, prompts = run(kc, f"%azure.submit bell target={target}")
    ok(ran)
    assert not prompts and sent(em)[0] == before + 1


def test_without_stdin_a_paid_target_is_refused_and_nothing_sent(em, kc):
    before = sent(em)
    ran, _ = run(kc, "%azure.execute bell target=ionq.qpu.aria-1", allow_stdin=False)
    error = failed(ran, "ConfirmationUnavailable")
    assert "confirm=false" in error["evalue"] and "AZQ_CONFIRM_COST=0" in error["evalue"]
    assert sent(em) == before
    ok(run(kc, "%azure.submit bell target=ionq.simulator", allow_stdin=False)[0])


def test_a_time_billed_qpu_says_it_cannot_estimate_and_still_asks(em, kc):
    before = sent(em)
    ran, prompts = run(kc, "%azure.submit bell target=rigetti.qpu.ankaa-3 shots=10", answer="n")
    failed(ran, "SubmissionDeclined")
    assert len(prompts) == 1 and "cannot be estimated" in prompts[0], prompts
    assert "cannot be estimated" in ran.text()
    assert sent(em) == before


def test_an_interrupt_at_the_prompt_submits_nothing_and_the_kernel_goes_on(em, tmp_path):
    with kernel_and_manager(kernel_env(tmp_path)) as (kc, km):
        ok(run(kc, f'%azure.connect connectionString="{em.cs}"')[0])
        ok(run(kc, "%%qasm bell\n" + BELL)[0])
        before = sent(em)
        msg_id = kc.execute("%azure.submit bell target=ionq.qpu.aria-1", allow_stdin=True)
        request = kc.stdin_channel.get_msg(timeout=30)
        assert request["msg_type"] == "input_request"
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "Interrupted"
        assert sent(em) == before
        ok(run(kc, "%azure.submit bell target=ionq.simulator")[0])


# --- The target row and completion -----------------------------------------------------------

def test_the_target_row_shows_formats_qubits_and_pricing(kc):
    ran, _ = run(kc, "%azure.target ionq.qpu.aria-1")
    row = ok(ran).data("application/x-azq.target+json")
    assert row["input_formats"][0] == "ionq.circuit.v1" and row["qubits"] == 25
    assert "0.00022" in row["pricing"] and "97.5" in row["pricing"] and "2026-12-03" in row["pricing"]
    text = ran.text()
    assert "ionq.circuit.v1" in text and "25" in text and "Pricing:" in text
    assert "billed by QPU time" in ok(run(kc, "%azure.target rigetti.qpu.ankaa-3")[0]).text()
    assert "free" in ok(run(kc, "%azure.target ionq.simulator")[0]).text()


def test_completion_carries_each_targets_availability(kc):
    code = "%azure.target "
    kc.complete(code, len(code))
    reply = kc.get_shell_msg(timeout=10)["content"]
    types = {t["text"]: t["type"] for t in reply["metadata"]["_jupyter_types_experimental"]}
    assert set(types) == set(reply["matches"])
    assert types["ionq.qpu.aria-1"] == "target · Available"
    assert types["rigetti.qpu.ankaa-3"] == "target · Degraded"
    assert types["quantinuum.qpu.h2-1"] == "target · Unavailable"
    t = reply["metadata"]["_jupyter_types_experimental"][0]
    assert (t["start"], t["end"]) == (reply["cursor_start"], reply["cursor_end"])
