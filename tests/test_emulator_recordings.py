"""Every request recorded from the live service (tests/fixtures/azure-quantum-api/recordings) is
replayed against the emulator, in order, and answered with the recorded status and the same
JSON shape (keys and types). Host names, workspace ids, SAS tokens and credentials are
mapped onto the emulator's; the few known differences are listed, with why, and checked
exactly, so a fix or a regression both show."""

from __future__ import annotations

import ast
import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
import yaml

from emulator_helpers import Emulator

from conftest import FIXTURES

CASSETTES = sorted((FIXTURES / "recordings").glob("*/*.yaml"))
WS_RE = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Quantum/workspaces/[^/?]+", re.I)
SECRET = "replay-client-secret"

# (cassette, interaction) → why the emulator answers differently.
KNOWN = {
    ("test_estimator_non_batching_job.yaml", 15): "resource estimation is not emulated: the job fails and says so",
    ("test_estimator_non_batching_job.yaml", 17): "resource estimation is not emulated: the job fails and says so",
    ("test_job_submit_pasqal_default_input_params.yaml", 21): "Pulser sequences are not simulated: the counter is labelled synthetic",
    ("test_workspace_auth_connection_string_api_key.yaml", 2): "both requests' API keys were sanitised to PLACEHOLDER; the second, refused one cannot be told apart",
}


def body_bytes(b):
    if isinstance(b, dict):
        b = b.get("string")
    if isinstance(b, str) and (b.startswith("b'") or b.startswith('b"')):
        return ast.literal_eval(b)
    return b.encode() if isinstance(b, str) else b


def shape_diff(exp, act, path="$", out=None):
    out = [] if out is None else out
    if exp is None or act is None:
        return out
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            out.append(f"{path}: an object was expected")
            return out
        if exp and all(re.fullmatch(r"[0-9]+|[01 ]+|\[.*\]", k) for k in exp):
            # A map keyed by data (outcomes): compare the values' types.
            if act:
                shape_diff(next(iter(exp.values())), next(iter(act.values())), f"{path}.*", out)
            return out
        for k, v in exp.items():
            if k not in act:
                out.append(f"{path}.{k} is missing")
            else:
                shape_diff(v, act[k], f"{path}.{k}", out)
    elif isinstance(exp, list):
        if not isinstance(act, list):
            out.append(f"{path}: a list was expected")
        elif exp and act:
            shape_diff(exp[0], act[0], f"{path}[0]", out)
    elif isinstance(exp, bool) != isinstance(act, bool) or (isinstance(exp, (int, float)) and not isinstance(act, (int, float))) or (isinstance(exp, str) and not isinstance(act, str)):
        out.append(f"{path}: {type(exp).__name__} expected, got {act!r}")
    return out


