"""`%azure.connect` end to end: a real kernel (jupyter_client) against the emulator, with
every way to sign in, the seed document's examples, the token cache, errors and secrets."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from jupyter_client.manager import KernelManager

SECRET = "sentinel-client-secret-7d2e"
KEY = "sentinel-api-key-91ab"
KEEP = ("PATH", "LANG", "LC_ALL", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "JUPYTER_PLATFORM_DIRS", "TMPDIR")


class EmulatorLines:
    """`azq emulator` and everything it printed (URL, connection string, identities)."""

    def __init__(self, azq_bin, *extra, job_delay_ms: int = 5):
        import subprocess

        self.proc = subprocess.Popen(
            [str(azq_bin), "emulator", "--port", "0", "--job-delay-ms", str(job_delay_ms), "--device-code-interval", "1",
             "--api-key", KEY, "--client-secret", SECRET, *extra],
            stdout=subprocess.PIPE, text=True)
        self.lines: dict[str, str] = {}
        while "AZURE_POD_IDENTITY_AUTHORITY_HOST" not in self.lines:
            line = self.proc.stdout.readline()
            assert line, "the emulator stopped before printing its settings"
            if line.startswith("listening on "):
                self.url = line.split()[-1].strip()
            else:
                k, _, v = line.strip().partition("=")
                self.lines[k] = v
        self.cs = self.lines["AZURE_QUANTUM_CONNECTION_STRING"]
        f = dict(p.split("=", 1) for p in self.cs.strip(";").split(";"))
        self.sub, self.rg, self.ws = f["SubscriptionId"], f["ResourceGroupName"], f["WorkspaceName"]
        self.rid = f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.Quantum/Workspaces/{self.ws}"
        self.tenant, self.client = self.lines["AZURE_TENANT_ID"], self.lines["AZURE_CLIENT_ID"]
        self.storage = self.lines["AZURE_STORAGE_CONNECTION_STRING"]

    def endpoints(self) -> dict:
        """Entra ID and ARM at the emulator (plain http, loopback)."""
        return {"AZURE_AUTHORITY_HOST": self.url, "AZQ_ARM_ENDPOINT": self.url}

    def service_principal(self) -> dict:
        return {"AZURE_TENANT_ID": self.tenant, "AZURE_CLIENT_ID": self.client, "AZURE_CLIENT_SECRET": SECRET}

    def token(self, scope: str) -> str:
        r = requests.post(f"{self.url}/{self.tenant}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": self.client, "client_secret": SECRET, "scope": scope},
            timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def approve(self, user_code: str, approve: bool = True):
        requests.post(f"{self.url}/_emulator/devicelogin", json={"user_code": user_code, "approve": approve},
                      headers={"x-ms-quantum-api-key": KEY}, timeout=10).raise_for_status()

    def requests_log(self) -> list[dict]:
        """What the emulator was asked, in order (`GET /_emulator/requests`), its own
        admin requests left out."""
        r = requests.get(f"{self.url}/_emulator/requests", headers={"x-ms-quantum-api-key": KEY}, timeout=10)
        r.raise_for_status()
        return [e for e in r.json() if not e["path"].startswith("/_emulator/")]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def em(azq_bin):
    e = EmulatorLines(azq_bin)
    yield e
    e.close()


def kernel_env(home: Path, **extra) -> dict:
    """A clean environment: nothing Azure-related from the outside, a home of its own."""
    env = {k: v for k, v in os.environ.items() if k in KEEP}
    env["HOME"] = str(home)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextlib.contextmanager
def kernel_and_manager(env: dict, stderr=None):
    km = KernelManager(kernel_name="azq")
    km.start_kernel(env=env, stderr=stderr)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    try:
        yield kc, km
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@contextlib.contextmanager
def kernel(env: dict, stderr=None):
    with kernel_and_manager(env, stderr) as (kc, _):
        yield kc


class Ran:
    def __init__(self):
        self.msgs: list[dict] = []
        self.error: dict | None = None
        self.result: dict | None = None

    def text(self) -> str:
        parts = []
        for m in self.msgs:
            c = m["content"]
            if "data" in c:
                parts.append(c["data"].get("text/plain", ""))
            elif m["msg_type"] == "stream":
                parts.append(c["text"])
            elif m["msg_type"] == "error":
                parts.append("\n".join(c["traceback"]))
        return "\n".join(parts)

    def data(self, mime: str):
        return (self.result or {}).get("data", {}).get(mime)

    def record(self, m: dict) -> None:
        """Keeps one of the cell's IOPub messages (its error and result apart)."""
        self.msgs.append(m)
        if m["msg_type"] == "error":
            self.error = m["content"]
        if m["msg_type"] == "execute_result":
            self.result = m["content"]


