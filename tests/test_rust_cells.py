"""Rust cells through a real Jupyter client: output as it comes, interrupts, a crash of the
companion, `:dep`, magics and Rust in one cell, and what a user sees when the companion or the
toolchain is missing. The companion (`azq-rust`) is built by `make rust` beside azq."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from test_connect import Ran, kernel_and_manager, run

AZQ = Path(os.environ.get("AZQ_BIN", Path(__file__).resolve().parent.parent / "target/release/azq"))
COMPANION = AZQ.parent / "azq-rust"
if not COMPANION.is_file():
    raise SystemExit(f"the Rust companion is not at {COMPANION}: run `make rust`")

# A cold companion start plus a first compile takes seconds; a loaded CI machine, more.
FIRST = 120


def children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the fields follow the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def companions(km) -> list[int]:
    """The kernel's azq-rust children."""
    pid = km.provisioner.process.pid
    return [c for c in children(pid) if Path(f"/proc/{c}/exe").resolve().name == "azq-rust"]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def rust():
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30)
    ran = run(kc, "let warm = 1;", timeout=FIRST)
    assert ran.error is None, ran.text()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_output_streams_while_the_cell_runs(rust):
    _, kc = rust
    code = (
        'println!("first");\n'
        "std::thread::sleep(std::time::Duration::from_millis(1500));\n"
        'eprintln!("second");\n'
        "6 * 7"
    )
    seen = {}
    start = time.monotonic()

    def on_msg(m):
        if m["msg_type"] == "stream":
            seen.setdefault(m["content"]["text"].strip(), (time.monotonic() - start, m["content"]["name"]))

    ran = run(kc, code, on_msg=on_msg)
    ended = time.monotonic() - start
    assert ran.error is None, ran.text()
    assert ran.data("text/plain") == "42"
    assert seen.get("first", (0, ""))[1] == "stdout" and seen.get("second", (0, ""))[1] == "stderr", (seen, ran.text())
    # "first" came while the cell slept, not with its end.
    assert ended - seen["first"][0] > 1.0, (seen, ended)


def test_values_displays_and_errors_look_like_rust(rust):
    _, kc = rust
    ran = run(kc, '%env AZQ_GREETING=hi\nlet name = "azq";\nname.len() + 1')
    assert ran.data("text/plain") == "4"
    assert "env: AZQ_GREETING=hi" in ran.text()

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    code = (
        "pub struct Picture;\n"
        "impl Picture {\n"
        "    pub fn evcxr_display(&self) {\n"
        f'        println!("EVCXR_BEGIN_CONTENT image/png\\n{png}\\nEVCXR_END_CONTENT");\n'
        '        println!("EVCXR_BEGIN_CONTENT image/svg+xml\\n<svg xmlns=\'http://www.w3.org/2000/svg\'/>\\nEVCXR_END_CONTENT");\n'
        "    }\n"
        "}\n"
        "Picture"
    )
    ran = run(kc, code)
    shown = [m["content"]["data"] for m in ran.msgs if m["msg_type"] == "display_data"]
    assert len(shown) == 1 and ran.result is None, ran.msgs
    assert shown[0]["image/png"] == png
    assert shown[0]["image/svg+xml"].startswith("<svg")

    # A compile error points at the user's line of the cell (line 3 here, after a magic and a
    # line of Rust), with a caret under the bad text and none of evcxr's wrapper code.
    ran = run(kc, '%env AZQ_X=1\nlet fine = 1;\nlet n: i32 = "forty-two";')
    assert ran.error["ename"] == "CompileError"
    assert "line 3, column 14" in ran.error["evalue"]
    tb = ran.error["traceback"]
    at = tb.index('3 | let n: i32 = "forty-two";')
    assert tb[at + 2] == "  |              ^^^^^^^^^^^ expected `i32`, found `&str`", tb
    assert not any("evcxr" in line or "run_user_code" in line for line in tb), tb

    ran = run(kc, 'let z = 5;\npanic!("boom {}", z + 1)')
    assert ran.error["ename"] == "Panic"
    assert ran.error["evalue"] == "the cell panicked: boom 6"
    assert [m for m in ran.msgs if m["msg_type"] == "stream"] == [], "the panic is the error, not stderr"
    # Variables from before the panic live on.
    assert run(kc, "warm + 1").data("text/plain") == "2"


