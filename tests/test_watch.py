"""Job rows that update themselves (issue 15), through a real kernel (jupyter_client) against
the emulator: updates while another cell runs and after every cell has ended, always under the
submitting cell's parent header and display id; the one-request-a-second budget of fifty
watches; `%azure.watch` listing and stopping; bad input; a failed check (kept) and a refused
sign-in (stopped); shutdown with watches running."""

from __future__ import annotations

import json
import queue
import re
import time
import uuid

import pytest

from jupyter_client.manager import start_new_kernel

from test_connect import KEY, kernel, kernel_env, run
from test_jobs import BELL, HOLD_MS, Em, failed, job_id, ok

JOBS = "application/x-azq.jobs+json"
WATCH = "application/x-azq.watch+json"


def collect(kc, until, timeout: float) -> list[dict]:
    """Every IOPub message, whatever its parent, until `until(msg)` holds."""
    msgs, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"gave up waiting after {timeout} s: {[m['msg_type'] for m in msgs][-20:]}"
        try:
            m = kc.get_iopub_msg(timeout=min(left, 1))
        except queue.Empty:
            continue
        msgs.append(m)
        if until(m):
            return msgs


def idle_of(msg_id):
    return lambda m: (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                      and m["content"]["execution_state"] == "idle")


def display_id_of(msgs, parent) -> str:
    shown = [m for m in msgs if m["msg_type"] == "display_data" and m["parent_header"].get("msg_id") == parent
             and JOBS in m["content"]["data"]]
    assert len(shown) == 1, [m["msg_type"] for m in msgs]
    return shown[0]["content"]["transient"]["display_id"]


def updates(msgs, display_id) -> list[dict]:
    return [m for m in msgs if m["msg_type"] == "update_display_data"
            and m["content"]["transient"]["display_id"] == display_id]


def submit(kc, code: str) -> tuple[str, str, str]:
    """Runs a watched `%azure.submit`: the cell's msg_id, the job id and the row's display id."""
    msg_id = kc.execute(code)
    msgs = collect(kc, idle_of(msg_id), 60)
    errors = [m for m in msgs if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id]
    assert not errors, errors
    display = display_id_of(msgs, msg_id)
    row = next(m for m in msgs if m["msg_type"] == "display_data"
               and m["parent_header"].get("msg_id") == msg_id)["content"]["data"][JOBS]
    return msg_id, row[0]["id"], display


@pytest.fixture(scope="module")
def held(azq_bin):
    e = Em(azq_bin, job_delay_ms=HOLD_MS)
    yield e
    e.close()


def connected(kc, em):
    ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
    ok(run(kc, "%%qasm bell\n" + BELL))


def test_the_row_updates_while_another_cell_runs_and_after_under_its_own_cell(azq_bin, tmp_path):
    # The emulator's clock: a job waits 3 s, then executes for 3 s.
    slow = Em(azq_bin, job_delay_ms=3000)
    try:
        with kernel(kernel_env(tmp_path)) as kc:
            connected(kc, slow)
            sub_id, jid, display = submit(kc, "%azure.submit bell target=ionq.simulator shots=100")
            other = kc.execute("%%bash\nsleep 3\necho slept")
            during = collect(kc, idle_of(other), 60)
            busy = next(i for i, m in enumerate(during) if m["parent_header"].get("msg_id") == other
                        and m["msg_type"] == "status" and m["content"]["execution_state"] == "busy")
            live = updates(during[busy:], display)
            assert live, "no update arrived while the other cell ran"
            # Each names the submitting cell, never the running one, and keeps the display id.
            assert all(m["parent_header"]["msg_id"] == sub_id for m in live)
            assert all(m["parent_header"]["msg_id"] == sub_id for m in updates(during, display))
            first = live[0]["content"]["data"]
            assert first[JOBS][0]["id"] == jid and first[WATCH]["watching"] is True
            assert f"%azure.watch off {jid}" in first["text/plain"]
            # The time shown is the job's own, from its creation time, not the watch's.
            assert re.search(r"for \d+ s since it was submitted", first["text/plain"]), first["text/plain"]
            # Nothing of the watcher went into the running cell's output.
            theirs = [m for m in during if m["parent_header"].get("msg_id") == other
                      and m["msg_type"] in ("display_data", "update_display_data", "execute_result")]
            assert theirs == []
            assert slow.call("GET", f"jobs/{jid}")["status"] != "Succeeded", "the job ended too early to test"

            # With every cell idle, updates go on until the job has ended: the final row
            # carries its results (small), under the same display id and parent.
            def final(m):
                return (m["msg_type"] == "update_display_data"
                        and m["content"]["transient"]["display_id"] == display
                        and m["content"]["data"][WATCH]["watching"] is False)

            after = collect(kc, final, 60)
            last = updates(after, display)[-1]
            assert last["parent_header"]["msg_id"] == sub_id
            data = last["content"]["data"]
            assert data[WATCH]["status"] == "Succeeded" and data[JOBS][0]["status"] == "Succeeded"
            outcomes = {o["outcome"] for o in data["application/x-azq.histogram+json"]["outcomes"]}
            assert outcomes <= {"00", "11"} and outcomes
            assert "<svg" in data["text/html"]
            # The watch is over: the listing is empty again.
            listed = ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")
            assert listed == []
    finally:
        slow.close()


