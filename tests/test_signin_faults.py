"""Sign-in faults (issue 18, item 4), each in a real kernel against `azq emulator`: a refresh
token revoked at the service; a token cache that is corrupt, cut short, empty or a folder; a
cache with loose permissions or another user's owner; a token that stops working earlier than
its holder was told (as clock skew makes it); and a default chain whose every member fails,
two of them by never answering. Each case must end with a clear message, within a bound."""

from __future__ import annotations

import json
import os
import random
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from test_connect import KEY, EmulatorLines, approver, kernel, kernel_env, run

USER = "demo.user@azq.example"
CACHE = "azq-token-cache.json"


@pytest.fixture(scope="module")
def em(azq_bin):
    e = EmulatorLines(azq_bin, "--auto-approve")
    yield e
    e.close()


def connect_code(em, credential="DeviceCode") -> str:
    return f"%azure.connect resourceId={em.rid} credential={credential}"


def signed_in_once(em, home: Path) -> Path:
    """A first kernel signs in by device code; the cache it wrote."""
    with kernel(kernel_env(home, **em.endpoints())) as kc:
        ran = run(kc, connect_code(em))
        assert ran.error is None, ran.text()
        assert f"Signed in as {USER}." in ran.text()
    cache = home / ".azure-quantum" / CACHE
    assert json.loads(cache.read_text())["accounts"][0]["username"] == USER
    return cache


def connect_in_new_kernel(em, home: Path, credential="DeviceCode", **extra):
    with kernel(kernel_env(home, **em.endpoints(), **extra)) as kc:
        started = time.monotonic()
        ran = run(kc, connect_code(em, credential), timeout=90)
        return ran, time.monotonic() - started


def assert_cache_whole(cache: Path):
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    body = json.loads(cache.read_text())
    assert [a["username"] for a in body["accounts"]] == [USER]


# --- A refresh token revoked at the service ------------------------------------------------

def test_a_revoked_refresh_token_says_sign_in_again_and_the_new_sign_in_works(em, tmp_path):
    cache = signed_in_once(em, tmp_path)
    requests.post(f"{em.url}/_emulator/revoke", headers={"x-ms-quantum-api-key": KEY},
                  timeout=10).raise_for_status()
    ran, took = connect_in_new_kernel(em, tmp_path)
    text = ran.text()
    assert ran.error is None, text
    assert f"The saved sign-in as {USER} is no longer accepted" in text, text
    assert "sign in again" in text, text
    assert "To sign in, use a web browser" in text and f"Signed in as {USER}." in text, text
    assert took < 30
    assert_cache_whole(cache)
    # The new sign-in was kept: the next kernel is in without a word.
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is None and "Signed in as" not in ran.text() and "no longer" not in ran.text(), ran.text()


# --- A damaged token cache -----------------------------------------------------------------