def run(kc, code: str, on_msg=None, timeout: float = 60) -> Ran:
    msg_id = kc.execute(code)
    ran = Ran()
    deadline = time.monotonic() + timeout
    while True:
        m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
        ran.record(m)
        if on_msg:
            on_msg(m)
    kc.get_shell_msg(timeout=10)
    return ran


def approver(em, approve=True, seen=None):
    """Approves a device-code prompt as the person at the browser would."""
    def on_msg(m):
        data = m["content"].get("data", {})
        dc = data.get("application/x-azq.device-code+json")
        if dc:
            assert data["text/plain"].startswith("To sign in, use a web browser to open the page ")
            assert dc["user_code"] in data["text/html"] and "<button" in data["text/html"]
            if seen is not None:
                seen.append(dc["user_code"])
            em.approve(dc["user_code"], approve)
    return on_msg


def connected(ran: Ran, em, credential: str):
    assert ran.error is None, ran.text()
    text = ran.result["data"]["text/plain"]
    assert text.startswith(f"Connected to Azure Quantum workspace {em.ws} in location westus"), text
    assert "ionq.simulator" in text and "Average Queue Time (Seconds)" in text
    data = ran.data("application/x-azq.targets+json")
    assert data["credential"] == credential, data
    assert "application/json" not in ran.result["data"]
    ids = [t["id"] for p in data["providers"] for t in p["targets"]]
    assert "quantinuum.sim.h2-1sc" in ids


# --- The seed document's examples ---------------------------------------------------------

def test_every_example_of_the_seed_document(em, tmp_path):
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal())
    examples = [
        f'%azure.connect resourceId="{em.rid}"',
        f'%azure.connect resourceId="{em.rid}"\n                      storage="{em.storage}"',
        f'%azure.connect subscription="{em.sub}"\n                      resourceGroup="{em.rg}"\n'
        f'                      workspace="{em.ws}"\n                      storage="{em.storage}"',
    ]
    with kernel(env) as kc:
        assert run(kc, "%azure.connect").error["ename"] == "NotConnected"
        for code in examples:
            connected(run(kc, code), em, "Environment")
        seen = []
        ran = run(kc, f'%azure.connect refresh resourceId="{em.rid}"', on_msg=approver(em, seen=seen))
        connected(ran, em, "DeviceCode")
        assert len(seen) == 1
        updates = [m for m in ran.msgs if m["msg_type"] == "update_display_data"]
        assert updates[-1]["content"]["data"]["text/plain"] == "Signed in as demo.user@azq.example."
        before = len(em.requests_log())
        status = run(kc, "%azure.connect")
        connected(status, em, "DeviceCode")
        # Within five minutes of the last fetch the target list is the one kept: no request
        # at all (counted on the emulator's own log), no sign-in, no progress display.
        assert em.requests_log()[before:] == [], em.requests_log()[before:]
        shown = [m for m in status.msgs if m["msg_type"] not in ("status", "execute_input")]
        assert len(shown) == 1, "status needs no sign-in and no progress display"
        # IQ#'s JSON form, as qsharp.azure sent it.
        connected(run(kc, json.dumps({"resourceId": em.rid, "credential": "environment"}).join(["%azure.connect ", ""])),
                  em, "Environment")


# --- Each way to sign in ------------------------------------------------------------------

def fake_az(tmp_path: Path, em) -> tuple[Path, Path]:
    """An `az` on PATH that prints what `az account get-access-token -o json` prints."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "az-calls.txt"
    for name, scope in (("arm", "https://management.azure.com/.default"), ("quantum", "https://quantum.microsoft.com/.default")):
        (tmp_path / f"{name}.json").write_text(json.dumps({
            "accessToken": em.token(scope), "expiresOn": "2030-01-01 00:00:00.000000",
            "expires_on": int(time.time()) + 3600, "subscription": em.sub, "tenant": em.tenant, "tokenType": "Bearer"}))
    az = bin_dir / "az"
    az.write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$*" in
  *management*) cat {tmp_path / 'arm.json'} ;;
  *) cat {tmp_path / 'quantum.json'} ;;
esac
""")
    az.chmod(0o755)
    return bin_dir, log


