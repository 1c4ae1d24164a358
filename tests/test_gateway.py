"""azq away from the browser: Jupyter Kernel Gateway (the piece JupyterHub and Enterprise
Gateway set-ups use to run kernels on another host) serves azq over its HTTP and websocket API.

A real `jupyter kernelgateway` (the pinned jupyter-kernel-gateway) listens on 127.0.0.1 on a
free port, with a token and a private HOME, runtime, data and config dir, and finds azq through
the kernelspec conftest.py installed. Through its REST API and the websocket
`/api/kernels/<id>/channels` (Jupyter messages as JSON text frames, as a `--gateway-url`
server relays them) the tests check that:

- requests without the token (HTTP and websocket) are refused;
- the gateway and azq listen on loopback only;
- `/api/kernelspecs` lists azq with its display name and serves its logo;
- `%azure.connect emulator` connects, and later cells (`%azure.target`, `%azure.quotas`) use
  the connection;
- a kernel started the way a `--gateway-url` server starts one (the gateway then gives it PATH
  and KERNEL_* variables only, no HOME) works as well;
- POST .../interrupt stops a running `%%bash` cell and the kernel lives on;
- DELETE ends the azq process, which leaves on the shutdown request (never killed);
- `jupyter server --gateway-url` (what JupyterLab and Notebook run against a remote gateway;
  here with no azq kernelspec of its own) lists azq, opens a notebook session whose kernel runs
  on the gateway, relays its cells and interrupts, and ends the kernel with the session;
- SIGTERM stops the gateway, and the kernels it still ran, cleanly.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client, a dependency of jupyter_server (which the gateway needs)

TIMEOUT = 20  # seconds; a hang guard on 2 shared cores, never a measure of speed
TOKEN = "azq-gateway-test-token-5f1c"
DISPLAY_NAME = "Azure Quantum (azq)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmdlines() -> dict[int, str]:
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    out[int(pid)] = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                pass
    return out


def _listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) pairs `pid` listens on over TCP, from its sockets' inodes."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    out = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and inode in inodes:  # LISTEN
                    addr, port = local.split(":")
                    raw = bytes.fromhex(addr)
                    # /proc shows the address as host-order 32-bit words.
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    out.add((socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words),
                             int(port, 16)))
    return out


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _wait_for(predicate, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


class Server:
    """A Jupyter web server in a subprocess on 127.0.0.1 and a free port, in a private tree
    (HOME, runtime, data and config dirs), logging to a file; SIGTERM stops it."""

    token = TOKEN

    def __init__(self, name: str, env: dict | None = None):
        self.root = Path(tempfile.mkdtemp(prefix=f"azq-{name}-"))
        self.home = self.root / "home"
        self.home.mkdir()
        self.log_path = self.root / f"{name}.log"
        self.env = {
            "PATH": os.environ["PATH"],
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": str(self.home),
            "JUPYTER_RUNTIME_DIR": str(self.root / "runtime"),
            "JUPYTER_DATA_DIR": str(self.root / "data"),
            "JUPYTER_CONFIG_DIR": str(self.root / "config"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "TMPDIR": str(self.root),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        for _ in range(3):  # another process may take the free port before the server does
            if self._start(_free_port()):
                return
        log = self.log()
        self.close()
        raise AssertionError(f"{name} did not start:\n{log}")

    def argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def _start(self, port: int) -> bool:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv(port), env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.url}/api/kernelspecs", headers=self.auth, timeout=5).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    @property
    def auth(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=kw.pop("headers", self.auth), timeout=TIMEOUT, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, headers=kw.pop("headers", self.auth), timeout=TIMEOUT, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return requests.delete(self.url + path, headers=kw.pop("headers", self.auth), timeout=TIMEOUT, **kw)

    def start_kernel(self, body: dict | None = None, parent: int | None = None,
                     path: str = "/api/kernels") -> tuple[str, int]:
        """POST /api/kernels (or /api/sessions); the kernel's id and the pid of its azq
        process, a child of `parent` (this server by default)."""
        r = self.post(path, json=body or {"name": "azq"})
        assert r.status_code == 201, (r.status_code, r.text)
        model = r.json()
        model = model.get("kernel", model)
        assert model["name"] == "azq", model
        kid = model["id"]
        pids: list[int] = []

        def found():
            pids[:] = [p for p, c in _cmdlines().items() if f"kernel-{kid}.json" in c and " kernel " in c]
            return pids

        _wait_for(found, f"no azq process for kernel {kid}")
        assert len(pids) == 1, pids
        assert _ppid(pids[0]) == (parent or self.proc.pid), "the kernel is not the gateway's child"
        return kid, pids[0]

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; the exit code (None if it had to be killed)."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc is not None:
            code = self.proc.returncode
        return code

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Gateway(Server):
    """`jupyter kernelgateway`, finding azq through conftest.py's kernelspec, with a token."""

    def __init__(self):
        super().__init__("gateway", {
            "JUPYTER_PATH": os.environ["JUPYTER_PATH"],
            "KG_AUTH_TOKEN": TOKEN,
            # As the README says: JupyterLab lists running kernels (GET /api/kernels), which the
            # gateway refuses (403) by default.
            "KG_LIST_KERNELS": "True",
        })

    def argv(self, port: int) -> list[str]:
        # DEBUG: the log then says when a kernel had to be terminated or killed.
        return [sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
                f"--KernelGatewayApp.port={port}", "--KernelGatewayApp.port_retries=0",
                "--Application.log_level=DEBUG"]


