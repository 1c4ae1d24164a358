"""azq as VS Code's Jupyter extension sees it (VS Code itself cannot run here): the kernelspec
fields VS Code reads after `azq install`; the kernel started from that kernelspec's argv the way
VS Code's raw-kernel launcher does, with kernel_info on shell and control every 500 ms until IOPub
speaks; cells run and rendered by a small model of VS Code's output handling: the MIME type picked
from each bundle in VS Code's order, `update_display_data` applied to the earlier output with the
same display id (in the same cell, from a later cell, and after every cell has ended); interrupts
on shell (VS Code up to 2025.10) and on control (later releases); `exit` in a cell; shutdown."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import zmq
from jupyter_client.connect import write_connection_file
from jupyter_client.session import Session

from test_connect import kernel_env
from test_jobs import BELL, Em

TIMEOUT = 60

# --- How VS Code picks the MIME type it shows -------------------------------------------------

# The Jupyter extension first sorts each output's items (`orderOfMimeTypes` in
# microsoft/vscode-jupyter src/kernels/execution/helpers.ts; unknown types rank 100) ...
EXTENSION_ORDER = [
    "application/vnd.*", "application/vdom.*", "application/geo+json", "application/x-nteract-model-debug+json",
    "text/html", "application/javascript", "image/gif", "text/latex", "text/markdown", "image/png",
    "image/svg+xml", "image/jpeg", "application/json", "text/plain",
]
# ... then VS Code core sorts them again by its display order (`NOTEBOOK_DISPLAY_ORDER` in
# microsoft/vscode notebookCommon.ts, `MimeTypeDisplayOrder.sort`: with the default empty
# `notebook.displayOrder` setting every type is ordered by its index here, unknown ones (-1) first)
# and renders the first type that has a renderer (`CellOutputViewModel.resolveMimeTypes`).
CORE_ORDER = [
    "application/json", "application/javascript", "text/html", "image/svg+xml", "text/latex", "text/markdown",
    "image/png", "image/jpeg", "text/plain",
]
# Types VS Code renders out of the box: the built-in notebook renderers, markdown-it (markdown and
# LaTeX), the core JSON renderer, and the Jupyter extension's own renderers.
RENDERABLE = {
    "text/html", "text/plain", "text/markdown", "text/latex", "application/json", "application/javascript",
    "image/svg+xml", "image/png", "image/jpeg", "image/gif", "application/geo+json", "application/vdom.v1+json",
    "application/vnd.plotly.v1+json", "application/vnd.vega.v5+json", "application/vnd.vegalite.v5+json",
}
# JupyterLab 4's renderer ranks (lower wins), for contrast: it would show application/json as a tree.
LAB_RANK = {"application/json": 0, "text/html": 50, "text/markdown": 60, "text/latex": 70, "image/svg+xml": 80,
            "image/png": 90, "image/jpeg": 90, "image/gif": 90, "text/plain": 120}


def extension_sorted(mimes: list[str]) -> list[str]:
    def rank(mime: str) -> int:
        for i, pattern in enumerate(EXTENSION_ORDER):
            if mime.startswith(pattern.removesuffix(".*") if pattern.endswith(".*") else pattern):
                return i
        return 100
    return sorted(mimes, key=rank)  # stable, like Array.prototype.sort


def vscode_pick(data: dict) -> str:
    """The MIME type VS Code shows for one output's data."""
    ordered = sorted(extension_sorted(list(data)), key=lambda m: CORE_ORDER.index(m) if m in CORE_ORDER else -1)
    return next((m for m in ordered if m in RENDERABLE), ordered[0])


def lab_pick(data: dict) -> str:
    return min((m for m in data if m in LAB_RANK), key=LAB_RANK.__getitem__)


def test_the_pick_follows_vscode_not_the_bundle_order():
    # The model itself, on bundles azq must never send as well as on azq's own shapes.
    assert vscode_pick({"text/plain": "x", "text/html": "<b>x</b>", "application/json": {}}) == "application/json"
    assert lab_pick({"text/plain": "x", "text/html": "<b>x</b>", "application/json": {}}) == "application/json"
    assert vscode_pick({"application/x-azq.jobs+json": [], "text/plain": "x", "text/html": "<b>x</b>"}) == "text/html"
    assert vscode_pick({"text/plain": "x", "image/svg+xml": "<svg/>", "text/markdown": "*x*"}) == "image/svg+xml"
    assert vscode_pick({"application/vnd.azq.unknown+json": {}, "text/plain": "x"}) == "text/plain"
    assert vscode_pick({"text/plain": "x"}) == "text/plain"


