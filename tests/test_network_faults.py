"""Network faults, magic by magic: each `%azure.*` magic that talks to the service runs in a real
kernel against `azq emulator` while the emulator injects a fault on the magic's routes (429 with
Retry-After, 500, 503, an answer slower than the client's deadline, a dropped connection, one
dropped after the change was kept, a cut JSON body, an expired SAS). A fault that fires once
(`times=1`) must be ridden out or named; one that never stops must end the magic with a short
error naming what happened, within the deadline (client/src/http.rs DEADLINE, set here to a
few seconds with AZQ_HTTP_DEADLINE). Job creation is counted on the emulator's side: one
submit is never two jobs.

The short run covers every kind and every magic on a rotation; AZQ_SOAK=1 runs the full
matrix (every magic × every kind × once/always)."""

from __future__ import annotations

import itertools
import os
import time

import pytest

from test_connect import kernel, kernel_env, run
from test_jobs import BELL, Em, job_id, ok

SOAK = os.environ.get("AZQ_SOAK") == "1"
DEADLINE_S = 2
# Slack over the deadline for the kernel's own work and the last backoff.
SLACK_S = 4
SLOW_MS = DEADLINE_S * 1000 + 800
# Jobs on this target stay Waiting (the machine is down for maintenance), so they can be cancelled.
HELD = "quantinuum.qpu.h2-1"

KINDS = {
    "429": "429:1",
    "500": "500",
    "503": "503",
    "slow": f"latency:{SLOW_MS}",
    "drop": "drop",
    "drop-after": "drop-after",
    "truncate": "truncate",
    "expired-sas": "expired-sas",
}
# What a short error must name, per kind (any one of the words, case-insensitive).
NAMED = {
    "429": ("429",),
    "500": ("500",),
    "503": ("503",),
    "slow": (f"did not answer within {DEADLINE_S} s",),
    "drop": ("connection", "closed", "failed", "reset", "aborted"),
    "drop-after": ("connection", "closed", "failed", "reset", "aborted"),
    "truncate": ("not what azq expected",),
    "expired-sas": ("403", "authenticationfailed", "expired"),
}
# Faults a retrying client rides out when they fire once.
RIDDEN_OUT = {"429", "500", "503", "drop", "drop-after", "expired-sas"}

# magic -> (its routes, the cell; `{job}` is a finished job, `{held}` a Waiting one)
MAGICS = {
    "connect": ("* **", None),  # the cell is the emulator's connection string
    "submit": ("* **", f"%azure.submit bell target=ionq.simulator watch=false"),
    "execute": ("* **", "%azure.execute bell target=ionq.simulator timeout=20 poll=0.2"),
    "status": ("GET **/jobs/*", "%azure.status {job}"),
    "output": ("GET **", "%azure.output {job}"),
    "jobs": ("GET **/jobs", "%azure.jobs count=5"),
    "cancel": ("* **/jobs/**", "%azure.cancel {held}"),
    "quotas": ("GET **/quotas", "%azure.quotas"),
    "session": ("* **/sessions/**", "%azure.session open net-faults target=ionq.simulator"),
    "watch": ("GET **/jobs/*", "%azure.watch {job}"),
}
# `%azure.target` (and the target list) answer from what `%azure.connect` fetched: no request.


def cases():
    full = [(m, k, always) for m in MAGICS for k in KINDS for always in (False, True)]
    if SOAK:
        return full
    # Every magic meets two kinds once and two always; every kind is met by several magics.
    kinds = itertools.cycle(KINDS)
    picked = []
    for m in MAGICS:
        for always in (False, False, True, True):
            picked.append((m, next(kinds), always))
    return picked