@pytest.mark.parametrize("kind", ["Environment", "WorkloadIdentity", "ManagedIdentity-AppService", "ManagedIdentity-VM",
                                  "CLI", "DeviceCode", "TokenFile", "ApiKey", "ApiKey-env"])
def test_each_credential_signs_in(em, tmp_path, kind):
    env = kernel_env(tmp_path, **em.endpoints())
    code = f"%azure.connect resourceId={em.rid} credential={kind.split('-')[0].lower()}"
    on_msg = None
    if kind == "Environment":
        env.update(em.service_principal())
    elif kind == "WorkloadIdentity":
        env.update(AZURE_TENANT_ID=em.tenant, AZURE_CLIENT_ID=em.client,
                   AZURE_FEDERATED_TOKEN_FILE=em.lines["AZURE_FEDERATED_TOKEN_FILE"])
    elif kind == "ManagedIdentity-AppService":
        env.update(IDENTITY_ENDPOINT=em.lines["IDENTITY_ENDPOINT"], IDENTITY_HEADER=em.lines["IDENTITY_HEADER"])
    elif kind == "ManagedIdentity-VM":
        env.update(AZURE_POD_IDENTITY_AUTHORITY_HOST=em.lines["AZURE_POD_IDENTITY_AUTHORITY_HOST"])
    elif kind == "CLI":
        bin_dir, log = fake_az(tmp_path, em)
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
    elif kind == "DeviceCode":
        on_msg = approver(em)
    elif kind == "TokenFile":
        token = tmp_path / "token.json"
        token.write_text(json.dumps({"access_token": em.token("https://quantum.microsoft.com/.default"),
                                     "expires_on": int(time.time() * 1000) + 3_600_000}))
        env["AZURE_QUANTUM_TOKEN_FILE"] = str(token)
        code += f" endpoint={em.url}/ location=westus"
    elif kind == "ApiKey":
        code = f'%azure.connect connectionString="{em.cs}"'
    elif kind == "ApiKey-env":
        env["AZURE_QUANTUM_CONNECTION_STRING"] = em.cs
        code = "%azure.connect credential=ApiKey"
    with kernel(env) as kc:
        ran = run(kc, code, on_msg=on_msg)
        if kind.startswith("ApiKey"):
            # The connection string names the emulator's own endpoint: no location is known.
            assert ran.error is None, ran.text()
            assert ran.result["data"]["text/plain"].startswith(
                f"Connected to Azure Quantum workspace {em.ws} at {em.url} (an emulator at {em.url}).")
            assert ran.data("application/x-azq.targets+json")["credential"] == "ApiKey"
        else:
            connected(ran, em, kind.split("-")[0])
    if kind == "CLI":
        calls = log.read_text()
        assert "account get-access-token" in calls and "https://management.azure.com/.default" in calls, calls