def test_interrupt_stops_a_loop_within_a_second_and_says_what_was_lost(rust):
    km, kc = rust
    assert run(kc, "let kept = 7;\nfn twice(n: i32) -> i32 { n * 2 }").error is None
    msg_id = kc.execute("let spin = 1;\nloop {}")
    # Wait until the loop runs: its compile takes a fraction of a second.
    time.sleep(2.5)
    # The kernel answers while rustc or the loop runs: a magic completion on shell.
    t = time.monotonic()
    reply = kc.complete("%lsma", 5, reply=True, timeout=5)
    assert reply["content"]["matches"] == ["%lsmagic"]
    assert time.monotonic() - t < 1.0
    t = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    took = time.monotonic() - t
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    assert took < 1.0, f"the loop stopped after {took:.2f} s"
    assert "kept" in reply["content"]["evalue"] and "warm" in reply["content"]["evalue"]
    # Items survive; values do not.
    assert run(kc, "twice(21)").data("text/plain") == "42"
    ran = run(kc, "kept")
    assert ran.error["ename"] == "CompileError"


def test_a_crash_of_the_companion_is_an_error_in_its_cell_and_the_next_starts_fresh(rust):
    km, kc = rust
    msg_id = kc.execute("std::thread::sleep(std::time::Duration::from_secs(60));")
    deadline = time.monotonic() + 30
    while not companions(km) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    (pid,) = companions(km)
    os.kill(pid, signal.SIGKILL)
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "RustCompanionStopped"
    assert "SIGKILL" in reply["content"]["evalue"] or "signal" in reply["content"]["evalue"]
    # Magics carry on, and the next Rust cell starts a new companion.
    assert run(kc, "%env AZQ_AFTER=1").error is None
    ran = run(kc, "let again = 2 + 2; again", timeout=FIRST)
    assert ran.data("text/plain") == "4", ran.text()
    assert companions(km) and companions(km) != [pid]


def test_reset_frees_the_context(rust):
    km, kc = rust
    assert run(kc, "let before_reset = 1;").error is None
    (pid,) = companions(km)
    ran = run(kc, "%rust.reset")
    assert "reset" in ran.data("text/plain")
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not companions(km), "the companion and its memory are gone"
    ran = run(kc, "before_reset", timeout=FIRST)
    assert ran.error["ename"] == "CompileError"


def test_dep_of_a_small_crate(rust):
    _, kc = rust
    ran = run(kc, ':dep itoa = "1"', timeout=300)
    assert ran.error is None, ran.text()
    ran = run(kc, "let mut buf = itoa::Buffer::new();\nbuf.format(1234).to_owned()")
    assert ran.data("text/plain") == '"1234"', ran.text()
    ran = run(kc, ':dep no_such_crate_azq_test = "1"', timeout=300)
    # cargo's refusal, placed under the crate's name, without its progress lines.
    assert ran.error is not None and ran.error["ename"] == "CompileError", ran.msgs
    assert ran.error["evalue"].startswith("no matching package named `no_such_crate_azq_test`")
    assert "Updating" not in ran.error["evalue"]
    assert '1 | :dep no_such_crate_azq_test = "1"' in ran.error["traceback"]


def test_magics_and_rust_share_a_cell(rust):
    _, kc = rust
    ran = run(kc, "%azure.connect emulator\nlet qubits = 2;\nqubits * 3")
    assert ran.error is None, ran.text()
    assert ran.data("text/plain") == "6", "the last part's value is the cell's"
    # The connection was made by the cell's first line.
    assert run(kc, "%azure.quotas").error is None
    # A failing magic stops the cell before its Rust runs.
    ran = run(kc, '%azure.target no.such.target\nprintln!("not reached");')
    assert ran.error is not None
    assert "not reached" not in ran.text()


def test_a_session_of_magics_never_starts_the_companion_until_rust_appears(tmp_path):
    env = dict(os.environ)
    with kernel_and_manager(env) as (kc, km):
        for code in ["%lsmagic", "%env A=1"]:
            assert run(kc, code).error is None
        kc.complete("%az", 3, reply=True, timeout=5)
        kc.is_complete("%env B=2")
        kc.get_shell_msg(timeout=5)
        time.sleep(0.5)
        assert companions(km) == []
        pid = km.provisioner.process.pid
        before = rss_kib(pid)
        # Rust code in any request starts it, without waiting for a cell.
        kc.is_complete("fn main() {")
        reply = kc.get_shell_msg(timeout=5)
        assert reply["content"]["status"] == "incomplete"
        deadline = time.monotonic() + 2
        while not companions(km) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert companions(km), "is_complete on Rust code starts the companion"
        assert rss_kib(pid) - before < 8 * 1024, "the kernel itself stays small"
        started = companions(km)
    # The kernel's shutdown takes the companion with it.
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{p}").exists() for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{p}").exists() for p in started), "the companion outlived its kernel"


def test_the_companions_stderr_goes_to_the_kernels_log_not_to_cells(tmp_path):
    log = tmp_path / "kernel.log"
    env = dict(os.environ, AZQ_LOG="info")
    with open(log, "w") as err, kernel_and_manager(env, stderr=err) as (kc, _):
        ran = run(kc, "1 + 1", timeout=FIRST)
        assert ran.data("text/plain") == "2"
        assert [m for m in ran.msgs if m["msg_type"] == "stream"] == []
    text = log.read_text()
    # evcxr says this on every start (no ~/.config/evcxr here); it reaches the kernel's log,
    # tagged as the companion's, and never the cell.
    line = next(line for line in text.splitlines() if "No configuration file found" in line)
    assert "azq_rust" in line


