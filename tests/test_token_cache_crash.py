"""Crash safety of the token cache (issue 18, item 7): a kernel is killed with SIGKILL at a
random moment while it keeps rewriting its token cache (each `%azure.connect` redeems the
cached refresh token and writes the rotated one), and a new kernel then starts on the same
cache. The cache must be one complete version (old or new, never torn), the account that
was signed in must still be there, the file 0600 and the folder 0700, and no temporary file
(which holds a refresh token) may be left behind.

Short version (make test): 10 kills. AZQ_SOAK=1: 100 kills."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import time
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from test_connect import EmulatorLines, kernel, kernel_env, run

KILLS = 100 if os.environ.get("AZQ_SOAK") == "1" else 10
CACHE_NAME = "azq-token-cache.json"
USER = "demo.user@azq.example"


@pytest.fixture(scope="module")
def em(azq_bin):
    e = EmulatorLines(azq_bin, "--auto-approve")
    yield e
    e.close()


def check_cache(folder: Path) -> dict:
    """The cache is whole and private, and nothing else of it lies in the folder."""
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700, oct(folder.stat().st_mode)
    cache = folder / CACHE_NAME
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600, oct(cache.stat().st_mode)
    body = json.loads(cache.read_text())
    assert body["version"] == 1, body.keys()
    accounts = body["accounts"]
    assert len(accounts) == 1 and accounts[0]["username"] == USER, [a["username"] for a in accounts]
    assert len(accounts[0]["refresh_token"]) > 10
    return body


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in (CACHE_NAME, "azq-token-cache.lock"))


def test_kill_9_while_the_cache_is_written(em, tmp_path):
    folder = tmp_path / ".azure-quantum"
    env = kernel_env(tmp_path, **em.endpoints())
    connect = f"%azure.connect resourceId={em.rid} credential=DeviceCode"
    rng = random.Random(int(os.environ.get("AZQ_SEED", "18")))
    # The first sign-in, acknowledged ("Signed in as …") before any kill.
    with kernel(env) as kc:
        ran = run(kc, connect)
        assert ran.error is None, ran.text()
        assert f"Signed in as {USER}." in ran.text(), ran.text()
    check_cache(folder)
    torn_writes = 0  # kills that left a temporary file: the kernel was inside a write
    new_sign_ins = 0  # restarts that had to sign in anew (the rotated token was not kept)
    started = time.monotonic()
    for i in range(KILLS):
        km = KernelManager(kernel_name="azq")
        km.start_kernel(env=env)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            for _ in range(300):  # queued: each one redeems and rewrites the cache
                kc.execute(connect)
            time.sleep(rng.uniform(0.2, 1.5))
            os.kill(km.provisioner.process.pid, signal.SIGKILL)
            km.provisioner.process.wait(timeout=10)
        finally:
            kc.stop_channels()
            km.cleanup_resources()
        extra = leftovers(folder)
        torn_writes += bool(extra)
        check_cache(folder)
        # A new kernel on the same cache connects with the sign-in it holds, never asking
        # anew: the cache holds the old token or the new one, and (as in Entra ID) a rotation
        # does not revoke the old one, so a kill between the two loses nothing.
        with kernel(env) as kc2:
            ran = run(kc2, connect)
            assert ran.error is None, f"after kill {i}: {ran.text()}"
            new_sign_ins += "Signed in as" in ran.text()
            assert "Signed in as" not in ran.text(), f"after kill {i} the sign-in was lost: {ran.text()}"
        check_cache(folder)
        assert leftovers(folder) == [], f"after kill {i} and a restart: {leftovers(folder)}"
    elapsed = time.monotonic() - started
    print(f"\n{KILLS} kills in {elapsed:.0f} s; {torn_writes} left a temporary file (a write "
          f"interrupted); {new_sign_ins} restarts signed in anew; the cache was whole every time")


def test_a_temporary_file_left_by_a_crash_is_removed(em, tmp_path):
    """What a writer killed between creating its temporary file and renaming it leaves: a
    file beside the cache holding a refresh token. The next kernel to take the lock removes
    it (no writer can be using it then), and says nothing about it (it is azq's own)."""
    folder = tmp_path / ".azure-quantum"
    env = kernel_env(tmp_path, **em.endpoints())
    connect = f"%azure.connect resourceId={em.rid} credential=DeviceCode"
    with kernel(env) as kc:
        assert run(kc, connect).error is None
    stale = folder / f"{CACHE_NAME}.tmp.{'0' * 32}"
    stale.write_text('{"version": 1, "accounts": [{"refresh_token": "0.stale"}]}')
    stale.chmod(0o600)
    with kernel(env) as kc:
        ran = run(kc, connect)
        assert ran.error is None, ran.text()
    assert leftovers(folder) == []
    check_cache(folder)