def replay(path: Path, azq_bin) -> tuple[int, int, dict[int, str]]:
    em = Emulator(azq_bin, "--client-secret", SECRET)
    client_id = None
    sas: dict[str, str] = {}
    seeded: set[str] = set()
    problems: dict[int, str] = {}
    replayed = skipped = 0
    arm_token = None
    try:
        client_id = em.proc.stdout.readline().strip().partition("=")[2]  # AZURE_TENANT_ID
        tenant = client_id
        client_id = em.proc.stdout.readline().strip().partition("=")[2]
        for n, it in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            rq, rs = it["request"], it["response"]
            u = urllib.parse.urlsplit(rq["uri"])
            host, method, body = u.hostname, rq["method"], body_bytes(rq.get("body"))
            headers = {}
            if host == "login.microsoftonline.com":
                p = re.sub(r"^/[^/]+/", f"/{tenant}/", u.path)
                url = em.url + p
                if method == "POST":
                    form = dict(urllib.parse.parse_qsl(body.decode()))
                    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": SECRET, "scope": form.get("scope", "")}).encode()
                    headers["content-type"] = "application/x-www-form-urlencoded"
            elif host.endswith("quantum.azure.com") or host == "management.azure.com":
                p = WS_RE.sub(em.ws_path, u.path)
                url = em.url + p + ("?" + u.query if u.query else "")
                if host == "management.azure.com":
                    if arm_token is None:
                        arm_token = requests.post(f"{em.url}/{tenant}/oauth2/v2.0/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": SECRET, "scope": "https://management.azure.com/.default"}, timeout=10).json()["access_token"]
                    headers["authorization"] = f"Bearer {arm_token}"
                else:
                    headers["x-ms-quantum-api-key"] = em.key  # recorded credentials are sanitised
                m = re.search(r"/sessions/([0-9a-f-]{36})", p)
                if m and method != "PUT" and m.group(1) not in seeded:
                    # A session the recording made before it started.
                    seeded.add(m.group(1))
                    em.call("PUT", f"sessions/{m.group(1)}", {"itemType": "Session", "name": "seeded", "providerId": "ionq", "target": "ionq.simulator"})
                if body:
                    try:
                        j = json.loads(body)
                    except ValueError:
                        j = None
                    if isinstance(j, dict):
                        if m:
                            seeded.add(m.group(1))
                        for k in ("containerUri", "inputDataUri", "outputDataUri"):
                            if isinstance(j.get(k), str):
                                bu = urllib.parse.urlsplit(j[k])
                                c = bu.path.strip("/").split("/")[0]
                                j[k] = f"{em.url}/blob/azqdemostorage{bu.path}" + ("?" + sas[c] if c in sas else "")
                        body = json.dumps(j).encode()
                headers["content-type"] = "application/json"
            elif host.endswith("blob.core.windows.net"):
                c = u.path.strip("/").split("/")[0]
                keep = [(k, v) for k, v in urllib.parse.parse_qsl(u.query) if k in ("restype", "comp")]
                q = urllib.parse.urlencode(keep)
                if c in sas:
                    q = (q + "&" if q else "") + sas[c]
                url = f"{em.url}/blob/azqdemostorage{u.path}" + ("?" + q if q else "")
                if u.path.endswith("OutputData") and method == "GET":
                    # The recording polled until the job ended; the emulator's clock differs.
                    job_id = c.removeprefix("job-")
                    for _ in range(500):
                        if em.call("GET", f"jobs/{job_id}").json().get("status") in ("Succeeded", "Failed", "Cancelled"):
                            break
                        time.sleep(0.01)
                for h in ("x-ms-blob-type", "Content-Type", "x-ms-range", "x-ms-blob-content-type"):
                    if h in rq.get("headers", {}):
                        headers[h] = rq["headers"][h][0]
            else:
                skipped += 1  # telemetry to Application Insights: not part of Azure Quantum
                continue
            replayed += 1
            r = requests.request(method, url, data=body, headers=headers, timeout=10)
            if "sasUri" in u.path and r.ok:
                s = urllib.parse.urlsplit(r.json()["sasUri"])
                sas[s.path.strip("/").split("/")[-1]] = s.query
            if r.status_code != rs["status"]["code"]:
                problems[n] = f"status {r.status_code}, recorded {rs['status']['code']}"
                continue
            recorded = body_bytes(rs.get("body"))
            try:
                expected = json.loads(recorded) if recorded else None
                actual = r.json() if r.content else None
            except ValueError:
                continue
            diffs = shape_diff(expected, actual)
            if diffs:
                problems[n] = "; ".join(diffs[:3])
    finally:
        em.close()
    return replayed, skipped, problems


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_traffic_replays(azq_bin, cassette):
    replayed, skipped, problems = replay(cassette, azq_bin)
    assert replayed > 0
    known = {n: why for (name, n), why in KNOWN.items() if name == cassette.name}
    unexpected = {n: p for n, p in problems.items() if n not in known}
    assert not unexpected, f"{cassette.name}: {unexpected}"
    assert set(problems) == set(known), f"{cassette.name}: known differences now answered right: {set(known) - set(problems)}; update KNOWN"
