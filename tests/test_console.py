"""azq in a terminal: `jupyter console --kernel azq` run under a pseudo-terminal (pexpect), with
the kernelspec from `azq install --user` in a private Jupyter data dir and a private home. Rich
results show their text/plain form and no HTML; an error shows its stable name, the caret and
no HTML; ctrl-D, `exit` or `quit` leaves the console and the kernel process ends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import termios
import time
from pathlib import Path

import pexpect
import pytest

from test_connect import kernel_env
from test_jobs import BELL

TIMEOUT = 60
JUPYTER = Path(sys.executable).parent / "jupyter"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
SGR = r"(?:\x1b\[[0-9;]*m)*"
# Markup a front end renders but a terminal would print as is.
HTML = re.compile(r"<(table|thead|tbody|tr|td|th|div|span|p|svg|rect|style|code|pre|a|b|br|button)\b|</[a-z]+>", re.I)


def prompt(n: int) -> str:
    """jupyter console's `In [n]: `, coloured or not."""
    return rf"In \[{SGR}{n}{SGR}\]: "


def kernel_pids(runtime: Path) -> list[int]:
    """The azq kernels started with a connection file in this (private) runtime dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kernel" in argv and any(str(runtime).encode() in a for a in argv):
            pids.append(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Console:
    """One `jupyter console` session; `run` types a line and returns what the terminal showed
    up to the next prompt, without colours."""

    def __init__(self, env: dict, cwd: Path, runtime: Path):
        self.runtime = runtime
        self.child = pexpect.spawn(str(JUPYTER), ["console", "--kernel", "azq"], env=env, cwd=str(cwd),
                                   encoding="utf-8", timeout=TIMEOUT, dimensions=(60, 250))
        self.raw: list[str] = []
        self.n = 1
        try:
            self.child.expect(prompt(1))
        except pexpect.ExceptionPexpect:
            self.child.terminate(force=True)
            raise
        self.banner = self.child.before
        self.raw.append(self.child.before)

    def reading_keys(self) -> None:
        """Waits until prompt_toolkit has put the terminal in raw mode: a ctrl-D typed before
        that is the line discipline's end-of-file, never a key the console sees."""
        deadline = time.monotonic() + TIMEOUT
        while termios.tcgetattr(self.child.child_fd)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "the console never started reading keys"
            time.sleep(0.02)

    def kernel_pid(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while not (pids := kernel_pids(self.runtime)):
            assert time.monotonic() < deadline, "no azq kernel process found"
            time.sleep(0.1)
        [pid] = pids
        return pid

    def leaves_and_ends(self, pid: int) -> str:
        """The console says it shuts the kernel down, exits with 0, and the kernel ends.
        Returns what it showed before that."""
        self.child.expect("Shutting down kernel")
        shown = ANSI.sub("", self.child.before)
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0, (self.child.exitstatus, self.child.signalstatus)
        deadline = time.monotonic() + TIMEOUT
        while alive(pid):
            assert time.monotonic() < deadline, f"kernel {pid} still running after the console left"
            time.sleep(0.1)
        return shown

    def run(self, line: str) -> str:
        self.child.sendline(line)
        self.n += 1
        self.child.expect(prompt(self.n))
        self.raw.append(self.child.before)
        shown = ANSI.sub("", self.child.before)
        # Drop the echoed input line.
        return shown.split("\n", 1)[1] if "\n" in shown else ""


@pytest.fixture
def console(azq_bin, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    runtime = tmp_path / "runtime"
    env = kernel_env(home, JUPYTER_DATA_DIR=tmp_path / "data", JUPYTER_CONFIG_DIR=tmp_path / "config",
                     JUPYTER_RUNTIME_DIR=runtime, JUPYTER_PLATFORM_DIRS=1, IPYTHONDIR=tmp_path / "ipython",
                     TERM="dumb", LANG="C.UTF-8")
    env.pop("JUPYTER_PATH", None)  # the spec `azq install --user` wrote is the one found
    subprocess.run([str(azq_bin), "install", "--user"], env=env, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "data" / "kernels" / "azq" / "kernel.json").is_file()
    c = None
    try:
        c = Console(env, tmp_path, runtime)
        yield c
    finally:
        if c is not None and c.child.isalive():
            c.child.terminate(force=True)
        for pid in kernel_pids(runtime):  # only the kernels this test started
            os.kill(pid, 9)


def assert_plain(shown: str) -> None:
    assert not HTML.search(shown), f"HTML reached the terminal: {HTML.search(shown).group(0)!r} in\n{shown}"
    assert "application/x-azq" not in shown and "text/html" not in shown


def test_rich_results_show_their_text_and_an_error_its_name_then_ctrl_d_ends_the_kernel(console, tmp_path):
    assert "azq" in console.banner and "%lsmagic" in console.banner  # azq's banner, from kernel_info
    pid = console.kernel_pid()

    shown = console.run("%lsmagic")
    assert "Line magics:" in shown and "Cell magics:" in shown and "%azure.connect" in shown, shown
    assert_plain(shown)

    shown = console.run("%azure.connect emulator")
    assert "Connected to Azure Quantum workspace" in shown and "Target ID" in shown, shown
    assert "ionq.simulator" in shown
    assert_plain(shown)

    # A job: the progress line (a display) and the histogram (the result), both as text.
    program = tmp_path / "bell.qasm"
    program.write_text(BELL)
    shown = console.run(f"%azure.execute file={program} target=ionq.simulator shots=100")
    assert "Results of job" in shown and "(100 shots)" in shown, shown
    assert re.search(r"^00\s+0\.\d+\s+█+", shown, re.M) and re.search(r"^11\s+0\.\d+\s+█+", shown, re.M), shown
    assert "on ionq.simulator: Waiting" in shown  # the progress display's first text
    assert_plain(shown)

    # A bad argument: the error's stable name, the message, the caret; short, and no HTML.
    shown = console.run(f"%azure.execute file={program} shots=lots")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert lines[0].startswith("InvalidArgument: ") and "`shots` is `lots`" in lines[0], shown
    assert any(re.fullmatch(r"\s*\^+", line) for line in lines), shown
    assert len(lines) <= 5 and "Traceback" not in shown and "panicked" not in shown, shown
    assert_plain(shown)

    # ctrl-D asks first (jupyter console's confirm_exit), then shuts the kernel down.
    console.reading_keys()
    console.child.sendcontrol("d")
    console.child.expect("Do you really want to exit")
    console.child.sendline("y")
    console.leaves_and_ends(pid)
    assert all(not HTML.search(ANSI.sub("", part)) for part in console.raw)


@pytest.mark.parametrize("word", ["exit", "quit"])
def test_exit_or_quit_at_the_prompt_leaves_without_asking(console, word):
    # jupyter console promises these always work; the kernel's reply asks it to leave
    # (an `ask_exit` payload, as ipykernel sends).
    pid = console.kernel_pid()
    console.child.sendline(word)
    shown = console.leaves_and_ends(pid)
    assert "Error" not in shown and "Do you really want to exit" not in shown, shown