# --- The messages' shape, as @jupyterlab/services (inside VS Code) validates it ---------------

HEADER_FIELDS = ("username", "version", "session", "msg_id", "msg_type")
IOPUB_CONTENT_FIELDS = {
    "stream": {"name": str, "text": str},
    "display_data": {"data": dict, "metadata": dict},
    "update_display_data": {"data": dict, "metadata": dict, "transient": dict},
    "execute_input": {"code": str, "execution_count": int},
    "execute_result": {"execution_count": int, "data": dict, "metadata": dict},
    "error": {"ename": str, "evalue": str, "traceback": list},
    "status": {"execution_state": str},
    "clear_output": {"wait": bool},
}


def check_shape(msg: dict, channel: str) -> None:
    """What `validateMessage` in @jupyterlab/services checks, plus what VS Code's handlers read
    without a guard (an update's `transient.display_id`)."""
    for field in HEADER_FIELDS:
        assert isinstance(msg["header"].get(field), str), (channel, msg["header"])
    assert isinstance(msg["parent_header"], dict) and isinstance(msg["metadata"], dict)
    assert isinstance(msg["content"], dict), msg
    kind = msg["msg_type"]
    if channel == "iopub" and kind in IOPUB_CONTENT_FIELDS:
        for field, typ in IOPUB_CONTENT_FIELDS[kind].items():
            assert isinstance(msg["content"].get(field), typ), (kind, field, msg["content"])
        if kind == "status":
            assert msg["content"]["execution_state"] in ("starting", "idle", "busy", "restarting", "dead")
        if kind == "update_display_data":
            assert isinstance(msg["content"]["transient"].get("display_id"), str) and msg["content"]["transient"]["display_id"]


# --- A notebook as VS Code keeps it -----------------------------------------------------------

class Output:
    def __init__(self, kind: str, data: dict, metadata: dict, display_id: str | None):
        self.kind, self.data, self.metadata, self.display_id = kind, data, metadata, display_id
        self.updates = 0

    def shown(self) -> tuple[str, object]:
        mime = vscode_pick(self.data)
        return mime, self.data[mime]


class Cell:
    def __init__(self, code: str):
        self.code = code
        self.msg_id: str | None = None
        self.outputs: list[Output] = []
        self.reply: dict | None = None
        self.idle = False
        self.clear_on_next = False

    def done(self) -> bool:
        return self.reply is not None and self.idle

    def rich(self) -> list[Output]:
        return [o for o in self.outputs if o.kind in ("display_data", "execute_result")]

    def errors(self) -> list[Output]:
        return [o for o in self.outputs if o.kind == "error"]


class Notebook:
    """`CellExecutionMessageHandler` in small: each cell keeps handling IOPub messages whose parent
    is its execute request (also after it has finished, until it runs again); an update goes to
    the output the notebook-wide `CellOutputDisplayIdTracker` holds for its display id."""

    def __init__(self):
        self.cells: list[Cell] = []
        self.by_msg: dict[str, Cell] = {}
        self.displays: dict[str, Output] = {}
        self.dropped: list[dict] = []
        self.unchanged = 0

    def on_iopub(self, msg: dict) -> None:
        cell = self.by_msg.get(msg["parent_header"].get("msg_id", ""))
        if cell is None:
            return
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            cell.idle = content["execution_state"] == "idle" or cell.idle
            return
        if kind == "clear_output":
            if content["wait"]:
                cell.clear_on_next = True
            else:
                cell.outputs.clear()
            return
        if kind == "update_display_data":
            out = self.displays.get(content["transient"]["display_id"])
            if out is None:
                self.dropped.append(msg)
            elif (out.data, out.metadata) == (content["data"], content["metadata"]):
                self.unchanged += 1
            else:
                out.data, out.metadata = content["data"], content["metadata"]
                out.updates += 1
            return
        if kind not in ("display_data", "execute_result", "stream", "error"):
            return
        if cell.clear_on_next:
            cell.outputs.clear()
            cell.clear_on_next = False
        if kind == "stream":
            last = cell.outputs[-1] if cell.outputs else None
            if last and last.kind == "stream" and last.data["name"] == content["name"]:
                last.data["text"] += content["text"]
            else:
                cell.outputs.append(Output("stream", dict(content), {}, None))
        elif kind == "error":
            cell.outputs.append(Output("error", dict(content), {}, None))
        else:
            display_id = (content.get("transient") or {}).get("display_id")
            out = Output(kind, content["data"], content["metadata"], display_id)
            cell.outputs.append(out)
            if display_id:
                self.displays[display_id] = out


