"""The standalone emulator on a shared machine (security review, issue 12): its files are
made privately where no other user can have prepared them, and its identity endpoints hand
tokens only to callers that hold the secret it printed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from emulator_helpers import start_emulator

IMDS_PATH = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://quantum.microsoft.com"


def start(azq_bin, *extra, until="AZURE_POD_IDENTITY_AUTHORITY_HOST"):
    """Starts `azq emulator` with its stderr kept, and reads its settings lines."""
    return start_emulator(azq_bin, *extra, until=until, stderr=subprocess.PIPE)


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


def as_attacker(code: str, *args: str) -> None:
    """Runs Python code as another user (nobody) where the machine allows it, else as us.
    One process: it must not use up the pids it prepares for."""
    cmd = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    subprocess.run(cmd, check=True, timeout=60)


# For each upcoming pid: a world-writable folder with world-readable files waiting where the
# emulator's files would go, and a symlink into the attacker's own folder; the folders it made
# are listed in loot/made.
PLANT = """
import os, sys
tmp, loot, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
first = int(open("/proc/sys/kernel/ns_last_pid").read()) + 1
made = []
for p in range(first, first + n):
    d = f"{tmp}/azq-emulator-{p}"
    try:
        os.mkdir(d)
    except FileExistsError:
        continue
    os.chmod(d, 0o777)
    made.append(p)
    for f in ("federated-token", "ca-key.partial"):
        open(f"{d}/{f}", "w").close()
        os.chmod(f"{d}/{f}", 0o666)
    open(f"{loot}/key-{p}", "w").close()
    os.chmod(f"{loot}/key-{p}", 0o666)
    os.symlink(f"{loot}/key-{p}", f"{d}/ca-key.pem")