class Harness:
    def __init__(self, em, kc):
        self.em, self.kc = em, kc
        self.finished = None

    def faults(self, rules):
        self.em.admin("POST", "faults", {"rules": rules, "seed": 1})

    def cell(self, magic: str) -> str:
        template = MAGICS[magic][1]
        if magic == "connect":
            return f'%azure.connect connectionString="{self.em.cs}"'
        if magic == "session":
            run(self.kc, "%azure.session close")  # the last case's session, if it opened one
        if "{held}" in template:
            held = job_id(ok(run(self.kc, f"%azure.submit bell target={HELD} confirm=false watch=false")))
            return template.format(held=held)
        if "{job}" in template:
            return template.format(job=self.finished)
        return template

    def injected(self) -> int:
        return self.em.http.get(f"{self.em.url}/_emulator/stats", timeout=10).json()["faultsInjected"]

    def requests_since(self, n: int) -> list[dict]:
        return self.em.http.get(f"{self.em.url}/_emulator/requests", timeout=10).json()[n:]


@pytest.fixture(scope="module")
def h(azq_bin, tmp_path_factory):
    em = Em(azq_bin, job_delay_ms=50)
    home = tmp_path_factory.mktemp("home")
    try:
        with kernel(kernel_env(home, AZQ_HTTP_DEADLINE=DEADLINE_S)) as kc:
            ok(run(kc, f'%azure.connect connectionString="{em.cs}"'))
            ok(run(kc, "%%qasm bell\n" + BELL))
            harness = Harness(em, kc)
            harness.finished = job_id(ok(run(kc, "%azure.submit bell target=ionq.simulator watch=false")))
            for _ in range(100):
                if em.call("GET", f"jobs/{harness.finished}")["status"] == "Succeeded":
                    break
                time.sleep(0.1)
            yield harness
            # The kernel is still alive after every fault.
            ok(run(kc, "%azure.jobs count=1"))
    finally:
        em.close()


def error_text(ran) -> str:
    return f"{ran.error['ename']}: {ran.error['evalue']}"


@pytest.mark.parametrize("magic,kind,always", cases(),
                         ids=lambda v: v if isinstance(v, str) else ("always" if v else "once"))
def test_a_magic_rides_out_or_names_a_fault_within_its_deadline(h, magic, kind, always):
    cell = h.cell(magic)
    routes = MAGICS[magic][0]
    jobs_before = len(h.em.all_jobs())
    injected = h.injected()
    h.faults([f"{routes} {KINDS[kind]}" + ("" if always else " times=1")])
    started = time.monotonic()
    try:
        ran = run(h.kc, cell, timeout=60)
    finally:
        elapsed = time.monotonic() - started
        h.faults([])
    assert h.injected() > injected, f"{cell}: no fault reached it"
    assert elapsed < DEADLINE_S + SLACK_S + (20 if magic == "execute" else 0), (elapsed, ran.text())
    if ran.error is None:
        # It got through: the fault fired once (or could not touch this magic's answers).
        assert not always or kind == "expired-sas", ran.text()
    else:
        text = error_text(ran)
        assert len(text) < 500, text
        assert any(w in text.lower() for w in NAMED[kind]), text
        assert "Traceback" not in ran.text() and "panicked" not in ran.text(), ran.text()
        assert always or kind not in RIDDEN_OUT, f"a single {kind} was not ridden out: {text}"
    if magic in ("submit", "execute"):
        made = len(h.em.all_jobs()) - jobs_before
        assert made == (1 if ran.error is None else made), made
        assert made <= 1, f"one {magic} made {made} jobs"
    if magic == "cancel" and ran.error is None:
        assert "Cancel" in ran.text(), ran.text()


PUT_JOB = "PUT **/jobs/*"


