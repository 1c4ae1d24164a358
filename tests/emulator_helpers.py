"""Starting an emulator for a test and talking to its data plane with plain requests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid

import requests

API = "api-version=2026-01-15-preview"
# A job delay no test outlives: jobs stay Waiting until cancelled.
HOLD_MS = 3_600_000


class Emulator:
    def __init__(self, azq_bin, *extra: str, job_delay_ms: int = 5):
        """`job_delay_ms` is the emulator's clock: how long a job waits, then executes. A long
        one (HOLD_MS) holds every job in Waiting for the whole test."""
        self.proc = subprocess.Popen([str(azq_bin), "emulator", "--port", "0", "--job-delay-ms", str(job_delay_ms), *extra],
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip().removeprefix("listening on ")
        cs = self.proc.stdout.readline().strip().partition("=")[2]
        self.fields = dict(p.split("=", 1) for p in cs.strip(";").split(";"))
        self.ws_path = (f"/subscriptions/{self.fields['SubscriptionId']}/resourceGroups/{self.fields['ResourceGroupName']}"
                        f"/providers/Microsoft.Quantum/workspaces/{self.fields['WorkspaceName']}")
        self.ws = self.url + self.ws_path
        self.key = self.fields["ApiKey"]
        self.http = requests.Session()
        self.http.headers["x-ms-quantum-api-key"] = self.key

    def call(self, method: str, rest: str, body=None, version: str = API, **kw) -> requests.Response:
        sep = "&" if "?" in rest else "?"
        return self.http.request(method, f"{self.ws}/{rest}{sep}{version}", json=body, timeout=10, **kw)

    def upload(self, job_id: str, program: str, content_type: str = "application/json") -> tuple[str, str]:
        sas = self.call("POST", "storage/sasUri", {"containerName": f"job-{job_id}"}).json()["sasUri"]
        base, query = sas.split("?")
        blob = f"{base}/inputData?{query}"
        requests.put(blob, data=program, headers={"x-ms-blob-type": "BlockBlob", "content-type": content_type}, timeout=10).raise_for_status()
        return sas, blob

    def requests_log(self) -> list[dict]:
        """What the emulator was asked, in order (`GET /_emulator/requests`)."""
        r = requests.get(f"{self.url}/_emulator/requests", headers={"x-ms-quantum-api-key": self.key}, timeout=10)
        r.raise_for_status()
        return r.json()

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@contextlib.contextmanager
def through_proxy(lines: dict):
    """Routes https through the emulator's proxy and trusts its CA, as a user would."""
    keys = ("HTTPS_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NO_PROXY", "no_proxy")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(HTTPS_PROXY=lines["HTTPS_PROXY"], REQUESTS_CA_BUNDLE=lines["SSL_CERT_FILE"], SSL_CERT_FILE=lines["SSL_CERT_FILE"])
    os.environ.pop("NO_PROXY", None)
    os.environ.pop("no_proxy", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_emulator(azq_bin, *extra: str, until: str = "AZURE_POD_IDENTITY_AUTHORITY_HOST", stderr=None):
    """Starts `azq emulator` and reads the settings lines it prints, up to `until`, into a dict
    (`url` for its address; the deadline is a hang guard)."""
    proc = subprocess.Popen([str(azq_bin), "emulator", "--port", "0", *extra], stdout=subprocess.PIPE,
                            stderr=stderr, text=True)
    lines = {}
    deadline = time.monotonic() + 20
    while until not in lines and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        line = line.strip()
        if line.startswith("listening on "):
            lines["url"] = line.removeprefix("listening on ")
        elif "=" in line:
            k, _, v = line.partition("=")
            lines[k] = v
    return proc, lines


def new_id() -> str:
    return str(uuid.uuid4())