class VSCodeLikeKernel:
    """Starts the kernel from its kernelspec as VS Code's `KernelProcess` does (its own
    connection file, `{connection_file}` put into argv, the spec's env over the editor's, the
    notebook's folder as working directory) and talks to it as `RawSocket` does: DEALER sockets
    for shell, control and stdin sharing one routing id, a SUB socket for IOPub."""

    def __init__(self, spec_dir: Path, notebook_dir: Path, env: dict):
        self.spec = json.loads((spec_dir / "kernel.json").read_text())
        key = str(uuid.uuid4())
        self.connection_file, _ = write_connection_file(
            str(notebook_dir / f"kernel-v2-{uuid.uuid4()}.json"), ip="127.0.0.1", key=key.encode(),
            transport="tcp", signature_scheme="hmac-sha256", kernel_name="azq")
        info = json.loads(Path(self.connection_file).read_text())
        argv = [a.replace("{connection_file}", self.connection_file) for a in self.spec["argv"]]
        self.log = open(notebook_dir / "kernel.log", "wb")
        self.proc = subprocess.Popen(argv, cwd=notebook_dir, env={**env, **self.spec.get("env", {})},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.session = Session(key=key.encode(), signature_scheme="hmac-sha256", username="vscode")
        self.ctx = zmq.Context()
        routing_id = str(uuid.uuid4()).encode()
        self.sockets: dict[str, zmq.Socket] = {}
        for channel in ("shell", "control", "stdin", "iopub"):
            sock = self.ctx.socket(zmq.SUB if channel == "iopub" else zmq.DEALER)
            sock.linger = 0
            if channel == "iopub":
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            else:
                sock.setsockopt(zmq.ROUTING_ID, routing_id)
            sock.connect(f"tcp://127.0.0.1:{info[channel + '_port']}")
            self.sockets[channel] = sock
        self.poller = zmq.Poller()
        for sock in self.sockets.values():
            self.poller.register(sock, zmq.POLLIN)
        self.received: list[tuple[str, dict]] = []
        self.notebook = Notebook()

    def send(self, channel: str, msg_type: str, content: dict, metadata: dict | None = None) -> str:
        msg = self.session.msg(msg_type, content, metadata=metadata or {})
        msg["header"]["version"] = "5.2"  # what @jupyterlab/services' createMessage stamps
        self.session.send(self.sockets[channel], msg)
        return msg["header"]["msg_id"]

    def pump(self, until, timeout: float = TIMEOUT, what: str = "") -> None:
        """Handles every incoming message until `until()` holds."""
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            assert left > 0, f"gave up after {timeout} s waiting for {what}; last: {[m['msg_type'] for _, m in self.received[-15:]]}"
            assert self.proc.poll() is None, f"the kernel exited with {self.proc.returncode}"
            for sock, _ in self.poller.poll(timeout=min(left, 0.5) * 1000):
                channel = next(c for c, s in self.sockets.items() if s is sock)
                _, msg = self.session.recv(sock, mode=zmq.NOBLOCK)
                if msg is None:
                    continue
                check_shape(msg, channel)
                self.received.append((channel, msg))
                if channel == "iopub":
                    self.notebook.on_iopub(msg)
                elif msg["msg_type"] == "execute_reply":
                    cell = self.notebook.by_msg.get(msg["parent_header"].get("msg_id", ""))
                    if cell is not None:
                        cell.reply = msg["content"]

    def replies(self, channel: str, msg_type: str) -> list[dict]:
        return [m for c, m in self.received if c == channel and m["msg_type"] == msg_type]

    def start(self) -> tuple[dict[str, dict], int]:
        """VS Code's `postStartKernel`: kernel_info_request on control and on shell, again every
        500 ms, until a reply has come and any IOPub message has arrived. Returns the replies
        by channel and how many rounds it took."""
        sent: dict[str, set[str]] = {"shell": set(), "control": set()}
        rounds = 0
        deadline = time.monotonic() + TIMEOUT

        def ready() -> bool:
            got_reply = any(m["parent_header"].get("msg_id") in sent[c] for c in sent
                            for m in self.replies(c, "kernel_info_reply"))
            return got_reply and any(c == "iopub" for c, _ in self.received)

        while not ready():
            assert time.monotonic() < deadline, "the kernel never answered kernel_info with IOPub alive"
            rounds += 1
            for channel in ("control", "shell"):
                sent[channel].add(self.send(channel, "kernel_info_request", {}))
            try:
                self.pump(ready, timeout=0.5)
            except AssertionError as e:
                if "exited" in str(e):
                    raise
        # Both channels answer (VS Code takes whichever comes first; jupyter_server asks both).
        self.pump(lambda: all(self.replies(c, "kernel_info_reply") for c in sent), what="kernel_info on both channels")
        return {c: self.replies(c, "kernel_info_reply")[0] for c in sent}, rounds

    def execute(self, code: str) -> Cell:
        """Sends a cell as VS Code's `CellExecution` does (its cell id in the metadata)."""
        cell = Cell(code)
        self.notebook.cells.append(cell)
        cell.msg_id = self.send("shell", "execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": True, "stop_on_error": False,
        }, metadata={"cellId": f"vscode-notebook-cell:/work/demo.ipynb#W{len(self.notebook.cells)}sZmlsZQ%3D%3D"})
        self.notebook.by_msg[cell.msg_id] = cell
        return cell

    def run(self, code: str, timeout: float = TIMEOUT) -> Cell:
        """Runs a cell and waits, as VS Code does, for both its reply and its idle."""
        cell = self.execute(code)
        self.pump(cell.done, timeout, what=f"cell {code.splitlines()[0]!r} to finish")
        return cell

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.ctx.destroy(linger=0)
        self.log.close()