@pytest.mark.parametrize("kind", ["429", "500", "503", "drop", "drop-after", "truncate", "slow"])
def test_one_submit_is_one_job_whatever_happens_to_its_put(h, kind):
    before = {j["id"] for j in h.em.all_jobs()}
    h.faults([f"{PUT_JOB} {KINDS[kind]} times=1"])
    try:
        ran = run(h.kc, "%azure.submit bell target=ionq.simulator watch=false", timeout=60)
    finally:
        h.faults([])
    # A slow answer is abandoned at the deadline, but the emulator may still apply the PUT.
    time.sleep(SLOW_MS / 1000 if kind == "slow" else 0)
    new = [j for j in h.em.all_jobs() if j["id"] not in before]
    puts = [e for e in h.requests_since(0) if e["method"] == "PUT" and "/jobs/" in e["path"]]
    assert len(new) <= 1, new
    if ran.error is None:
        assert len(new) == 1 and new[0]["id"] == job_id(ran), (new, ran.text())
    else:
        # A cut answer to the PUT is no reason to fail: the job was kept, and reading it back
        # by its id says so (else the user submits again, and has two).
        assert kind not in RIDDEN_OUT | {"truncate"}, error_text(ran)
        assert any(w in error_text(ran).lower() for w in NAMED[kind]), error_text(ran)
    if kind in ("429", "500", "503", "drop", "drop-after"):
        # It was sent again, under the same job id.
        ids = {e["path"].rsplit("/", 1)[-1] for e in puts[-2:]}
        assert len(ids) == 1, puts[-2:]


@pytest.mark.parametrize("magic,routes", [("submit", "POST **/storage/sasUri"), ("output", "* **")])
@pytest.mark.parametrize("always", [False, True], ids=["once", "always"])
def test_an_expired_sas_is_replaced_once_then_named(h, magic, routes, always):
    cell = h.cell(magic)
    before = len(h.em.all_jobs())
    h.faults([f"{routes} expired-sas" + ("" if always else " times=1")])
    try:
        ran = run(h.kc, cell, timeout=60)
    finally:
        h.faults([])
    if always:
        assert ran.error is not None, ran.text()
        text = error_text(ran)
        assert "403" in text and "AuthenticationFailed" in text and len(text) < 500, text
        assert text.count("submitted") <= 1, f"said twice: {text}"
    else:
        ok(ran)
    made = len(h.em.all_jobs()) - before
    assert made == (1 if magic == "submit" and not always else 0), made


def read_response(s) -> bytes:
    """One HTTP/1.1 response (its head and its Content-Length of body) from a socket."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        assert chunk, got
        got += chunk
    head, _, rest = got.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                   if line.startswith(b"content-length:")), 0)
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, got
        rest += chunk
    return head + b"\r\n\r\n" + rest


@pytest.mark.parametrize("refusal", ["injected-503", "bad-key-401"])
def test_an_early_answer_leaves_the_connection_usable_or_says_it_closes(azq_bin, refusal):
    """A client whose body arrives after its headers (as under load) gets an answer given before
    the body was read (an injected 503, a refused key); then the same keep-alive connection
    still answers, or the answer said `connection: close`: never an unannounced drop."""
    import socket

    from emulator_helpers import Emulator

    em = Emulator(azq_bin, *(("--fault", "PUT **/jobs/* 503:0") if refusal == "injected-503" else ()))
    try:
        host, port = em.url.removeprefix("http://").rsplit(":", 1)
        body = b'{"name": "x"}'
        key = em.key if refusal == "injected-503" else "not-the-key"
        status = b"503" if refusal == "injected-503" else b"401"
        put = (f"PUT {em.ws_path}/jobs/00000000-0000-4000-8000-000000000001?api-version=2026-01-15-preview HTTP/1.1\r\n"
               f"Host: x\r\nx-ms-quantum-api-key: {key}\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n").encode()
        get = (f"GET {em.ws_path}/providerStatus?api-version=2026-01-15-preview HTTP/1.1\r\nHost: x\r\n"
               f"x-ms-quantum-api-key: {em.key}\r\n\r\n").encode()
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(put)
            time.sleep(0.2)  # the headers alone reach the emulator first
            s.sendall(body)
            got = read_response(s)
            assert got.startswith(b"HTTP/1.1 " + status), got
            closes = b"connection: close" in got.lower()
            try:
                s.sendall(get)
                second = s.recv(65536)
            except OSError as e:
                second = repr(e).encode()
            assert closes or second.startswith(b"HTTP/1.1 200"), (got, second)
    finally:
        em.close()