def test_az_without_a_login_does_not_stop_the_chain_before_the_prompt(em, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text("#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n")
    az.chmod(0o755)
    env = kernel_env(tmp_path, **em.endpoints())
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    with kernel(env) as kc:
        connected(run(kc, f"%azure.connect {em.rid}", on_msg=approver(em)), em, "DeviceCode")


def test_an_identity_endpoint_without_its_header_is_named_not_sent_elsewhere(em, tmp_path):
    # The identity crate would read this as a VM and call the VM address.
    env = kernel_env(tmp_path, **em.endpoints(), IDENTITY_ENDPOINT=em.lines["IDENTITY_ENDPOINT"])
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=ManagedIdentity")
        assert ran.error["ename"] == "AuthenticationFailed", ran.text()
        assert "IDENTITY_ENDPOINT is set without IDENTITY_HEADER" in ran.error["evalue"], ran.error["evalue"]


def test_managed_identity_settings_made_with_env_are_refused_not_misread(em, tmp_path):
    # The identity crate reads these from the process, so honouring the session's value is
    # impossible; using the process's (none: the VM form) would call another endpoint.
    env = kernel_env(tmp_path, **em.endpoints())
    with kernel(env) as kc:
        run(kc, f"%env IDENTITY_ENDPOINT={em.lines['IDENTITY_ENDPOINT']}")
        run(kc, f"%env IDENTITY_HEADER={em.lines['IDENTITY_HEADER']}")
        ran = run(kc, f"%azure.connect {em.rid} credential=ManagedIdentity")
        assert ran.error["ename"] == "AuthenticationFailed", ran.text()
        assert ("IDENTITY_ENDPOINT, IDENTITY_HEADER changed with %env" in ran.error["evalue"]
                and "before starting Jupyter" in ran.error["evalue"]), ran.error["evalue"]
        assert em.lines["IDENTITY_HEADER"] not in ran.text()


def test_the_default_chain_takes_the_first_that_works_and_reports_each_failure(em, tmp_path):
    # Workload identity configured (the first to work after an absent service principal).
    env = kernel_env(tmp_path, **em.endpoints(), AZURE_TENANT_ID=em.tenant, AZURE_CLIENT_ID=em.client,
                     AZURE_FEDERATED_TOKEN_FILE=em.lines["AZURE_FEDERATED_TOKEN_FILE"])
    with kernel(env) as kc:
        connected(run(kc, f"%azure.connect {em.rid}"), em, "WorkloadIdentity")
    # A wrong secret: the chain stops before prompting and names each credential's failure.
    env = kernel_env(tmp_path, **em.endpoints(), AZURE_TENANT_ID=em.tenant, AZURE_CLIENT_ID=em.client,
                     AZURE_CLIENT_SECRET="wrong-secret-123")
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid}")
        assert ran.error["ename"] == "AuthenticationFailed", ran.text()
        text = ran.error["evalue"]
        for line in ("Environment:", "WorkloadIdentity: AZURE_FEDERATED_TOKEN_FILE is not set",
                     "ManagedIdentity: no sign of an Azure host", "CLI: az is not on PATH", "DeviceCode: not tried"):
            assert line in text, text
        assert "wrong-secret-123" not in ran.text()


# --- The token cache ----------------------------------------------------------------------

def test_a_cached_login_survives_a_restart_and_refresh_prompts_again(em, tmp_path):
    cache_dir = tmp_path / "cache"
    env = kernel_env(tmp_path / "home", **em.endpoints(), AZURE_QUANTUM_TOKEN_CACHE=f"{cache_dir}/")
    code = f"%azure.connect {em.rid} credential=DeviceCode"
    seen = []
    with kernel(env) as kc:
        connected(run(kc, code, on_msg=approver(em, seen=seen)), em, "DeviceCode")
    assert len(seen) == 1
    cache = cache_dir / "azq-token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    stored = json.loads(cache.read_text())
    assert stored["version"] == 1 and len(stored["accounts"]) == 1
    assert "access_token" not in cache.read_text(), "access tokens stay in memory"
    assert not (tmp_path / "home" / ".azure-quantum").exists(), "AZURE_QUANTUM_TOKEN_CACHE moves the cache"
    # A new kernel: no prompt.
    with kernel(env) as kc:
        connected(run(kc, code, on_msg=approver(em, seen=seen)), em, "DeviceCode")
        assert len(seen) == 1
        # `refresh` prompts again and replaces the cache.
        before = cache.read_text()
        connected(run(kc, f"%azure.connect refresh {em.rid}", on_msg=approver(em, seen=seen)), em, "DeviceCode")
        assert len(seen) == 2 and cache.read_text() != before
    # Without the variable, the cache is ~/.azure-quantum.
    home = tmp_path / "home2"
    env2 = kernel_env(home, **em.endpoints())
    with kernel(env2) as kc:
        connected(run(kc, code, on_msg=approver(em, seen=seen)), em, "DeviceCode")
    assert stat.S_IMODE((home / ".azure-quantum").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / ".azure-quantum" / "azq-token-cache.json").stat().st_mode) == 0o600


def has_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd) == str(path):
                return True
    return False


