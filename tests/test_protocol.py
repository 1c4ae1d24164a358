"""The wire protocol as a real client sees it: signatures, replays, malformed content,
interrupts, shutdown, stop_on_error, stdin, silent runs, user expressions, comms, batching."""

from __future__ import annotations

import datetime
import json
import os
import time
from queue import Empty

import pytest
import zmq
from jupyter_client.manager import start_new_kernel

TIMEOUT = 10


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        km.context.destroy(linger=0)


def iopub_for(kc, msg_id, timeout=TIMEOUT):
    """Every IOPub message of one request, up to and including its idle status."""
    msgs = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return msgs
    raise AssertionError(f"no idle for {msg_id}; got {[m['msg_type'] for m in msgs]}")


def shell_reply(kc, msg_id, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_shell_msg(timeout=0.5)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise AssertionError(f"no reply to {msg_id}")


def no_shell_reply(kc, wait=1.0):
    try:
        msg = kc.get_shell_msg(timeout=wait)
    except Empty:
        return True
    raise AssertionError(f"unexpected reply {msg['msg_type']}")


def run(kc, code, **kw):
    msg_id = kc.execute(code, **kw)
    reply = shell_reply(kc, msg_id)
    return reply, iopub_for(kc, msg_id)


def raw_frames(kc, msg_type, content=b"{}"):
    """Signed frames for a request whose content is given as raw bytes."""
    s = kc.session
    msg = s.msg(msg_type, {})
    header = json.dumps(msg["header"], default=str).encode()
    parts = [header, b"{}", b"{}", content]
    return msg["header"]["msg_id"], [b"<IDS|MSG>", s.sign(parts)] + parts


def test_tampered_missing_and_replayed_signatures_get_no_reply(kernel):
    _, kc = kernel
    sock = kc.shell_channel.socket
    _, frames = raw_frames(kc, "kernel_info_request")
    tampered = list(frames)
    tampered[1] = bytes(reversed(frames[1]))
    sock.send_multipart(tampered)
    assert no_shell_reply(kc)
    missing = list(frames)
    missing[1] = b""
    sock.send_multipart(missing)
    assert no_shell_reply(kc)
    # The good original is answered once; the same frames again are a replay.
    sock.send_multipart(frames)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["msg_type"] == "kernel_info_reply"
    sock.send_multipart(frames)
    assert no_shell_reply(kc)
    # And the kernel still answers the next good request.
    msg_id = kc.kernel_info()
    assert shell_reply(kc, msg_id)["content"]["status"] == "ok"


def test_malformed_content_gets_an_error_reply_and_idle(kernel):
    _, kc = kernel
    for msg_type, content in [
        ("execute_request", b"[1, 2"),
        ("execute_request", b'{"code": 5}'),
        ("complete_request", b'"just a string"'),
    ]:
        msg_id, frames = raw_frames(kc, msg_type, content)
        kc.shell_channel.socket.send_multipart(frames)
        reply = shell_reply(kc, msg_id)
        assert reply["msg_type"] == msg_type.replace("_request", "_reply")
        assert reply["content"]["status"] == "error"
        states = [m["content"]["execution_state"] for m in iopub_for(kc, msg_id)]
        assert states == ["busy", "idle"]


def test_unknown_message_types_are_ignored(kernel):
    _, kc = kernel
    _, frames = raw_frames(kc, "no_such_request")
    kc.shell_channel.socket.send_multipart(frames)
    msg_id = kc.kernel_info()
    assert shell_reply(kc, msg_id)["msg_type"] == "kernel_info_reply"


def test_message_order_and_counting(kernel):
    _, kc = kernel
    reply, msgs = run(kc, "%env AZQ_X=1\n%env AZQ_X")
    assert [m["msg_type"] for m in msgs] == ["status", "execute_input", "stream", "execute_result", "status"]
    assert reply["content"]["execution_count"] == 1
    reply, _ = run(kc, "%pwd")
    assert reply["content"]["execution_count"] == 2
    reply, msgs = run(kc, "%pwd", silent=True)
    assert reply["content"]["execution_count"] == 2
    assert [m["msg_type"] for m in msgs] == ["status", "status"]
    reply, _ = run(kc, "%pwd", store_history=False)
    assert reply["content"]["execution_count"] == 2


def test_interrupt_stops_a_running_cell(kernel):
    _, kc = kernel
    marker = "31.4159"
    msg_id = kc.execute(f"%%bash\nsleep {marker}; echo never")
    _wait_until_running(marker)
    kc.control_channel.send(kc.session.msg("interrupt_request", {}))
    interrupt = kc.control_channel.get_msg(timeout=TIMEOUT)
    assert interrupt["msg_type"] == "interrupt_reply"
    # The reply comes from the interrupt, not from the script finishing: the script was still
    # running when the interrupt went out, it never printed, and the cell ends as Interrupted.
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    outputs = iopub_for(kc, msg_id)
    assert not any("never" in m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    # The whole process group is gone.
    deadline = time.monotonic() + TIMEOUT
    while any(marker in p for p in _cmdlines()):
        assert time.monotonic() < deadline, "sleep outlived the interrupt"
        time.sleep(0.02)


def _wait_until_running(marker: str):
    """Until a process whose command line holds `marker` runs (the deadline is a hang guard)."""
    deadline = time.monotonic() + TIMEOUT
    while not any(marker in p for p in _cmdlines()):
        assert time.monotonic() < deadline, "the script never started"
        time.sleep(0.02)


def _cmdlines():
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    out.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out


def test_stop_on_error_aborts_queued_cells(kernel):
    _, kc = kernel
    # The failing cell takes a moment, so the second is surely queued behind it.
    first = kc.execute("%%bash\nsleep 0.3; exit 2")
    second = kc.execute("%pwd")
    assert shell_reply(kc, first)["content"]["status"] == "error"
    aborted = shell_reply(kc, second)["content"]
    # As ipykernel: no execution count, so a front end leaves the skipped cell's prompt blank
    # instead of showing the failed cell's number on it.
    assert aborted == {"status": "aborted"}, aborted
    iopub_for(kc, second)
    # A cell sent after the error was seen runs normally.
    reply, _ = run(kc, "%pwd")
    assert reply["content"]["status"] == "ok"
    # Without stop_on_error the next cell runs.
    first = kc.execute("%%bash\nsleep 0.3; exit 2", stop_on_error=False)
    second = kc.execute("%pwd")
    assert shell_reply(kc, first)["content"]["status"] == "error"
    assert shell_reply(kc, second)["content"]["status"] == "ok"


def _execute_dated(kc, code: str, skew: datetime.timedelta) -> str:
    """An execute_request whose header date is off by `skew`, as from a client (or a gateway
    host) whose clock is wrong."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    msg["header"]["date"] = datetime.datetime.now(datetime.timezone.utc) + skew
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


@pytest.mark.parametrize("hours", [1, -1])
def test_stop_on_error_goes_by_what_the_kernel_received_not_by_clocks(kernel, hours):
    _, kc = kernel
    skew = datetime.timedelta(hours=hours)
    first = _execute_dated(kc, "%%bash\nsleep 0.3; exit 2", skew)
    second = _execute_dated(kc, "%pwd", skew)
    assert shell_reply(kc, first)["content"]["status"] == "error"
    assert shell_reply(kc, second)["content"]["status"] == "aborted"
    iopub_for(kc, second)
    # Sent after the error's idle was seen: it runs, whatever its date says.
    third = _execute_dated(kc, "%pwd", skew)
    assert shell_reply(kc, third)["content"]["status"] == "ok"
    iopub_for(kc, third)


def test_stdin_prompt_for_a_secret(kernel):
    _, kc = kernel
    secret = "s3cr3t-sentinel-value"
    msg_id = kc.execute("%env -p AZQ_TEST_SECRET", allow_stdin=True)
    request = kc.stdin_channel.get_msg(timeout=TIMEOUT)
    assert request["msg_type"] == "input_request"
    assert request["content"]["password"] is True
    assert request["parent_header"]["msg_id"] == msg_id
    kc.input(secret)
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    msgs = iopub_for(kc, msg_id)
    reply, more = run(kc, "%env AZQ_TEST_SECRET")
    shown = [m for m in more if m["msg_type"] == "execute_result"][0]
    assert shown["content"]["data"]["text/plain"] == f"<hidden: {len(secret)} characters>"
    reply, listing = run(kc, "%%bash\necho ${#AZQ_TEST_SECRET}")
    assert any(m["msg_type"] == "stream" and m["content"]["text"] == f"{len(secret)}\n" for m in listing)
    history = shell_reply(kc, kc.history(hist_access_type="tail", n=50))
    everything = json.dumps([msgs, more, listing, reply, history], default=str)
    assert secret not in everything


def test_secrets_typed_into_a_cell_stay_out_of_history_and_outputs(kernel):
    _, kc = kernel
    secret = "typed-sentinel-secret-9"
    reply, msgs = run(kc, f"%env AZURE_CLIENT_SECRET={secret}\n%env AZURE_CLIENT_SECRET")
    outputs = [m for m in msgs if m["msg_type"] != "execute_input"]
    history = shell_reply(kc, kc.history(hist_access_type="tail", n=10, output=True))
    assert secret not in json.dumps([outputs, reply, history], default=str)
    assert history["content"]["history"][-1][2][0] == "%env AZURE_CLIENT_SECRET=<hidden>\n%env AZURE_CLIENT_SECRET"


def test_stdin_refused_when_the_front_end_does_not_allow_it(kernel):
    _, kc = kernel
    reply, msgs = run(kc, "%env -p AZQ_TEST_SECRET", allow_stdin=False)
    assert reply["content"]["ename"] == "StdinNotAllowed"


def test_user_expressions(kernel):
    _, kc = kernel
    reply, _ = run(kc, "%env AZQ_U=7", user_expressions={"u": "%env AZQ_U", "bad": "%nosuch"})
    ue = reply["content"]["user_expressions"]
    assert ue["u"] == {"status": "ok", "data": {"text/plain": "7"}, "metadata": {}}
    assert ue["bad"]["status"] == "error" and ue["bad"]["ename"] == "UnknownMagic"


def test_comms(kernel):
    _, kc = kernel
    msg_id = kc.comm_info()
    assert shell_reply(kc, msg_id)["content"] == {"status": "ok", "comms": {}}
    msg = kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "nope", "data": {}})
    kc.shell_channel.send(msg)
    closes = [m for m in iopub_for(kc, msg["header"]["msg_id"]) if m["msg_type"] == "comm_close"]
    assert closes and closes[0]["content"]["comm_id"] == "c1"


def test_kernel_info_on_control_publishes_busy_and_idle(kernel):
    _, kc = kernel
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=TIMEOUT)
    assert reply["content"]["protocol_version"] == "5.3"
    states = [m["content"]["execution_state"] for m in iopub_for(kc, msg["header"]["msg_id"])]
    assert states == ["busy", "idle"]


def test_history_search_with_the_fields_clients_omit(kernel):
    _, kc = kernel
    run(kc, "%pwd")
    msg_id = kc.history(hist_access_type="search", pattern="%pw*")
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    assert [h[2] for h in reply["content"]["history"]] == ["%pwd"]


def test_stream_output_is_batched(kernel):
    _, kc = kernel
    reply, msgs = run(kc, "%%bash\nfor i in $(seq 2000); do echo line $i; done")
    streams = [m for m in msgs if m["msg_type"] == "stream"]
    text = "".join(m["content"]["text"] for m in streams)
    assert text.splitlines() == [f"line {i}" for i in range(1, 2001)]
    # Not one message per write: lines are gathered into messages.
    assert len(streams) < 2000 and max(m["content"]["text"].count("\n") for m in streams) > 1


def test_large_output_is_cut_into_bounded_messages(kernel):
    _, kc = kernel
    # 200,000 bytes: in order, nothing lost, and cut into several messages. The batch goes out
    # once it holds 64 KiB, so a message is at most that plus one read of the script's output
    # (8 KiB).
    reply, msgs = run(kc, "%%bash\nhead -c 200000 /dev/zero | tr '\\0' x; echo")
    assert reply["content"]["status"] == "ok"
    streams = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    assert "".join(streams) == "x" * 200000 + "\n"
    assert max(len(t.encode()) for t in streams) < 64 * 1024 + 8192
    assert len(streams) >= 3


def test_errors_point_at_the_bad_text(kernel):
    _, kc = kernel
    reply, msgs = run(kc, "%env A=1\n%lsmagik")
    err = [m for m in msgs if m["msg_type"] == "error"]
    assert len(err) == 1
    assert err[0]["content"]["ename"] == "UnknownMagic"
    assert "did you mean `%lsmagic`?" in err[0]["content"]["evalue"]
    assert err[0]["content"]["traceback"][1:] == ["2 | %lsmagik", "    ^^^^^^^^"]


def test_quotas_is_a_magic_and_a_misspelling_gets_did_you_mean(kernel):
    _, kc = kernel
    reply, _ = run(kc, "%azure.qutoas")
    assert reply["content"]["ename"] == "UnknownMagic"
    assert "did you mean `%azure.quotas`?" in reply["content"]["evalue"]
    reply, _ = run(kc, "%azure.quotas")
    assert reply["content"]["ename"] == "NotConnected", reply["content"]
    reply, msgs = run(kc, "%azure.connect emulator\n%azure.quotas")
    assert reply["content"]["status"] == "ok", reply["content"]
    tables = [m["content"]["data"] for m in msgs if m["msg_type"] == "execute_result"]
    assert any(d["text/plain"].startswith("Dimension") for d in tables), tables


def test_shutdown_exits_cleanly():
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30)
    try:
        msg_id = kc.shutdown(restart=False)
        reply = kc.get_control_msg(timeout=TIMEOUT) if hasattr(kc, "get_control_msg") else None
        if reply is not None:
            assert reply["msg_type"] == "shutdown_reply"
            assert reply["content"] == {"status": "ok", "restart": False}
            assert reply["parent_header"]["msg_id"] == msg_id
        deadline = time.monotonic() + 5
        while km.is_alive():
            assert time.monotonic() < deadline, "the kernel did not exit"
            time.sleep(0.02)
        assert km.provisioner.process.returncode == 0
    finally:
        kc.stop_channels()
        km.cleanup_resources()
        km.context.destroy(linger=0)


def test_restart_gives_a_fresh_kernel():
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30)
    try:
        run(kc, "%env AZQ_BEFORE_RESTART=1")
        old_pid = km.provisioner.process.pid
        km.restart_kernel(now=False)
        assert km.provisioner.process.pid != old_pid
        kc.wait_for_ready(timeout=30)
        reply, _ = run(kc, "%env AZQ_BEFORE_RESTART")
        assert reply["content"]["ename"] == "EnvVarNotSet"
        assert reply["content"]["execution_count"] == 1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        km.context.destroy(linger=0)


def test_heartbeat_beats(kernel):
    _, kc = kernel
    time.sleep(1.5)
    assert kc.hb_channel.is_beating()


def test_heartbeat_answers_while_a_long_cell_runs(kernel):
    km, kc = kernel
    marker = "27.1828"
    msg_id = kc.execute(f"%%bash\nsleep {marker}")
    _wait_until_running(marker)
    # A heartbeat of our own, straight to the port, while the cell holds the shell.
    ctx = zmq.Context.instance()
    hb = ctx.socket(zmq.REQ)
    hb.linger = 0
    hb.connect(f"{km.transport}://{km.ip}:{km.hb_port}")
    try:
        for ping in (b"ping-1", b"ping-2"):
            hb.send(ping)
            assert hb.poll(TIMEOUT * 1000), "no heartbeat while a cell runs"
            assert hb.recv() == ping
        assert any(marker in p for p in _cmdlines()), "the cell ended before the heartbeat was checked"
    finally:
        hb.close()
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))
        kc.control_channel.get_msg(timeout=TIMEOUT)
        shell_reply(kc, msg_id)


def _table_rows(html: str) -> list[list[tuple[str, str, str]]]:
    """Each <tr> of `html` as its cells: (tag, colspan, text)."""
    from html.parser import HTMLParser

    rows: list[list[tuple[str, str, str]]] = []

    class Rows(HTMLParser):
        cell = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                rows.append([])
            elif tag in ("td", "th"):
                self.cell = [tag, dict(attrs).get("colspan", "1"), ""]

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell:
                rows[-1].append(tuple(self.cell))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell[2] += data

    Rows().feed(html)
    return rows


def test_target_table_columns_hold_what_their_headings_say(kernel):
    """A provider's availability sits under "Current Availability", not under the queue time."""
    _, kc = kernel
    reply, msgs = run(kc, "%azure.connect emulator")
    html = next(m["content"]["data"]["text/html"] for m in msgs if m["msg_type"] == "execute_result")
    table = html[html.index('<table class="azq-targets"'):]
    rows = _table_rows(table[: table.index("</table>")])
    heads = [c[2] for c in rows[0]]
    assert heads == ["Target ID", "Current Availability", "Average Queue Time (Seconds)"]
    providers = [r for r in rows[1:] if r[0][0] == "th"]
    assert providers, rows
    for row in rows[1:]:
        assert [c[1] for c in row] == ["1", "1", "1"], row
    for row in providers:
        assert row[1][2].strip() in ("Available", "Degraded", "Unavailable"), row
        assert row[2][2].strip() == "", row