def installed_user_spec(azq_bin: Path, home: Path, env: dict) -> Path:
    """`azq install --user` found on PATH, as a user types it, into a private home; the spec
    lands where VS Code looks on Linux (`~/.local/share/jupyter/kernels`)."""
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "azq").symlink_to(azq_bin)
    env = {k: v for k, v in env.items() if k not in ("JUPYTER_DATA_DIR", "XDG_DATA_HOME")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(["azq", "install", "--user"], cwd=home, env=env, check=True, capture_output=True, timeout=60)
    return home / ".local" / "share" / "jupyter" / "kernels" / "azq"


@pytest.fixture
def vscode(azq_bin, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = kernel_env(home)
    spec_dir = installed_user_spec(azq_bin, home, env)
    notebook_dir = tmp_path / "notebooks"
    notebook_dir.mkdir()
    k = VSCodeLikeKernel(spec_dir, notebook_dir, env)
    try:
        yield k
    finally:
        k.close()


# --- The kernelspec -----------------------------------------------------------------------------

def test_the_installed_kernelspec_has_what_vscode_reads(azq_bin, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    spec_dir = installed_user_spec(azq_bin, home, kernel_env(home))
    assert re.fullmatch(r"[a-z0-9._-]+", spec_dir.name)
    spec = json.loads((spec_dir / "kernel.json").read_text())
    # The picker's label, and the cell language (`translateKernelLanguageToMonaco` lowercases it;
    # `rust` is a language VS Code knows, so cells are Rust or raw).
    assert isinstance(spec["display_name"], str) and "azq" in spec["display_name"]
    assert spec["language"] == "rust"
    # Interrupts by message: VS Code sends interrupt_request instead of SIGINT (which Windows
    # only offers Python kernels).
    assert spec["interrupt_mode"] == "message"
    assert isinstance(spec["metadata"], dict) and spec["metadata"].get("debugger") is not True
    assert "supported_encryption" not in spec["metadata"]
    # Launched from a desktop icon, VS Code has no login PATH: argv[0] must be the binary itself,
    # absolute, even though `azq` was found on PATH when it was installed.
    argv = spec["argv"]
    exe = Path(argv[0])
    assert exe.is_absolute() and exe.is_file() and os.access(exe, os.X_OK), argv
    assert exe.samefile(home / "bin" / "azq"), argv
    assert argv.count("{connection_file}") == 1 and "kernel" in argv[1:], argv
    assert (spec_dir / "logo-64x64.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (spec_dir / "logo-32x32.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- Start-up ------------------------------------------------------------------------------------

def test_started_from_its_kernelspec_it_answers_kernel_info_on_shell_and_control(vscode):
    replies, _ = vscode.start()
    for channel, reply in replies.items():
        info = reply["content"]
        assert info["status"] == "ok", (channel, info)
        assert tuple(int(p) for p in info["protocol_version"].split(".")[:2]) >= (5, 3), info
        lang = info["language_info"]
        # VS Code copies language_info into the notebook's metadata and takes `name` for an empty
        # notebook's cells; JupyterLab highlights with codemirror_mode, nbconvert with pygments_lexer.
        assert lang["name"] == vscode.spec["language"] == "rust"
        assert lang["file_extension"] == ".rs" and lang["mimetype"] == "text/rust"
        mode = lang["codemirror_mode"]
        assert (mode if isinstance(mode, str) else mode["name"]) == "rust"
        assert lang["pygments_lexer"] == "rust"
        # Nothing that would make a client try the debugger or subshells.
        assert info.get("debugger") in (None, False)
        assert not {"debugger", "kernel subshells"} & set(info.get("supported_features") or [])
        assert info["implementation"] == "azq" and info["banner"]
    # Once IOPub is known to be live, each kernel_info is wrapped in busy/idle there, whichever
    # channel it came in on (VS Code's status bar follows these).
    def states(msg_id: str) -> list[str]:
        return [m["content"]["execution_state"] for c, m in vscode.received if c == "iopub"
                and m["msg_type"] == "status" and m["parent_header"].get("msg_id") == msg_id]

    def replied(channel: str, msg_id: str) -> bool:
        return any(m["parent_header"].get("msg_id") == msg_id for m in vscode.replies(channel, "kernel_info_reply"))

    for channel in ("shell", "control"):
        msg_id = vscode.send(channel, "kernel_info_request", {})
        # The reply and IOPub's idle travel on different sockets: either may be read first.
        vscode.pump(lambda: "idle" in states(msg_id) and replied(channel, msg_id),
                    what=f"the reply and idle after kernel_info on {channel}")
        assert states(msg_id) == ["busy", "idle"], (channel, states(msg_id))


# --- Cells, rendered ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_emulator(azq_bin):
    """Jobs wait 3 s and run 3 s: long enough for a later cell to reach a job still running."""
    e = Em(azq_bin, job_delay_ms=3000)
    yield e
    e.close()


def test_cells_render_html_and_displays_update_in_place_across_cells(vscode, slow_emulator):
    vscode.start()
    nb = vscode.notebook

    connect = vscode.run(f'%azure.connect connectionString="{slow_emulator.cs}"')
    assert connect.reply["status"] == "ok" and not connect.errors()
    [result] = connect.rich()
    mime, html = result.shown()
    assert mime == "text/html" and lab_pick(result.data) == "text/html"
    assert "<table" in html and "ionq.simulator" in html and "ionq.simulator" in result.data["text/plain"]

    program = vscode.run("%%qasm bell\n" + BELL)
    [stored] = program.rich()
    mime, html = stored.shown()
    assert mime == "text/html" and "<svg" in html  # the circuit, drawn

    # One cell: the progress line is a display updated in place until the job ends, then the
    # histogram is the cell's result.
    execute = vscode.run("%azure.execute bell target=ionq.simulator shots=100")
    assert execute.reply["status"] == "ok" and not execute.errors(), [o.data for o in execute.errors()]
    progress, histogram = execute.rich()
    assert progress.kind == "display_data" and progress.display_id
    assert progress.updates >= 2  # Waiting -> Executing -> Succeeded, in the same output
    mime, html = progress.shown()
    assert mime == "text/html" and "Succeeded" in html and "Waiting" not in html, html
    assert "Succeeded" in progress.data["text/plain"]
    assert histogram.kind == "execute_result"
    mime, html = histogram.shown()
    assert mime == "text/html" and lab_pick(histogram.data) == "text/html"
    assert "<svg" in html and ">00<" in html and ">11<" in html, html
    assert "application/x-azq.histogram+json" in histogram.data  # the data is there, not shown

    # A display made in one cell, updated from the next: `%azure.watch ID` moves the job's watch
    # to a row of its own and tells the submitting cell's row, whose handler still listens.
    submit = vscode.run("%azure.submit bell target=ionq.simulator shots=100 jobName=watched")
    [row] = submit.rich()
    assert row.display_id and "Waiting" in row.shown()[1]
    job = row.data["application/x-azq.jobs+json"][0]["id"]
    before = row.updates
    watch = vscode.run(f"%azure.watch {job}")
    assert not watch.errors(), [o.data for o in watch.errors()]
    assert row.updates > before, "the submitting cell's row was not updated from the later cell"
    assert "Watched from a later cell now" in row.data["text/plain"]
    assert row.shown()[0] == "text/html" and "Watched from a later cell now" in row.shown()[1]
    [moved] = watch.rich()
    assert moved.display_id and moved.display_id != row.display_id

    # With every cell finished, the new row keeps updating until the job has succeeded.
    vscode.pump(lambda: "Succeeded" in moved.data["text/plain"], what="the watched row to reach Succeeded")
    mime, html = moved.shown()
    assert mime == "text/html" and "Succeeded" in html
    assert "Succeeded" not in row.data["text/plain"]  # the old row stays as it was left

    # Every update found its output; none was dropped as unknown, and nothing rendered as JSON.
    assert nb.dropped == []
    for cell in nb.cells:
        for out in cell.rich():
            assert "application/json" not in out.data and not any(m.startswith("application/vnd.") for m in out.data)
            assert "text/plain" in out.data
            assert vscode_pick(out.data) in ("text/html", "text/markdown", "image/svg+xml", "text/plain")


def test_errors_show_their_name_and_caret_as_vscode_shows_tracebacks(vscode):
    vscode.start()
    cell = vscode.run("%azure.execute bell shots=lots")
    assert cell.reply["status"] == "error" and cell.reply["ename"] == "InvalidArgument"
    [err] = cell.errors()
    assert err.data["ename"] == "InvalidArgument"
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.data["traceback"]))
    assert text.startswith("InvalidArgument: ") and "shots" in text and "^^^^" in text
    assert len(err.data["traceback"]) <= 5 and "<" not in text


def test_exit_in_a_notebook_cell_changes_nothing(vscode):
    # `exit` asks a terminal console to leave (an `ask_exit` payload); VS Code handles only
    # set_next_input and text payloads, so the cell simply ends and the kernel goes on.
    vscode.start()
    cell = vscode.run("exit")
    assert cell.reply["status"] == "ok" and cell.outputs == []
    assert [p["source"] for p in cell.reply["payload"]] == ["ask_exit"]
    assert vscode.run("%pwd").reply["status"] == "ok"


@pytest.mark.parametrize("channel", ["shell", "control"])
def test_interrupt_request_on_either_channel_stops_the_running_cell(vscode, channel):
    # VS Code sent interrupt_request on shell until microsoft/vscode-jupyter#17144 (Nov 2025) and
    # on control since; a kernel with interrupt_mode "message" must honour both.
    vscode.start()
    cell = vscode.execute("%%bash\necho started\nsleep 45\necho never")
    vscode.pump(lambda: any(o.kind == "stream" and "started" in o.data["text"] for o in cell.outputs),
                what="the cell to start")
    interrupt = vscode.send(channel, "interrupt_request", {})
    vscode.pump(lambda: any(m["parent_header"].get("msg_id") == interrupt for m in vscode.replies(channel, "interrupt_reply")),
                timeout=20, what=f"interrupt_reply on {channel}")
    vscode.pump(cell.done, timeout=20, what="the interrupted cell to end")  # well before its 45 s
    assert cell.reply["status"] == "error" and cell.reply["ename"] == "Interrupted"
    assert not any("never" in o.data.get("text", "") for o in cell.outputs)
    # The kernel goes on.
    assert vscode.run("%pwd").reply["status"] == "ok"


def test_shutdown_request_on_control_ends_the_process(vscode):
    vscode.start()
    msg_id = vscode.send("control", "shutdown_request", {"restart": False})
    vscode.pump(lambda: any(m["parent_header"].get("msg_id") == msg_id
                            for m in vscode.replies("control", "shutdown_reply")), what="shutdown_reply")
    assert vscode.proc.wait(timeout=30) == 0
