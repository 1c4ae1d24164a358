"""The secrets scan (tests/secret_scan.py) catches a leak: a small pytest session run with the
plugin, whose test has an azq kernel echo a sentinel, fails and names the kernel message and
the test (the sentinel itself masked); one whose test writes a signed token, a SAS signature
and a refresh token into a file fails on each shape; the same session without the leak
passes and reports 0 hits. The sentinel is made at run time and handed over in the
environment, so no file of this suite holds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parent

INNER = '''
import os
from jupyter_client.manager import start_new_kernel

SHAPES = {shapes!r}


def test_kernel_output():
    km, kc = start_new_kernel(kernel_name="azq", startup_timeout=30)
    try:
        value = os.environ["LEAK"] if os.environ.get("DO_LEAK") == "1" else "nothing-to-see"
        kc.execute_interactive("%%bash\\necho " + value, timeout=30)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_file(tmp_path):
    (tmp_path / "notes.txt").write_text(SHAPES if os.environ.get("DO_SHAPES") == "1" else "plain")
'''


def run_inner(tmp_path, **env):
    leak = f"probe-{uuid.uuid4().hex[:12]}"
    # Shapes, built here so this file holds none of them whole.
    jwt = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiJtZSJ9" + "." + "s" * 43
    shapes = f"token {jwt}\nurl https://a.blob.core.windows.net/c?sv=1&{'sig'}={'A' * 30}%3D\nrt {'0.'}{'ab' * 32}\n"
    folder = tmp_path / f"inner{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    (folder / "test_inner.py").write_text(INNER.format(shapes=shapes))
    full = {**os.environ, "PYTHONPATH": str(TESTS), "LEAK": leak, "AZQ_SECRET_SENTINELS": leak, **env}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "secret_scan",
                        "--basetemp", str(folder / "tmp"), "--rootdir", str(folder), str(folder / "test_inner.py")],
                       capture_output=True, text=True, timeout=120, cwd=folder, env=full)
    # What the inner session wrote on purpose is not output of this suite.
    shutil.rmtree(folder)
    return r, leak


def test_a_sentinel_a_kernel_prints_fails_the_session(tmp_path):
    r, leak = run_inner(tmp_path, DO_LEAK="1")
    out = r.stdout
    assert r.returncode != 0, out
    hit = [line for line in out.splitlines() if line.startswith("secret scan HIT:")]
    assert any("kernel message stream" in line and "test_inner.py::test_kernel_output" in line for line in hit), out
    assert leak not in out + r.stderr, "the report masks what it found"
    summary = [line for line in out.splitlines() if line.startswith("secret scan: ") and "messages" in line]
    assert len(summary) == 1 and not summary[0].endswith(", 0 hits"), out


def test_secret_shapes_in_a_written_file_fail_the_session(tmp_path):
    r, _ = run_inner(tmp_path, DO_SHAPES="1")
    out = r.stdout
    assert r.returncode != 0, out
    for kind in ("access token", "SAS signature", "refresh token"):
        assert any(line.startswith(f"secret scan HIT: {kind} in file ") and "notes.txt" in line
                   for line in out.splitlines()), (kind, out)


def test_a_clean_session_passes_with_zero_hits(tmp_path):
    r, _ = run_inner(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = [line for line in r.stdout.splitlines() if line.startswith("secret scan: ") and "messages" in line]
    assert len(summary) == 1 and summary[0].endswith(", 0 hits"), r.stdout
    messages = int(summary[0].split()[2])
    assert messages > 5, "the kernel's messages were seen"