def test_missing_toolchain_says_what_is_missing_where_it_looked_and_how_to_fix(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    path = "/usr/bin:/bin"
    assert not any(Path(d, "cargo").exists() for d in path.split(":")), "this test needs PATH without cargo"
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_HOME", "RUSTUP_HOME", "AZQ_RUST")}
    env.update(PATH=path, HOME=str(home))
    with kernel_and_manager(env) as (kc, _):
        ran = run(kc, "let x = 1;")
        assert ran.error["ename"] == "RustToolchainMissing"
        message = ran.error["evalue"]
        for part in [f"PATH ({path})", str(home / ".cargo/bin"), ".rustup/toolchains/*/bin", "https://rustup.rs"]:
            assert part in message, (part, message)
        # The kernel carries on.
        assert run(kc, "%env OK=1").error is None


def test_a_kernel_started_without_cargo_on_path_finds_it_in_cargo_home(tmp_path):
    """VS Code and JupyterHub start kernels without the login shell's PATH."""
    cargo_bin = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin"
    if not (cargo_bin / "cargo").exists():
        pytest.fail(f"this test needs rustup's cargo in {cargo_bin}")
    env = dict(os.environ, PATH="/usr/bin:/bin")
    with kernel_and_manager(env) as (kc, _):
        ran = run(kc, "let y = 20 + 1; y", timeout=FIRST)
        assert ran.data("text/plain") == "21", ran.text()


def test_missing_companion_names_the_command_that_builds_it(tmp_path):
    lonely = tmp_path / "bin"
    lonely.mkdir()
    shutil.copy(AZQ, lonely / "azq")
    env = {k: v for k, v in os.environ.items() if k != "AZQ_RUST"}
    env.update(PATH="/usr/bin:/bin", HOME=str(tmp_path))
    spec = tmp_path / "share/jupyter/kernels/azq-lonely"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        '{"argv": ["%s", "kernel", "--connection-file", "{connection_file}"], '
        '"display_name": "azq", "language": "rust", "interrupt_mode": "message"}' % (lonely / "azq")
    )
    env["JUPYTER_PATH"] = str(tmp_path / "share/jupyter")
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="azq-lonely")
    km.kernel_spec_manager.kernel_dirs.insert(0, str(tmp_path / "share/jupyter/kernels"))
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        ran = run(kc, "fn main() {}")
        assert ran.error["ename"] == "RustCompanionMissing"
        message = ran.error["evalue"]
        for part in ["azq-rust", f"beside azq in {lonely}", "make rust", "cargo install --locked --path rust"]:
            assert part in message, (part, message)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_completion_and_inspection_of_rust_code(rust):
    _, kc = rust
    assert run(kc, "let inspected_total: u64 = 5;").error is None
    code = "%env AZQ_I=1\ninspected_total"
    reply = kc.inspect(code, len(code), reply=True, timeout=30)["content"]
    assert reply["found"] is True, reply
    assert "inspected_total: u64" in reply["data"]["text/plain"]
    # Offsets are code points: a wide character before the cursor does not shift them.
    code = "let café_count = 1;\ncafé_c"
    reply = kc.complete(code, len(code), reply=True, timeout=30)["content"]
    assert reply["matches"] == ["café_count"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (len(code) - 6, len(code))
    # `()` is no value: a statement-only cell shows nothing.
    ran = run(kc, 'for _ in 0..1 { println!("once"); }')
    assert ran.result is None and "once" in ran.text()


def test_the_companions_build_folder_goes_with_it(tmp_path):
    """evcxr builds each cell in a folder of its own; a companion stopped by `%rust.reset`, by
    a crash or by the kernel's shutdown must not leave it behind (tens of MB each)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    with kernel_and_manager(env) as (kc, km):
        assert run(kc, "let a = 1; a", timeout=FIRST).data("text/plain") == "1"
        assert any(scratch.iterdir()), "the build folder is where TMPDIR says"
        run(kc, "%rust.reset")
        deadline = time.monotonic() + 5
        while any(scratch.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(scratch.iterdir()) == [], "reset left its folder"
        assert run(kc, "let b = 2; b", timeout=FIRST).data("text/plain") == "2"
        (pid,) = companions(km)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(scratch.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(scratch.iterdir()) == [], "a crash left its folder"
        assert run(kc, "let c = 3; c", timeout=FIRST).data("text/plain") == "3"
    deadline = time.monotonic() + 5
    while any(scratch.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(scratch.iterdir()) == [], "the kernel's shutdown left the folder"
