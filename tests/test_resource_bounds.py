"""Resource bounds (issue 18, item 8): a cell printing a lot, a magic making a big display, many
stored programs, and a large program sent to one emulator from four kernels at once. While each
load runs, a probe on sockets of its own pings the heartbeat and asks kernel_info on control every
~50 ms; every answer must come within 100 ms, and the kernel's resident memory (VmRSS, sampled
with VmHWM from /proc) must stay under the bound docs/reliability.md gives.

The short sizes run in `make test`; AZQ_SOAK=1 gives the issue's full sizes (1 GB printed, a
100 MB display, 10,000 programs, 26 qubits). Each test prints its figures (run with -s)."""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import zmq
from jupyter_client.session import Session

from test_connect import EmulatorLines, kernel_and_manager, kernel_env, run

SOAK = os.environ.get("AZQ_SOAK") == "1"
MiB = 1 << 20
# The bound on heartbeat and control answers.
ANSWER_S = 0.100
PROBE_EVERY_S = 0.050
# The kernel's resident memory bound under every load here (documented in docs/reliability.md).
RSS_BOUND = 256 * MiB


def rss(pid: int) -> tuple[int, int]:
    """The process's resident set now and at its peak (VmRSS, VmHWM), in bytes."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                fields[k] = int(v.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def _probe(info: dict, pid: int, started, stop, out) -> None:
    """The probe's loop, in a process of its own (so the test's own work, such as decoding a
    100 MB message while holding Python's GIL, cannot delay it): every PROBE_EVERY_S, one
    heartbeat round trip, one kernel_info round trip on control, and one memory sample."""
    ctx = zmq.Context()
    key = info["key"]
    session = Session(key=key if isinstance(key, bytes) else key.encode(), signature_scheme=info["signature_scheme"])

    def connect(kind, channel):
        sock = ctx.socket(kind)
        sock.linger = 0
        sock.connect(f"{info['transport']}://{info['ip']}:{info[channel + '_port']}")
        return sock

    hb, control = connect(zmq.REQ, "hb"), connect(zmq.DEALER, "control")
    hbs, controls, rsss, hwm = [], [], [], 0
    try:
        while not stop.is_set():
            tick = time.monotonic()
            now, peak = rss(pid)
            rsss.append(now)
            hwm = max(hwm, peak)

            t0 = time.monotonic()
            hb.send(b"ping")
            if hb.poll(5000):
                hb.recv()
                hbs.append(time.monotonic() - t0)
            else:  # no answer in 5 s: record it and start a fresh REQ socket
                hbs.append(float("inf"))
                hb.close()
                hb = connect(zmq.REQ, "hb")

            t0 = time.monotonic()
            sent = session.send(control, "kernel_info_request", {})
            answered = False
            while control.poll(max(0, int((t0 + 5 - time.monotonic()) * 1000))):
                _, reply = session.recv(control)
                if reply["parent_header"].get("msg_id") == sent["header"]["msg_id"]:
                    answered = True
                    break
            controls.append(time.monotonic() - t0 if answered else float("inf"))
            started.set()

            stop.wait(max(0.0, PROBE_EVERY_S - (time.monotonic() - tick)))
    finally:
        hb.close()
        control.close()
        ctx.term()
        out.put((hbs, controls, rsss, hwm))


class Probe:
    """Runs `_probe` against one kernel in a child process for the length of a `with` block;
    each round trip is timed at the probe's own sockets."""

    def __init__(self, km):
        info = km.get_connection_info(session=False)
        info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in info.items()}
        self.pid = km.provisioner.process.pid
        mp = multiprocessing.get_context("spawn")
        self.started, self.stop = mp.Event(), mp.Event()
        self.out = mp.Queue()
        self.proc = mp.Process(target=_probe, args=(info, self.pid, self.started, self.stop, self.out), daemon=True)
        self.hb: list[float] = []
        self.control: list[float] = []
        self.rss: list[int] = []
        self.hwm = 0

    def __enter__(self):
        self.proc.start()
        # The load starts only once the probe is measuring.
        assert self.started.wait(30), "the probe did not start"
        return self

    def __exit__(self, *exc):
        self.collect()
        self.proc.join(timeout=10)

    def collect(self):
        """Stops the probe and takes its samples (once)."""
        if not self.stop.is_set():
            self.stop.set()
            self.hb, self.control, self.rss, self.hwm = self.out.get(timeout=30)

    def figures(self) -> dict:
        def dist(xs):
            xs = sorted(xs)
            if not xs:
                return {}
            return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 2),
                    "p99_ms": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000, 2),
                    "max_ms": round(xs[-1] * 1000, 2)}
        return {"hb": dist(self.hb), "control": dist(self.control),
                "rss_max_MiB": round(max(self.rss, default=0) / MiB, 1),
                "hwm_MiB": round(self.hwm / MiB, 1)}

    def check(self, label: str, bound: int = RSS_BOUND):
        self.collect()
        figures = self.figures()
        print(f"\n[{label}] {json.dumps(figures)}")
        assert len(self.hb) >= 3 and len(self.control) >= 3, figures
        assert max(self.hb) < ANSWER_S, ("heartbeat", figures)
        assert max(self.control) < ANSWER_S, ("control", figures)
        assert self.hwm < bound, (f"peak RSS {self.hwm / MiB:.0f} MiB over the {bound / MiB:.0f} MiB bound", figures)
        return figures