open(f"{loot}/made", "w").write(" ".join(map(str, made)))
"""


# --- Item 4: predictable folders in /tmp ------------------------------------------------

def test_folders_prepared_in_tmp_for_upcoming_pids_get_no_secret(azq_bin):
    tmp = Path(tempfile.gettempdir())
    loot = Path(tempfile.mkdtemp(prefix="azq-attacker-"))
    loot.chmod(0o777)
    as_attacker(PLANT, str(tmp), str(loot), "300")
    pids = {int(p) for p in (loot / "made").read_text().split()}
    procs = []
    try:
        # The emulator's pid falls among the prepared ones unless many processes started since.
        for _ in range(3):
            proc, lines = start(azq_bin, "--tls")
            procs.append(proc)
            assert "SSL_CERT_FILE" in lines and "AZURE_FEDERATED_TOKEN_FILE" in lines, lines
            if proc.pid in pids:
                break
        assert proc.pid in pids, f"the emulator's pid {proc.pid} was not among those prepared"
        planted = tmp / f"azq-emulator-{proc.pid}"
        # Nothing the attacker can read holds anything.
        for f in [*planted.iterdir(), *loot.glob("key-*")]:
            if not f.is_symlink():
                assert f.read_bytes() == b"", f"the emulator wrote its secrets into the prepared {f}"
        # Its files are in a folder of its own that nobody else can enter.
        ca, token = Path(lines["SSL_CERT_FILE"]), Path(lines["AZURE_FEDERATED_TOKEN_FILE"])
        assert ca.parent == token.parent and ca.parent != planted
        st = ca.parent.lstat()
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700
        for f in (token, ca.parent / "ca-key.pem"):
            st = f.lstat()
            assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, f
        assert "PRIVATE KEY" in (ca.parent / "ca-key.pem").read_text()
        # The token it printed signs in (the file is the one the emulator meant).
        assert token.read_text().count(".") == 2
        # It cleans up what it made when asked to stop.
        stop(proc)
        assert not ca.parent.exists()
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
        for p in pids:  # only the folders the attacker made
            shutil.rmtree(tmp / f"azq-emulator-{p}", ignore_errors=True)
        shutil.rmtree(loot, ignore_errors=True)


def test_a_data_dir_others_can_write_is_refused(azq_bin, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    proc, lines = start(azq_bin, "--data-dir", str(shared))
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            stop(proc)
    assert proc.returncode != 0, lines
    assert "--data-dir" in err and "writable by others" in err, err
    assert list(shared.iterdir()) == []


def test_data_dir_files_are_private_and_not_written_through_symlinks(azq_bin, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Symlinks where the emulator used to write its files aside before renaming them.
    for name in ("credentials.partial", "state.partial", "ca-key.partial", "ca.partial"):
        (elsewhere / name).write_text("")
        (data / name).symlink_to(elsewhere / name)
    proc, lines = start(azq_bin, "--tls", "--data-dir", str(data))
    try:
        assert "SSL_CERT_FILE" in lines, lines
        # A change: the state is written.
        key = dict(p.split("=", 1) for p in lines["AZURE_QUANTUM_CONNECTION_STRING"].strip(";").split(";"))["ApiKey"]
        url = lines["url"].replace("https://", "http://")
        r = requests.post(f"{url}/_emulator/faults", json={"rules": []}, headers={"x-ms-quantum-api-key": key}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        stop(proc)
    for name in ("credentials.partial", "state.partial", "ca-key.partial", "ca.partial"):
        assert (elsewhere / name).read_text() == "", f"written through the symlink {name}"
    for name in ("credentials.json", "ca-key.pem"):
        st = (data / name).lstat()
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, name
    assert stat.S_ISREG((data / "ca.pem").lstat().st_mode)


# --- Item 2: identity tokens need the printed secret --------------------------------------

def test_the_standalone_emulator_gives_identity_tokens_only_with_its_secret(azq_bin):
    proc, lines = start(azq_bin)
    try:
        url = lines["url"]
        # What any local process could send.
        r = requests.get(url + IMDS_PATH, headers={"Metadata": "true"}, timeout=10)
        assert r.status_code == 401 and "access_token" not in r.json(), r.text
        assert "--open-imds" in r.json()["error_description"]
        r = requests.get(f"{url}/msi/token?api-version=2019-08-01&resource=https://quantum.microsoft.com", timeout=10)
        assert r.status_code == 401
        # The printed address carries the secret; clients append the IMDS path to it.
        pod = lines["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
        assert pod.startswith(url + "/identity/") and lines["IDENTITY_HEADER"] in pod
        r = requests.get(pod.rstrip("/") + IMDS_PATH, headers={"Metadata": "true"}, timeout=10)
        assert r.status_code == 200 and r.json()["token_type"] == "Bearer", r.text
    finally:
        stop(proc)
    # Opened on purpose, the bare path answers as a VM's IMDS does.
    proc, lines = start(azq_bin, "--open-imds")
    try:
        r = requests.get(lines["url"] + IMDS_PATH, headers={"Metadata": "true"}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        stop(proc)


def test_running_out_of_file_descriptors_does_not_stop_the_emulator(azq_bin):
    """A burst of connections past the process's descriptor limit (a shared host's small
    `ulimit -n`, or a client leaking sockets): the connections over the limit are refused or
    wait, and once they close the emulator answers again; it does not exit."""
    import resource
    import socket

    from emulator_helpers import Emulator

    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    real_popen = subprocess.Popen

    def popen(*args, **kw):
        return real_popen(*args, preexec_fn=small_limit, **kw)

    subprocess.Popen = popen
    try:
        em = Emulator(azq_bin)
    finally:
        subprocess.Popen = real_popen
    try:
        host, port = em.url.removeprefix("http://").split(":")
        held = []
        for _ in range(150):
            try:
                held.append(socket.create_connection((host, int(port)), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        for s in held:
            s.close()
        time.sleep(0.5)
        assert em.proc.poll() is None, "the emulator exited when it ran out of descriptors"
        assert em.call("GET", "quotas").status_code == 200
    finally:
        em.close()