def test_two_kernels_refreshing_at_once_leave_a_valid_cache(em, tmp_path):
    cache = tmp_path / "shared-cache.json"
    lock = tmp_path / "shared-cache.lock"
    env = kernel_env(tmp_path, **em.endpoints(), AZURE_QUANTUM_TOKEN_CACHE=cache)
    code = f"%azure.connect {em.rid} credential=DeviceCode"
    seen = []
    with kernel(env) as kc:
        connected(run(kc, code, on_msg=approver(em, seen=seen)), em, "DeviceCode")
    # Refresh tokens are single-use: without the lock one kernel would redeem a spent one.
    for _ in range(3):
        with kernel_and_manager(env) as (a, ka), kernel_and_manager(env) as (b, kb):
            before = len(em.requests_log())
            # This process holds the cache's lock while both kernels start refreshing, so
            # both are at the lock at once when it is released: the overlap is certain.
            held = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(held, fcntl.LOCK_EX)
            results = {}
            # A kernel that redeemed a spent token would prompt: decline, so it fails at once.
            threads = [threading.Thread(target=lambda k=k, name=name: results.__setitem__(
                name, run(k, code, on_msg=approver(em, approve=False, seen=seen))))
                for name, k in (("a", a), ("b", b))]
            try:
                for t in threads:
                    t.start()
                deadline = time.monotonic() + 60  # a hang guard
                pids = [km.provisioner.process.pid for km in (ka, kb)]
                while not all(has_open(pid, lock) for pid in pids):
                    assert time.monotonic() < deadline, "both kernels reach the lock"
                    time.sleep(0.02)
                assert not results, "neither kernel got past the lock"
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)
                os.close(held)
            for t in threads:
                t.join(120)
            assert sorted(results) == ["a", "b"], "both kernels answered"
            for r in results.values():
                connected(r, em, "DeviceCode")
            tokens = [e for e in em.requests_log()[before:] if e["path"].endswith("/oauth2/v2.0/token")]
            assert tokens and all(e["status"] == 200 for e in tokens), tokens
        assert len(json.loads(cache.read_text())["accounts"]) == 1
    assert len(seen) == 1, "no kernel needed a new prompt"
    assert not list(tmp_path.glob("shared-cache.json.tmp*")), "no temporary file left behind"


def test_a_declined_device_code_says_so(em, tmp_path):
    env = kernel_env(tmp_path, **em.endpoints())
    with kernel(env) as kc:
        ran = run(kc, f"%azure.connect {em.rid} credential=DeviceCode", on_msg=approver(em, approve=False))
        assert ran.error["ename"] == "AuthenticationFailed"
        assert "declined" in ran.error["evalue"]


# --- Errors -------------------------------------------------------------------------------

def test_service_errors_say_what_to_do(azq_bin, em, tmp_path):
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal())
    with kernel(env) as kc:
        # 404: which parts to check.
        ran = run(kc, f"%azure.connect {em.rid.replace(em.ws, 'no-such-ws')}")
        assert ran.error["ename"] == "WorkspaceNotFound", ran.text()
        assert "no-such-ws" in ran.error["evalue"] and "resourceGroup" in ran.error["evalue"]
        # 401 with an API key: names the credential and what to do.
        ran = run(kc, f'%azure.connect connectionString="{em.cs.replace(KEY, "wrong-key-wrong-key")}"')
        assert ran.error["ename"] == "AuthenticationFailed"
        assert "workspace API key" in ran.error["evalue"] and "Keys page" in ran.error["evalue"]
        assert "wrong-key-wrong-key" not in ran.text()
        # A failed reconnect keeps the old connection.
        connected(run(kc, f"%azure.connect {em.rid}"), em, "Environment")
        assert run(kc, f"%azure.connect {em.rid.replace(em.ws, 'gone')}").error["ename"] == "WorkspaceNotFound"
        connected(run(kc, "%azure.connect"), em, "Environment")
    # 403: the identity lacks a role.
    denying = EmulatorLines(azq_bin, "--fault", "GET **/providerStatus 403")
    try:
        env = kernel_env(tmp_path, **denying.endpoints(), **denying.service_principal())
        with kernel(env) as kc:
            ran = run(kc, f"%azure.connect {denying.rid}")
            assert ran.error["ename"] == "AccessDenied", ran.text()
            assert "role" in ran.error["evalue"] and "service principal" in ran.error["evalue"]
    finally:
        denying.close()


def test_network_failures_name_the_host_and_give_up(em, tmp_path):
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"access_token": em.token("https://quantum.microsoft.com/.default"),
                                 "expires_on": int(time.time() * 1000) + 3_600_000}))
    env = kernel_env(tmp_path, AZURE_QUANTUM_TOKEN_FILE=token)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    # A host that accepts and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with kernel(env) as kc:
        # The deadlines of `run` are hang guards only: the cell must end with the error.
        ran = run(kc, f"%azure.connect {em.rid} credential=TokenFile endpoint=http://127.0.0.1:{port}/", timeout=60)
        assert ran.error["ename"] == "NetworkError", ran.text()
        assert f"127.0.0.1:{port} could not be reached" in ran.error["evalue"]
        ran = run(kc, f"%azure.connect {em.rid} credential=TokenFile endpoint=http://127.0.0.1:{silent.getsockname()[1]}/",
                  timeout=120)
        assert ran.error["ename"] == "NetworkError", ran.text()
        assert "did not answer within" in ran.error["evalue"]
    silent.close()