def drain(kc, msg_id: str, on_msg, timeout: float) -> dict:
    """Reads the cell's IOPub messages as they arrive (on_msg sees each) until it is idle, then
    its reply."""
    deadline = time.monotonic() + timeout
    while True:
        m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
        on_msg(m)
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def settle(probe: Probe, seconds: float = 0.3):
    """Lets the probe take a few samples of the kernel at rest."""
    time.sleep(seconds)


# --- (a) a cell printing a lot -----------------------------------------------------------------

# A cell's stream output is shown up to this many bytes; then one note, and the rest is read and
# dropped (kernel/src/iopub.rs CELL_STREAM_CAP).
CELL_STREAM_CAP = 32 * MiB


def test_a_cell_printing_a_lot_is_cut_at_the_cap_with_a_note_and_memory_bounded(tmp_path):
    size = (1 << 30) if SOAK else 64 * MiB
    with kernel_and_manager(kernel_env(tmp_path)) as (kc, km), Probe(km) as probe:
        settle(probe)
        got = {"stdout": 0, "messages": 0, "largest": 0, "stderr": "", "other": []}

        def on_msg(m):
            if m["msg_type"] == "stream":
                text = m["content"]["text"]
                got["messages"] += 1
                got["largest"] = max(got["largest"], len(text))
                if m["content"]["name"] == "stdout":
                    assert text.count("x") == len(text)
                    got["stdout"] += len(text)
                else:
                    got["stderr"] += text
            else:
                got["other"].append(m["msg_type"])

        t0 = time.monotonic()
        msg_id = kc.execute(f"%%bash\nhead -c {size} /dev/zero | tr '\\0' x")
        reply = drain(kc, msg_id, on_msg, timeout=900 if SOAK else 120)
        took = time.monotonic() - t0
        settle(probe)
        print(f"\n[print] {size} bytes printed; {got['stdout']} shown in {got['messages']} messages "
              f"(largest {got['largest']}) in {took:.1f} s; stderr {got['stderr']!r}")
        probe.check("print")
        assert reply["content"]["status"] == "ok", reply["content"]
        # The first CELL_STREAM_CAP bytes are shown whole, then a note says the rest is not.
        assert got["stdout"] == CELL_STREAM_CAP
        assert "output truncated" in got["stderr"] and "32 MiB" in got["stderr"], got["stderr"]
        assert got["largest"] < 64 * 1024 + 8192
        # The next cell's output is shown again.
        ran = run(kc, "%%bash\necho after")
        assert ran.text().strip() == "after", ran.text()


# --- (b) a magic making a big display ----------------------------------------------------------

def test_a_magic_making_a_big_display_keeps_the_kernel_answering(tmp_path):
    """`%%html` is the magic whose display grows with its input (no magic builds a large display
    from a small cell), so the display is as big as the cell: 100 MB needs the message limit
    raised past its 64 MiB default (AZQ_MAX_MESSAGE_BYTES)."""
    size = 100_000_000 if SOAK else 10_000_000
    env = kernel_env(tmp_path, AZQ_MAX_MESSAGE_BYTES=256 * MiB)
    body = "<p>" + "y" * (size - 7) + "</p>"
    with kernel_and_manager(env) as (kc, km), Probe(km) as probe:
        settle(probe)
        shown = []
        t0 = time.monotonic()
        msg_id = kc.execute("%%html\n" + body)
        reply = drain(kc, msg_id, lambda m: shown.append(m), timeout=300)
        took = time.monotonic() - t0
        settle(probe)
        print(f"\n[display] {size} byte display in {took:.1f} s")
        # The cell's text is kept once for the display message and once in history.
        probe.check("display", bound=RSS_BOUND + 6 * size)
        assert reply["content"]["status"] == "ok", reply["content"]
        displays = [m["content"]["data"] for m in shown if m["msg_type"] == "display_data"]
        assert len(displays) == 1
        assert displays[0]["text/html"] == body
        # Memory at rest after the display went out.
        time.sleep(0.5)
        print(f"[display] RSS at rest after: {rss(probe.pid)[0] / MiB:.1f} MiB")


# --- (c) many stored programs ------------------------------------------------------------------

PROGRAM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
MAX_PROGRAMS = 1000  # magics/src/azure/programs.rs


