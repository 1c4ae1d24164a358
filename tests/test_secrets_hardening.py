"""Findings of the security review (issue 12), each attack run for real against a kernel:
a token cache folder another user could write, secrets in cells whose magic is misspelt or
that are no magic at all, and `%env` showing IDENTITY_HEADER and a proxy's password."""

from __future__ import annotations

import json
import re
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from test_connect import EmulatorLines, approver, kernel, kernel_env

# Another user on the same host (nobody), for the attacks that need one.
ATTACKER = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture(scope="module")
def em(azq_bin):
    e = EmulatorLines(azq_bin)
    yield e
    e.close()


def execute(kc, code: str, on_msg=None, timeout: float = 60) -> list[dict]:
    """Every IOPub message of the cell and its execute_reply, as the front end got them."""
    msg_id = kc.execute(code)
    got = []
    deadline = time.monotonic() + timeout
    while True:
        m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        got.append(m)
        if on_msg:
            on_msg(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            got.append(reply)
            return got


def history(kc) -> dict:
    msg_id = kc.history(hist_access_type="tail", n=1000, raw=True, output=True)
    while True:
        reply = kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


# --- 5. The token cache in a folder another user can write --------------------------------

@pytest.fixture
def shared_home():
    """A home that another user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="azq-shared-"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    yield home
    shutil.rmtree(base)


def test_a_planted_symlink_in_an_open_cache_folder_catches_no_refresh_token(em, shared_home):
    # The victim's cache folder was left open (0777); the attacker, another user, plants a
    # link at the temporary name the cache is written to, pointing at a file of the victim's.
    victim = shared_home / ".bashrc"
    victim.write_text("precious\n")
    own = shared_home / ".azure-quantum"
    own.mkdir()
    own.chmod(0o777)
    env = kernel_env(shared_home, **em.endpoints())
    with kernel(env) as kc:
        pid = kc.parent.provisioner.process.pid  # the client's parent is its KernelManager
        for name in (f"azq-token-cache.tmp.{pid}", f"azq-token-cache.json.tmp.{pid}"):
            subprocess.run([*ATTACKER, "ln", "-s", str(victim), str(own / name)], check=True)
        got = execute(kc, f"%azure.connect {em.rid} credential=DeviceCode", on_msg=approver(em))
        blob = json.dumps([m["content"] for m in got])
    assert victim.read_text() == "precious\n", "the sign-in wrote through the planted link"
    errors = [m["content"] for m in got if m["msg_type"] == "error"]
    assert errors and errors[0]["ename"] == "TokenCacheError", blob[-2000:]
    assert "other users can write" in errors[0]["evalue"] and "chmod 700" in errors[0]["evalue"], errors[0]
    assert "Connected to Azure Quantum workspace" not in blob



# --- 6. Secrets in cells whose magic is misspelt, or that are no magic at all --------------

SENTINEL = "sentinel-shape-key-3c9d"


def everything_seen(kc, cells: list[str]) -> str:
    """What a front end got for `cells`: every IOPub message (execute_input, streams,
    results, errors), every execute_reply, and the history afterwards."""
    seen = []
    for code in cells:
        seen.extend(json.dumps(m["content"]) for m in execute(kc, code))
    seen.append(json.dumps(history(kc)["content"]))
    return "\n".join(seen)


# Its control cell (`%azure.conect note=<sentinel>`) shows the sentinel where it has no secret's
# shape, to prove the same check would see it: the suite-wide scan lists that, not counts it.
@pytest.mark.shows_secret
def test_secret_shapes_are_masked_whatever_the_magic(azq_bin, tmp_path):
    s = SENTINEL
    cs = f"SubscriptionId=s;ResourceGroupName=r;WorkspaceName=w;ApiKey={s};QuantumEndpoint=http://127.0.0.1:9/"
    cells = [
        f'%azure.conect connectionString="{cs}"',
        f'%Azure.connect connectionString="{cs}"',
        f'%%azure.conect\nconnectionString="{cs}"',
        f"%azure.conect connectionString={s}",
        f'%azure.conect storage="DefaultEndpointsProtocol=https;AccountName=a;AccountKey={s}"',
        f'%azure.conect clientSecret={s}',
        f'%azure.conect client_secret="{s}"',
        f'%azure.conect x="Endpoint=sb://a/;SharedAccessSignature={s}"',
        f"let sas = \"https://a.blob.core.windows.net/c/b?sp=r&sig={s}&se=2030\";",
        f"my key: ApiKey={s}",
        f'connectionString="{s}"',
        f"AccountKey={s}",
    ]
    # rustup's own folders, which a home of its own would hide, so the Rust lines compile.
    real_home = Path.home()
    rust_env = {k: os.environ.get(k, str(real_home / d)) for k, d in (("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo"))}
    with kernel(kernel_env(tmp_path, **rust_env)) as kc:
        blob = everything_seen(kc, cells)
        control = everything_seen(kc, [f"%azure.conect note={s}"])
    # The Rust lines were compiled (a compile error echoes the cell's line) or, with no
    # toolchain where the test runs, refused.
    assert "UnknownMagic" in blob and ("CompileError" in blob or "RustToolchainMissing" in blob), re.findall(r"\"ename\": \"(\w+)\"", blob)
    assert '"execute_input"' in blob or "execution_count" in blob
    assert s not in blob, blob[blob.find(s) - 300: blob.find(s) + 50]
    # The same check sees the sentinel where it is no secret's shape: in the input, the
    # error's excerpt and history.
    assert control.count(s) >= 3, control


# --- 8. `%env`: IDENTITY_HEADER and a proxy's password ------------------------------------

def test_env_hides_identity_header_and_a_proxys_password(azq_bin, tmp_path):
    s = SENTINEL
    header, password = f"hdr-{s}", f"pw-{s}"
    # Set in the kernel's environment, as App Service and a corporate proxy set them.
    env = kernel_env(tmp_path, IDENTITY_HEADER=header, HTTPS_PROXY=f"http://alice:{password}@127.0.0.1:3128",
                     HTTP_PROXY=f"http://alice:{password}@127.0.0.1:3128/")
    cells = [
        "%env",
        "%env IDENTITY_HEADER",
        "%env HTTPS_PROXY",
        # And set with %env itself.
        f"%env IDENTITY_HEADER={header}",
        f"%env https_proxy=http://bob:{password}@proxy.example:8080",
        "%env https_proxy",
    ]
    with kernel(env) as kc:
        blob = everything_seen(kc, cells)
    assert s not in blob, blob[blob.find(s) - 300: blob.find(s) + 50]
    assert "HTTPS_PROXY=http://alice:***@127.0.0.1:3128" in blob, blob
    assert "http://bob:***@proxy.example:8080" in blob, blob
    assert f"IDENTITY_HEADER=<hidden: {len(header)} characters>" in blob, blob