class GatewayClientServer(Server):
    """`jupyter server --gateway-url`, what JupyterLab and Notebook run to use a remote
    gateway; no azq kernelspec of its own (no JUPYTER_PATH), so azq can only come from there."""

    token = "azq-lab-test-token-83d0"

    def __init__(self, gw: Gateway):
        self.gw = gw
        super().__init__("lab", {"JUPYTER_GATEWAY_AUTH_TOKEN": TOKEN})

    def argv(self, port: int) -> list[str]:
        return [sys.executable, "-m", "jupyter_server", f"--gateway-url={self.gw.url}",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
                *(["--allow-root"] if os.geteuid() == 0 else [])]


class Channels:
    """The kernel's websocket, speaking Jupyter messages as JSON text frames."""

    def __init__(self, server: Server, kid: str):
        self.ws = websocket.create_connection(
            f"{server.ws_url}/api/kernels/{kid}/channels", header=[f"Authorization: token {server.token}"],
            timeout=TIMEOUT)
        self.session = uuid.uuid4().hex

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "gateway-test",
                       "session": self.session, "version": "5.3",
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": [],
        }))
        return msg_id

    def execute(self, code: str) -> str:
        return self.send("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})

    def collect(self, msg_id: str, timeout: float = TIMEOUT) -> tuple[dict, list[dict]]:
        """The shell reply to `msg_id` and its iopub messages up to and including idle."""
        reply, iopub, idle = None, [], False
        deadline = time.monotonic() + timeout
        self.ws.settimeout(0.5)
        while reply is None or not idle:
            assert time.monotonic() < deadline, (
                f"no reply and idle for {msg_id}: reply={reply is not None}, "
                f"iopub={[m['msg_type'] for m in iopub]}")
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            msg = json.loads(frame)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["channel"] == "shell":
                reply = msg
            elif msg["channel"] == "iopub":
                iopub.append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
        return reply, iopub

    def run(self, code: str, timeout: float = TIMEOUT) -> tuple[dict, list[dict]]:
        return self.collect(self.execute(code), timeout)

    def close(self):
        self.ws.close()


def _results(iopub: list[dict]) -> list[dict]:
    return [m["content"]["data"] for m in iopub if m["msg_type"] in ("execute_result", "display_data")]


def _stream(iopub: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in iopub if m["msg_type"] == "stream")


@pytest.fixture(scope="module")
def gateway():
    gw = Gateway()
    try:
        yield gw
    finally:
        gw.close()


@contextlib.contextmanager
def kernel(gw: Gateway, body: dict | None = None):
    kid, pid = gw.start_kernel(body)
    ch = Channels(gw, kid)
    try:
        yield kid, pid, ch
    finally:
        ch.close()
        gw.delete(f"/api/kernels/{kid}")


def test_requests_without_the_token_are_refused(gateway):
    assert gateway.get("/api/kernels").status_code == 200
    for headers in ({}, {"Authorization": "token not-the-token"}):
        for method, path in (("get", "/api"), ("get", "/api/kernelspecs"), ("get", "/api/kernels"),
                             ("post", "/api/kernels")):
            r = getattr(gateway, method)(path, headers=headers, json={"name": "azq"})
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
    assert gateway.get("/api/kernelspecs", headers={}, params={"token": "wrong"}).status_code == 401
    # The refused POSTs started no kernel.
    started = [c for c in _cmdlines().values() if str(gateway.root) in c]
    assert not started, started
    # The websocket needs the token too; a kernel id that exists makes the refusal the token's.
    kid, _ = gateway.start_kernel()
    try:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(f"{gateway.ws_url}/api/kernels/{kid}/channels", timeout=TIMEOUT)
        assert refused.value.status_code == 401
    finally:
        assert gateway.delete(f"/api/kernels/{kid}").status_code == 204


def test_the_gateway_and_its_kernels_listen_on_loopback_only(gateway):
    assert _listening(gateway.proc.pid) == {("127.0.0.1", gateway.port)}
    with kernel(gateway) as (kid, pid, _):
        info = json.loads((gateway.root / "runtime" / f"kernel-{kid}.json").read_text())
        assert info["ip"] == "127.0.0.1" and info["transport"] == "tcp", info
        ports = {info[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}
        assert _listening(pid) == {("127.0.0.1", p) for p in ports}


def test_kernelspecs_list_azq_with_its_display_name_and_logo(gateway):
    r = gateway.get("/api/kernelspecs")
    assert r.status_code == 200, r.text
    specs = r.json()["kernelspecs"]
    assert "azq" in specs, sorted(specs)
    spec = specs["azq"]["spec"]
    assert spec["display_name"] == DISPLAY_NAME
    assert spec["interrupt_mode"] == "message"
    assert spec["argv"][1:] == ["kernel", "--connection-file", "{connection_file}"]
    assert Path(spec["argv"][0]).is_absolute()
    logo = specs["azq"]["resources"]["logo-64x64"]
    r = gateway.get(logo)
    assert r.status_code == 200, (logo, r.status_code)
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_connect_emulator_over_the_websocket_and_use_the_connection(gateway):
    with kernel(gateway) as (kid, pid, ch):
        reply, iopub = ch.run("%azure.connect emulator")
        assert reply["msg_type"] == "execute_reply"
        assert reply["content"]["status"] == "ok", reply["content"]
        assert not [m for m in iopub if m["msg_type"] == "error"], iopub
        (data,) = [m["content"]["data"] for m in iopub if m["msg_type"] == "execute_result"]
        text = data["text/plain"]
        assert text.startswith("Connected to Azure Quantum workspace azq-demo-workspace in location westus"), text
        assert "the embedded emulator at http://127.0.0.1:" in text
        assert "ionq.simulator" in text and "Target ID" in text
        assert "Connected to Azure Quantum workspace" in data["text/html"]
        targets = data["application/x-azq.targets+json"]
        assert targets["emulator"] is True
        assert "ionq.simulator" in [t["id"] for p in targets["providers"] for t in p["targets"]]

        # Cells that use the connection: pick a target, then the workspace's quotas.
        reply, iopub = ch.run("%azure.target ionq.simulator")
        assert reply["content"]["status"] == "ok", reply["content"]
        (target,) = _results(iopub)
        assert target["text/plain"].startswith("Active target is now ionq.simulator."), target["text/plain"]
        assert "<code>ionq.simulator</code>" in target["text/html"]
        assert target["application/x-azq.target+json"]["id"] == "ionq.simulator"
        reply, iopub = ch.run("%azure.quotas")
        assert reply["content"]["status"] == "ok", reply["content"]
        (quotas,) = _results(iopub)
        assert quotas["text/plain"].startswith("Dimension"), quotas["text/plain"]
        assert '<table class="azq-quotas">' in quotas["text/html"]
        assert {q["provider"] for q in quotas["application/x-azq.quotas+json"]} >= {"ionq", "quantinuum"}
        assert reply["content"]["execution_count"] == 3


def test_a_kernel_started_as_a_gateway_url_server_starts_it(gateway):
    """JupyterLab or Notebook with `--gateway-url` (and JupyterHub's single-user servers set up
    that way) send an `env` with KERNEL_* variables; the gateway then gives the kernel PATH and
    those, nothing else of its own environment (no HOME). azq still works."""
    body = {"name": "azq", "env": {"KERNEL_USERNAME": "alice", "KERNEL_GATEWAY_TEST": "from-the-client",
                                   "HOME": "/not/passed/through"}}
    with kernel(gateway, body) as (kid, pid, ch):
        env = _environ(pid)
        assert env.get("KERNEL_GATEWAY_TEST") == "from-the-client"
        assert "HOME" not in env, sorted(env)
        reply, iopub = ch.run("%azure.connect emulator")
        assert reply["content"]["status"] == "ok", reply["content"]
        (data,) = [m["content"]["data"] for m in iopub if m["msg_type"] == "execute_result"]
        assert data["text/plain"].startswith("Connected to Azure Quantum workspace azq-demo-workspace"), data
        reply, iopub = ch.run("%env KERNEL_USERNAME")
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "alice" in _stream(iopub) + json.dumps(_results(iopub)), iopub


def test_interrupt_through_the_rest_api_stops_a_running_cell(gateway):
    marker = "30.2718"
    with kernel(gateway) as (kid, pid, ch):
        started = time.monotonic()
        msg_id = ch.execute(f"%%bash\necho started\nsleep {marker}\necho never")
        _wait_for(lambda: any(f"sleep {marker}" in c for c in _cmdlines().values()), "the script never started")
        r = gateway.post(f"/api/kernels/{kid}/interrupt")
        assert r.status_code == 204, (r.status_code, r.text)
        reply, iopub = ch.collect(msg_id)
        assert reply["content"]["status"] == "error", reply["content"]
        assert reply["content"]["ename"] == "Interrupted", reply["content"]
        # Well before `sleep` would have ended by itself (a hang guard, not a benchmark).
        assert time.monotonic() - started < 20
        out = _stream(iopub)
        assert "started" in out and "never" not in out, out
        _wait_for(lambda: not any(f"sleep {marker}" in c for c in _cmdlines().values()),
                  "sleep outlived the interrupt")
        # The kernel lives on and runs the next cell.
        assert _alive(pid)
        reply, iopub = ch.run("%%bash\necho after")
        assert reply["content"]["status"] == "ok", reply["content"]
        assert _stream(iopub) == "after\n"


def test_delete_ends_the_azq_process(gateway):
    kid, pid = gateway.start_kernel()
    ch = Channels(gateway, kid)
    try:
        reply, _ = ch.run("%azure.connect emulator")
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        ch.close()
    assert _alive(pid)
    r = gateway.delete(f"/api/kernels/{kid}")
    assert r.status_code == 204, (r.status_code, r.text)
    _wait_for(lambda: not _alive(pid), "the azq process outlived DELETE")
    assert gateway.get(f"/api/kernels/{kid}").status_code == 404
    # It ended on the shutdown_request: the gateway never had to terminate or kill it.
    assert "taking too long to finish" not in gateway.log(), gateway.log()[-3000:]


def test_jupyter_server_with_gateway_url_runs_azq_on_the_gateway(gateway):
    """What the README tells a JupyterLab or Notebook user to run: their server lists the
    gateway's kernelspecs, starts azq there, and relays the kernel's websocket."""
    lab = GatewayClientServer(gateway)
    try:
        r = lab.get("/api/kernelspecs")
        assert r.status_code == 200, r.text
        specs = r.json()["kernelspecs"]
        assert specs["azq"]["spec"]["display_name"] == DISPLAY_NAME, specs
        logo = lab.get(specs["azq"]["resources"]["logo-64x64"])
        assert logo.status_code == 200 and logo.content.startswith(b"\x89PNG"), logo.status_code
        # Opening a notebook: a session whose kernel the gateway starts.
        kid, pid = lab.start_kernel({"path": "bell.ipynb", "type": "notebook", "name": "bell.ipynb",
                                     "kernel": {"name": "azq"}}, parent=gateway.proc.pid, path="/api/sessions")
        assert f"Kernel started: {kid}" in gateway.log()
        (session,) = lab.get("/api/sessions").json()
        assert session["kernel"]["id"] == kid
        r = lab.get("/api/kernels")  # the Running panel
        assert r.status_code == 200, r.text
        assert kid in [k["id"] for k in r.json()]
        ch = Channels(lab, kid)
        try:
            reply, iopub = ch.run("%azure.connect emulator")
            assert reply["content"]["status"] == "ok", reply["content"]
            (data,) = [m["content"]["data"] for m in iopub if m["msg_type"] == "execute_result"]
            assert data["text/plain"].startswith("Connected to Azure Quantum workspace azq-demo-workspace"), data
            reply, iopub = ch.run("%azure.target ionq.simulator")
            assert reply["content"]["status"] == "ok", reply["content"]
            assert _results(iopub)[0]["text/plain"].startswith("Active target is now ionq.simulator.")
            # The notebook's Interrupt button: the server asks the gateway, which tells azq.
            marker = "30.1414"
            msg_id = ch.execute(f"%%bash\nsleep {marker}")
            _wait_for(lambda: any(f"sleep {marker}" in c for c in _cmdlines().values()), "the script never started")
            assert lab.post(f"/api/kernels/{kid}/interrupt").status_code == 204
            reply, _ = ch.collect(msg_id)
            assert reply["content"]["ename"] == "Interrupted", reply["content"]
        finally:
            ch.close()
        # Such a server always sends an `env`, so the kernel has the gateway's PATH, not its HOME.
        assert "HOME" not in _environ(pid), _environ(pid)
        # Closing the notebook's session shuts its kernel down on the gateway.
        assert lab.delete(f"/api/sessions/{session['id']}").status_code == 204
        _wait_for(lambda: not _alive(pid), "the azq process outlived its session")
        assert lab.get("/api/kernels").json() == []
        assert lab.stop() == 0, lab.log()[-3000:]
    finally:
        lab.close()


def test_sigterm_stops_the_gateway_and_its_kernels():
    gw = Gateway()
    try:
        kid, pid = gw.start_kernel()
        ch = Channels(gw, kid)
        try:
            reply, _ = ch.run("%azure.connect emulator")
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            ch.close()
        assert gw.stop() == 0, gw.log()[-3000:]
        _wait_for(lambda: not _alive(pid), "the azq process outlived the gateway")
        assert "taking too long to finish" not in gw.log(), gw.log()[-3000:]
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{gw.url}/api", headers=gw.auth, timeout=5)
    finally:
        gw.close()