def test_many_stored_programs_are_capped_clearly_and_listed(tmp_path):
    tries = 10_000 if SOAK else 1_100
    with kernel_and_manager(kernel_env(tmp_path)) as (kc, km), Probe(km) as probe:
        settle(probe)
        before = rss(probe.pid)[0]
        t0 = time.monotonic()
        # Up to WINDOW cells queued at once, as "run all" does; a client must read its replies, as
        # a front end does, since the kernel holds at most 1000 unread replies for one peer. An
        # error must not abort the cells queued after it, hence stop_on_error=False.
        window, ids, replies = 500, [], {}
        while len(replies) < tries:
            while len(ids) < tries and len(ids) - len(replies) < window:
                ids.append(kc.execute(f"%%qasm p{len(ids):05d}\n{PROGRAM}", stop_on_error=False))
            r = kc.get_shell_msg(timeout=120)
            replies[r["parent_header"]["msg_id"]] = r["content"]
            # Read IOPub as it comes, as a front end does (IOPub drops for a reader far behind).
            while kc.iopub_channel.msg_ready():
                kc.get_iopub_msg(timeout=0)
        stored_s = time.monotonic() - t0
        after = rss(probe.pid)[0]
        statuses = [replies[i] for i in ids]
        assert all(c["status"] == "ok" for c in statuses[:MAX_PROGRAMS]), statuses[:3]
        refused = statuses[MAX_PROGRAMS:]
        assert refused and all(c["status"] == "error" and c["ename"] == "ProgramTooLarge" for c in refused), refused[:1]
        assert f"already holds {MAX_PROGRAMS} programs" in refused[0]["evalue"], refused[0]

        t0 = time.monotonic()
        ran = run(kc, "%qasm", timeout=60)
        list_s = time.monotonic() - t0
        assert ran.error is None, ran.text()
        listing = ran.text()
        assert "p00000" in listing and f"p{MAX_PROGRAMS - 1:05d}" in listing and f"p{MAX_PROGRAMS:05d}" not in listing

        t0 = time.monotonic()
        code = "%azure.submit p0099"
        kc.complete(code, len(code))
        reply = kc.get_shell_msg(timeout=30)
        complete_s = time.monotonic() - t0
        matches = reply["content"]["matches"]
        assert sorted(matches) == [f"p{i:05d}" for i in range(990, 1000)], matches
        settle(probe)
        print(f"\n[programs] {tries} tried, {MAX_PROGRAMS} stored in {stored_s:.1f} s; listing {len(listing)} chars "
              f"in {list_s * 1000:.0f} ms; completion in {complete_s * 1000:.0f} ms; "
              f"RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB ({(after - before) / MAX_PROGRAMS / 1024:.1f} KiB a program)")
        probe.check("programs")


# --- (d) one large program from four kernels ---------------------------------------------------

def ghz(n: int) -> str:
    """A GHZ program on n qubits: the simulator holds all 2^n amplitudes (16 B each: 1 GiB at
    26 qubits), while the result has two outcomes, so the load is the simulation itself."""
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "h q[0];"]
    lines += [f"cx q[{i}], q[{i + 1}];" for i in range(n - 1)]
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def test_a_large_program_from_four_kernels_at_once(azq_bin, tmp_path):
    qubits = 26 if SOAK else 22
    em = EmulatorLines(azq_bin, job_delay_ms=5)
    try:
        managers = []
        import contextlib
        with contextlib.ExitStack() as stack:
            for k in range(4):
                home = tmp_path / f"k{k}"
                home.mkdir()
                managers.append(stack.enter_context(kernel_and_manager(kernel_env(home))))
            probes = [stack.enter_context(Probe(km)) for _, km in managers]
            for kc, _ in managers:
                ran = run(kc, f'%azure.connect connectionString="{em.cs}"\n%azure.target ionq.simulator', timeout=60)
                assert ran.error is None, ran.text()
                ran = run(kc, f"%%qasm big\n{ghz(qubits)}", timeout=60)
                assert ran.error is None, ran.text()

            def execute(kc):
                t0 = time.monotonic()
                ran = run(kc, "%azure.execute big shots=100 timeout=600", timeout=900)
                return ran, time.monotonic() - t0

            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda m: execute(m[0]), managers))
            settle(probes[0])
            em_rss = rss(em.proc.pid)
            outcomes = []
            for ran, took in results:
                if ran.error is None:
                    outcomes.append(("completed", round(took, 1)))
                else:
                    outcomes.append((ran.error["ename"], ran.error["evalue"], round(took, 1)))
            print(f"\n[{qubits} qubits x4] {outcomes}; emulator RSS now {em_rss[0] / MiB:.0f} MiB, "
                  f"peak {em_rss[1] / MiB:.0f} MiB")
            for k, probe in enumerate(probes):
                probe.check(f"{qubits} qubits, kernel {k}")
            # Each completes, or is refused with an error that says why.
            for ran, _ in results:
                assert ran.error is None or ran.error["evalue"], ran.text()
            if not SOAK:
                assert all(o[0] == "completed" for o in outcomes), outcomes
    finally:
        em.proc.terminate()
        em.proc.wait(timeout=10)