def test_https_emulator_through_its_proxy_with_ssl_cert_file(azq_bin, tmp_path):
    tls = EmulatorLines(azq_bin, "--tls", "--data-dir", str(tmp_path / "em"))
    try:
        assert tls.url.startswith("https://")
        env = kernel_env(tmp_path, HTTPS_PROXY=tls.lines["HTTPS_PROXY"], SSL_CERT_FILE=tls.lines["SSL_CERT_FILE"],
                         **tls.service_principal())
        with kernel(env) as kc:
            # Real host names, real https, the identity crate's own https checks: only the CA is extra.
            connected(run(kc, f"%azure.connect {tls.rid}"), tls, "Environment")
        # Straight to the address, no proxy: Entra ID, ARM and the data plane at https://127.0.0.1.
        direct = kernel_env(tmp_path, SSL_CERT_FILE=tls.lines["SSL_CERT_FILE"], AZURE_AUTHORITY_HOST=tls.url,
                            AZQ_ARM_ENDPOINT=tls.url, **tls.service_principal())
        with kernel(direct) as kc:
            ran = run(kc, f"%azure.connect {tls.rid} endpoint={tls.url}/ location=westus")
            connected(ran, tls, "Environment")
        env.pop("SSL_CERT_FILE")
        with kernel(env) as kc:
            ran = run(kc, f"%azure.connect {tls.rid} credential=Environment")
            assert ran.error["ename"] == "AuthenticationFailed", ran.text()
            # The proxy's certificate is untrusted: the one cause, and the one fix, are named.
            evalue = ran.error["evalue"]
            assert ("the server's TLS certificate is not trusted" in evalue and "UnknownIssuer" in evalue
                    and "point SSL_CERT_FILE at its CA certificate" in evalue), evalue
    finally:
        tls.close()


# --- Completion and help -------------------------------------------------------------------

def test_completion_and_help(em, tmp_path):
    with kernel(kernel_env(tmp_path)) as kc:
        def complete(code):
            kc.complete(code, len(code))
            return kc.get_shell_msg(timeout=10)["content"]["matches"]
        assert "%azure.connect" in complete("%azure.co")
        assert complete("%azure.connect cred") == ["credential="]
        assert complete("%azure.connect credential=dev") == ["credential=DeviceCode"]
        assert complete("%azure.connect ref") == ["refresh"]
        assert "resourceGroup=" in complete("%azure.connect res")
        ran = run(kc, "%azure.connect?")
        page = next(m for m in ran.msgs if False) if False else None
        kc.execute("%azure.connect?")
        reply = kc.get_shell_msg(timeout=10)["content"]
        text = reply["payload"][0]["data"]["text/plain"]
        for word in ("resourceId", "credential", "refresh", "emulator", "NotConnected", "AZURE_QUANTUM_TOKEN_CACHE"):
            assert word in text, word


# --- Secrets ------------------------------------------------------------------------------

def test_no_secret_reaches_outputs_history_or_logs(em, tmp_path):
    storage_key = dict(p.split("=", 1) for p in em.storage.split(";") if "=" in p)["AccountKey"]
    log = tmp_path / "kernel.log"
    env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal(), AZQ_LOG="debug")
    cells = [
        f'%azure.connect connectionString="{em.cs}"',
        f'%azure.connect resourceId="{em.rid}" storage="{em.storage}"',
        f'%azure.connect connectionString="{em.cs}" refresh',
        f'%azure.connect connectionString="{em.cs}',
        f'%azure.connect {{"connectionString": "{em.cs}", "bogus": 1}}',
        f'%azure.connect storage="{em.storage}" location=mars {em.rid}',
        f'%azure.connect connectionString="{em.cs.replace(KEY, KEY + "x")}"',
        "%azure.connect",
        "%env AZURE_CLIENT_SECRET",
    ]
    everything = []
    with open(log, "w") as err, kernel(env, stderr=err) as kc:
        for code in cells:
            ran = run(kc, code)
            everything.extend(json.dumps(m["content"]) for m in ran.msgs)
        kc.history(hist_access_type="tail", n=100)
        everything.append(json.dumps(kc.get_shell_msg(timeout=10)["content"]))
    everything.append(log.read_text())
    blob = "\n".join(everything)
    assert "Connected to Azure Quantum workspace" in blob, "the cells ran"
    for sentinel in (SECRET, KEY, storage_key, "eyJ"):
        assert sentinel not in blob, f"{sentinel[:8]}… leaked"