@pytest.mark.parametrize("damage", ["random-bytes", "truncated", "empty"])
def test_a_damaged_cache_is_said_and_replaced_by_signing_in_again(em, tmp_path, damage):
    cache = signed_in_once(em, tmp_path)
    body = cache.read_bytes()
    cache.write_bytes({"random-bytes": random.Random(4).randbytes(700), "truncated": body[: len(body) // 2],
                       "empty": b""}[damage])
    ran, took = connect_in_new_kernel(em, tmp_path)
    text = ran.text()
    assert ran.error is None, text
    assert f"The token cache {cache} could not be read" in text, text
    assert "signing in again replaces it" in text, text
    assert f"Signed in as {USER}." in text, text
    assert took < 30
    # Replaced, whole and private: later kernels are not held back by it.
    assert_cache_whole(cache)
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is None and "could not be read" not in ran.text() and "Signed in as" not in ran.text(), ran.text()


def test_a_folder_in_the_caches_place_fails_clearly_and_is_left_alone(em, tmp_path):
    cache = signed_in_once(em, tmp_path)
    cache.unlink()
    cache.mkdir()
    (cache / "kept.txt").write_text("mine")
    ran, took = connect_in_new_kernel(em, tmp_path)
    assert ran.error is not None and ran.error["ename"] == "TokenCacheError", ran.text()
    assert f"{cache} is not a regular file; remove it" in ran.text(), ran.text()
    assert took < 10
    assert (cache / "kept.txt").read_text() == "mine"
    # The chain says the same for its device-code member, and reaches nothing worse.
    ran, _ = connect_in_new_kernel(em, tmp_path, credential="Default")
    assert ran.error is not None and "DeviceCode: " in ran.text() and "is not a regular file" in ran.text(), ran.text()
    (cache / "kept.txt").unlink()
    cache.rmdir()
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is None and f"Signed in as {USER}." in ran.text(), ran.text()


# --- Loose permissions ---------------------------------------------------------------------

def test_a_cache_file_others_can_read_is_repaired_and_said(em, tmp_path):
    cache = signed_in_once(em, tmp_path)
    cache.chmod(0o644)
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is None, ran.text()
    assert f"The token cache {cache} was readable by other users (mode 644); azq made it private (600)" in ran.text(), ran.text()
    assert_cache_whole(cache)


def test_azqs_own_folder_left_open_is_repaired_and_said(em, tmp_path):
    cache = signed_in_once(em, tmp_path)
    cache.parent.chmod(0o755)
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is None, ran.text()
    assert f"The folder {cache.parent} was open to other users (mode 755); azq made it private (700)" in ran.text(), ran.text()
    assert_cache_whole(cache)


def test_a_folder_the_user_chose_left_open_is_refused(em, tmp_path):
    chosen = tmp_path / "tokens"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    ran, _ = connect_in_new_kernel(em, tmp_path, AZURE_QUANTUM_TOKEN_CACHE=f"{chosen}/")
    assert ran.error is not None and ran.error["ename"] == "TokenCacheError", ran.text()
    assert f"{chosen} is open to other users; run chmod 700 {chosen}" in ran.text(), ran.text()
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o755, "a folder the user chose is not changed"
    assert list(chosen.iterdir()) == []


def test_a_cache_of_another_owner_is_refused(em, tmp_path):
    cache = signed_in_once(em, tmp_path)
    os.chown(cache, 65534, 65534)  # the tests run as root, like CI
    ran, _ = connect_in_new_kernel(em, tmp_path)
    assert ran.error is not None and ran.error["ename"] == "TokenCacheError", ran.text()
    assert "belongs to another user" in ran.text(), ran.text()
    assert cache.stat().st_uid == 65534


# --- A token that stops working before the expiry its holder was told ----------------------

def test_a_token_expired_by_skew_is_refreshed_before_use(azq_bin, tmp_path):
    """The authority says `expires_in: 3600` but the token it hands out carries `exp` two
    seconds on (what a clock skewed between the two looks like to the kernel): the kernel
    must go by the token's own lifetime and refresh it, not send it until a 401."""
    em = EmulatorLines(azq_bin)
    try:
        bad = requests.post(f"{em.url}/_emulator/devicelogin", headers={"x-ms-quantum-api-key": KEY}, timeout=10,
                            json={"user_code": "X", "token_lifetime": 0})
        assert bad.status_code == 400 and "1 to 3600" in bad.text, bad.text
        def approve_short(m):
            dc = m["content"].get("data", {}).get("application/x-azq.device-code+json")
            if dc:
                requests.post(f"{em.url}/_emulator/devicelogin", headers={"x-ms-quantum-api-key": KEY}, timeout=10,
                              json={"user_code": dc["user_code"], "approve": True, "token_lifetime": 2}).raise_for_status()
        with kernel(kernel_env(tmp_path, **em.endpoints())) as kc:
            ran = run(kc, connect_code(em), on_msg=approve_short)
            assert ran.error is None, ran.text()
            time.sleep(3)
            before = len(em.requests_log())
            ran = run(kc, "%azure.jobs")
            assert ran.error is None, ran.text()
            refused = [e for e in em.requests_log()[before:] if e["status"] == 401]
            assert refused == [], refused
    finally:
        em.close()


# --- A default chain where every member fails ----------------------------------------------

def test_a_chain_where_every_member_fails_says_why_for_each_within_a_bound(em, tmp_path):
    # A managed identity endpoint that takes the connection and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held = []
    stop = threading.Event()

    def hold():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                pass

    threading.Thread(target=hold, daemon=True).start()
    # An `az` that never answers; it notes its pid so the test can see it was ended.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "az.pid"
    (bin_dir / "az").write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 3600\n")
    (bin_dir / "az").chmod(0o755)
    env = dict(
        AZURE_TENANT_ID=em.tenant, AZURE_CLIENT_ID=em.client, AZURE_CLIENT_SECRET="not-the-secret-5c1d",
        AZURE_FEDERATED_TOKEN_FILE=str(tmp_path / "no-such-token"),
        IDENTITY_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}/msi/token", IDENTITY_HEADER="h",
        PATH=f"{bin_dir}:{os.environ['PATH']}")
    try:
        ran, took = connect_in_new_kernel(em, tmp_path, credential="Default", **env)
    finally:
        stop.set()
        for c in held:
            c.close()
        silent.close()
    text = ran.text()
    assert ran.error is not None and ran.error["ename"] == "AuthenticationFailed", text
    assert "no credential worked" in text, text
    for member in ("Environment: ", "WorkloadIdentity: ", "ManagedIdentity: ", "CLI: ", "DeviceCode: "):
        assert member in text, (member, text)
    assert "not-the-secret-5c1d" not in text
    assert "WorkloadIdentity: AZURE_FEDERATED_TOKEN_FILE names" in text, text
    assert "no answer within 10 s" in text, text
    assert took < 30, f"the chain took {took:.1f} s"
    print(f"\nthe failing chain answered in {took:.1f} s")
    # The `az` that hung was ended, not left running.
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and \
            "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