def test_fifty_watched_jobs_stay_within_one_request_a_second(held, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        connected(kc, held)
        ids = {submit(kc, f"%azure.submit bell target=ionq.simulator jobName=w{i}")[1] for i in range(50)}
        listed = ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")
        assert {w["id"] for w in listed} == ids
        assert all(w["status"] == "Waiting" and w["target"] == "ionq.simulator" for w in listed)
        started = time.monotonic()
        before = held.admin("GET", "stats")["jobGets"]
        time.sleep(8)
        after = held.admin("GET", "stats")["jobGets"]
        elapsed = time.monotonic() - started
        # Polling goes on (the jobs are overdue all the time), but never faster than the gate.
        assert after - before >= 1, "the watcher made no requests"
        assert after - before <= elapsed + 1, (after - before, elapsed)
        ran = ok(run(kc, "%azure.watch off all"))
        assert "Stopped watching 50 jobs." in ran.text()
        quiet_from = held.admin("GET", "stats")["jobGets"]
        time.sleep(2)
        assert held.admin("GET", "stats")["jobGets"] - quiet_from <= 1  # at most one in flight


def test_watch_lists_stops_and_refuses_bad_input(held, azq_bin, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        connected(kc, held)
        ran = ok(run(kc, "%azure.watch"))
        assert "No jobs are watched" in ran.text()
        sub_a, a, display_a = submit(kc, "%azure.submit bell target=rigetti.sim.qvm jobName=first")
        _, b, display_b = submit(kc, "%azure.submit bell target=ionq.qpu.aria-1 jobName=second confirm=false")
        # watch=false: the row is the cell's value, not watched.
        c = job_id(ok(run(kc, "%azure.submit bell target=ionq.simulator watch=false")))
        listed = ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")
        assert {w["id"]: w["name"] for w in listed} == {a: "first", b: "second"}
        text = ok(run(kc, "%azure.watch")).text()
        assert "Watched For" in text and "Next Check" in text and "rigetti.sim.qvm" in text

        # Stopping one: its row says so, under its own cell, and nothing follows.
        off = kc.execute(f"%azure.watch off {a}")
        msgs = collect(kc, idle_of(off), 30)
        assert any("Stopped watching job" in m["content"].get("data", {}).get("text/plain", "") for m in msgs)
        stopped = updates(msgs, display_a)
        assert len(stopped) == 1 and stopped[0]["parent_header"]["msg_id"] == sub_a
        assert stopped[0]["content"]["data"][WATCH]["watching"] is False
        assert "Not watched any more: stopped by `%azure.watch off`" in stopped[0]["content"]["data"]["text/plain"]
        marker = kc.execute("%azure.watch")
        time.sleep(3)  # a simulator's job would be checked at least twice in this time
        later = collect(kc, idle_of(marker), 30)
        try:
            while True:
                later.append(kc.get_iopub_msg(timeout=0.2))
        except queue.Empty:
            pass
        assert updates(later, display_a) == []
        failed(run(kc, f"%azure.watch off {a}"), "NotWatched")

        # Watching a job from here: a row in this cell, then the listing has it.
        watch_c = kc.execute(f"%azure.watch {c}")
        msgs = collect(kc, idle_of(watch_c), 30)
        display_c = display_id_of(msgs, watch_c)
        listed = ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")
        assert {w["id"] for w in listed} == {b, c}
        # Watching it again moves the watch to the new row; the old one says so.
        again = kc.execute(f"%azure.watch {c}")
        msgs = collect(kc, idle_of(again), 30)
        assert display_id_of(msgs, again) != display_c
        moved = updates(msgs, display_c)
        assert [m["content"]["data"][WATCH]["stopped"] for m in moved] == ["moved"]
        assert moved[0]["parent_header"]["msg_id"] == watch_c
        listed = ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")
        assert sorted(w["id"] for w in listed) == sorted([b, c])

        # Bad input: each named, nothing watched by it.
        failed(run(kc, f"%azure.watch {uuid.uuid4()}"), "JobNotFound")
        failed(run(kc, "%azure.watch not-a-job"), "InvalidArgument")
        failed(run(kc, "%azure.watch all"), "InvalidArgument")
        failed(run(kc, f"%azure.watch off all {b}"), "ConflictingArguments")
        failed(run(kc, "%azure.submit bell target=ionq.simulator watch=maybe"), "InvalidArgument")
        err = failed(run(kc, "%azure.execute bell target=ionq.simulator watch=false"), "InvalidArgument")
        assert "`watch=` is for `%azure.submit`" in err["evalue"]
        # A finished job: its row and a clear message, no watch.
        ok(run(kc, f"%azure.cancel {a}"))
        ran = ok(run(kc, f"%azure.watch {a}"))
        assert "has already ended (Cancelled), so there is nothing to watch" in ran.text()
        assert ran.data(JOBS)[0]["status"] == "Cancelled"
        assert a not in {w["id"] for w in ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")}

        # Connecting to another workspace stops the rest; each row says why.
        other = Em(azq_bin, job_delay_ms=HOLD_MS)
        try:
            conn = kc.execute(f'%azure.connect connectionString="{other.cs}"')
            msgs = collect(kc, idle_of(conn), 60)
            reasons = [m["content"]["data"][WATCH]["stopped"] for m in updates(msgs, display_b)]
            assert reasons == ["connected to another workspace"]
            assert ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json") == []
        finally:
            other.close()


def test_shutdown_with_watches_running_exits_cleanly(held, tmp_path):
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30, env=kernel_env(tmp_path))
    try:
        connected(kc, held)
        for i in range(5):
            submit(kc, f"%azure.submit bell target=ionq.simulator jobName=s{i}")
        assert len(ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")) == 5
        kc.shutdown(restart=False)
        deadline = time.monotonic() + 10
        while km.is_alive():
            assert time.monotonic() < deadline, "the kernel did not exit"
            time.sleep(0.05)
        assert km.provisioner.process.returncode == 0
    finally:
        kc.stop_channels()
        km.cleanup_resources()
        km.context.destroy(linger=0)


def test_a_failed_check_keeps_trying_and_a_refused_one_stops_the_watch(held, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        connected(kc, held)
        sub, jid, display = submit(kc, "%azure.submit bell target=ionq.simulator jobName=faulty")

        def row_says(text, watching):
            def check(m):
                return (m["msg_type"] == "update_display_data"
                        and m["content"]["transient"]["display_id"] == display
                        and m["content"]["data"][WATCH]["watching"] is watching
                        and text in m["content"]["data"]["text/plain"])
            return check

        # A check the service answers with an error (not retried): the row says so, the
        # watch goes on, and the next check clears it.
        held.admin("POST", "faults", {"rules": ["GET **/jobs/* 400 1 times=1"]})
        msgs = collect(kc, row_says("The last check failed (ServiceError); trying again.", True), 30)
        assert all(m["parent_header"]["msg_id"] == sub for m in updates(msgs, display))
        msgs = collect(kc, row_says("Waiting for", True), 30)
        assert "failed" not in updates(msgs, display)[-1]["content"]["data"]["text/plain"]
        assert [w["id"] for w in ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json")] == [jid]
        # A refused sign-in cannot be mended in the background: the watch stops and says how
        # to go on.
        held.admin("POST", "faults", {"rules": ["GET **/jobs/* 401 1 times=1"]})
        msgs = collect(kc, row_says("signing in is needed (AuthenticationFailed)", False), 30)
        last = updates(msgs, display)[-1]["content"]["data"]
        assert last[WATCH]["stopped"] == "sign-in needed"
        assert f"`%azure.watch {jid}`" in last["text/plain"] and "%azure.connect" in last["text/plain"]
        assert KEY not in json.dumps(last)
        assert ok(run(kc, "%azure.watch")).data("application/x-azq.watches+json") == []