def test_an_interrupt_stops_waiting_for_a_device_code(em, tmp_path):
    env = kernel_env(tmp_path, **em.endpoints())
    km = KernelManager(kernel_name="azq")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    try:
        interrupted = []

        def on_msg(m):
            if "application/x-azq.device-code+json" in m["content"].get("data", {}) and not interrupted:
                interrupted.append(time.monotonic())
                km.interrupt_kernel()
        # The device code lives 15 minutes: only the interrupt can end this cell before the
        # hang guard.
        ran = run(kc, f"%azure.connect {em.rid} credential=DeviceCode", on_msg=on_msg, timeout=60)
        assert ran.error["ename"] == "Interrupted", ran.text()
        assert interrupted, "the interrupt was sent on the prompt"
        assert run(kc, "%azure.connect").error["ename"] == "NotConnected"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_bad_settings_in_the_environment_say_which_and_what_to_do(em, tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    bad_token = tmp_path / "token.json"
    bad_token.write_text("{not json")
    old_token = tmp_path / "old-token.json"
    old_token.write_text(json.dumps({"access_token": "x", "expires_on": 1000}))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    by_parts = f"%azure.connect subscription={em.sub} resourceGroup={em.rg} workspace={em.ws}"
    cases = [
        ("SSL_CERT_FILE", "/nonexistent/ca.pem", f"%azure.connect {em.rid} location=westus", "InvalidEndpoint", "cannot be read"),
        ("SSL_CERT_FILE", not_pem, f"%azure.connect {em.rid} location=westus", "InvalidEndpoint", "no PEM certificate"),
        ("HTTPS_PROXY", "::not a url", f"%azure.connect {em.rid} location=westus", "InvalidEndpoint", "HTTPS_PROXY"),
        ("AZURE_AUTHORITY_HOST", "http://login.example.com", f"%azure.connect {em.rid}", "InvalidEndpoint", "AZURE_AUTHORITY_HOST"),
        ("AZQ_ARM_ENDPOINT", "ftp://arm", f"%azure.connect {em.rid}", "InvalidEndpoint", "AZQ_ARM_ENDPOINT"),
        ("AZURE_QUANTUM_WORKSPACE_LOCATION", "mars.example", by_parts, "InvalidWorkspaceLocation", "AZURE_QUANTUM_WORKSPACE_LOCATION"),
        ("AZURE_QUANTUM_TOKEN_FILE", bad_token, f"%azure.connect {em.rid} credential=TokenFile endpoint={em.url}/",
         "AuthenticationFailed", "is not JSON"),
        ("AZURE_QUANTUM_TOKEN_FILE", old_token, f"%azure.connect {em.rid} credential=TokenFile endpoint={em.url}/",
         "AuthenticationFailed", "has expired"),
        ("AZURE_QUANTUM_TOKEN_CACHE", blocker / "cache.json", f"%azure.connect {em.rid} credential=DeviceCode",
         "TokenCacheError", "not a directory"),
        ("AZURE_QUANTUM_CONNECTION_STRING", "junk", "%azure.connect credential=ApiKey", "InvalidConnectionString", "without `=`"),
    ]
    with kernel(kernel_env(tmp_path, **em.endpoints())) as kc:
        for name, value, code, ename, says in cases:
            assert run(kc, f"%env {name}={value}").error is None
            ran = run(kc, code, timeout=40)
            assert ran.error is not None, (name, ran.text())
            assert (ran.error["ename"], says in ran.error["evalue"]) == (ename, True), (name, ran.error)
            assert run(kc, f"%env -u {name}").error is None
        # A connection string set with %env (hidden from view) is used by the session.
        run(kc, f"%env AZURE_QUANTUM_CONNECTION_STRING={em.cs}")
        ran = run(kc, "%azure.connect credential=ApiKey")
        assert ran.error is None, ran.text()
        assert KEY not in ran.text()
