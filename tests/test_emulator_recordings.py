"""Every request recorded from the live service (tests/fixtures/azure-quantum-api/recordings) is
replayed against the emulator, in order, and answered as recorded: the status, the content
type, the error code, and the values the recording fixes (states, ids, names, formats, error
codes: VALUES), in every list element; the rest by JSON type. Item states follow the recording's
clock (the replay waits for each recorded state). Host names, workspace ids, SAS tokens and
credentials are mapped onto the emulator's; only telemetry is not replayed. The known
differences are listed, with why, and checked exactly, so a fix or a regression both show."""

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

# (cassette, interaction) → why the emulator answers differently. Every interaction not named
# here must be answered as recorded (status, content type, error code, and the values in
# VALUES), and every one named here must still differ, so a fix or a regression both show.
ESTIMATOR = "resource estimation is not emulated: the job fails and says so, and has no output"
PASQAL = "Pulser sequences are not simulated: the counter is labelled synthetic"
API_KEY = "both requests' API keys were sanitised to PLACEHOLDER; the second, refused one cannot be told apart"
NEXT_PAGE = "the live workspace held more jobs than a page, from other runs; the emulator's holds only the replay's"
STATUS_PAGE = "the live catalog had no status page for these targets that day; the emulator's catalog names one"
FINISHING = "the emulator has no Finishing state between Executing and Succeeded"
KNOWN = {
    ("test_estimator_non_batching_job.yaml", 14): ESTIMATOR,
    ("test_estimator_non_batching_job.yaml", 15): ESTIMATOR,
    ("test_estimator_non_batching_job.yaml", 16): ESTIMATOR,
    ("test_estimator_non_batching_job.yaml", 17): ESTIMATOR,
    ("test_job_submit_pasqal_default_input_params.yaml", 21): PASQAL,
    ("test_workspace_auth_connection_string_api_key.yaml", 1): NEXT_PAGE,
    ("test_workspace_auth_connection_string_api_key.yaml", 2): API_KEY,
    ("test_list_jobs_filtered_by_status.yaml", 2): NEXT_PAGE,
    ("test_list_jobs_filtered_by_status.yaml", 3): NEXT_PAGE,
    ("test_qsharp_qir_inline_quantinuum_h2.yaml", 2): STATUS_PAGE,
    ("test_plugins_retrieve_job.yaml", 14): FINISHING,
}


def body_bytes(b):
    if isinstance(b, dict):
        b = b.get("string")
    if isinstance(b, str) and (b.startswith("b'") or b.startswith('b"')):
        return ast.literal_eval(b)
    return b.encode() if isinstance(b, str) else b


# Fields whose recorded value is fixed by the requests themselves (ids the client chose,
# names, formats, targets), by the item's state (status), or by the service's rules (error
# codes). The replay compares these as values; other fields (times, URIs with the live hosts,
# SAS signatures, figures) by JSON type.
VALUES = {"status", "id", "itemType", "jobType", "name", "sessionId", "target", "providerId", "inputDataFormat",
          "outputDataFormat", "jobFailurePolicy", "priority", "jobPriority", "code", "isCancelling", "tags",
          "dimension", "scope", "period", "token_type", "containerName", "queuePosition"}
# Lists whose elements are matched by a key, not by position (the service's order is its own).
# Every recorded element the emulator also has is compared; one it lacks is a difference
# unless it is one the replay never created (the live workspace's own history) or a catalog
# entry the emulator does not offer (ABSENT).
KEYED = {"value": ("id", "dimension"), "targets": ("id",), "data": ("name",)}
ABSENT = {
    "id": "the live workspace held jobs and sessions from other runs, and offered providers and targets "
          "(e.g. ionq.qpu.forte-enterprise-1) the emulator's catalog leaves out",
    "dimension": "the live workspace had quotas for services the emulator does not offer (DFT, resource estimation)",
}
# Fields the live service fills that the emulator leaves null, with why.
NOT_EMULATED = {
    "quantumComputingData": "billing counts of the live service; the emulator bills nothing",
    "costEstimate": "the live service's price estimate; the emulator charges nothing",
}


def value_diff(exp, act, path="$", out=None, key=None, created=frozenset()):
    out = [] if out is None else out
    if act is None and exp is not None and key in NOT_EMULATED:
        return out
    if exp is None:
        if act is not None and key not in NULL_FILLED:
            out.append(f"{path}: null recorded, got {act!r}")
        return out
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            out.append(f"{path}: an object was expected, got {act!r}")
            return out
        if exp and all(re.fullmatch(r"[0-9]+|[01 ]+|\[.*\]", k) for k in exp):
            # A map keyed by data (measured outcomes): the values' types, for every entry.
            for k, v in act.items():
                value_diff(next(iter(exp.values())), v, f"{path}[{k!r}]", out)
            return out
        for k, v in exp.items():
            if k not in act:
                out.append(f"{path}.{k} is missing")
            else:
                value_diff(v, act[k], f"{path}.{k}", out, k, created)
        return out
    if isinstance(exp, list):
        if not isinstance(act, list):
            out.append(f"{path}: a list was expected, got {act!r}")
            return out
        keys = [k for k in KEYED.get(key, ()) if exp and all(isinstance(e, dict) and k in e for e in exp)]
        if keys:
            k = keys[0]
            got = {e.get(k): e for e in act if isinstance(e, dict)}
            for e in exp:
                if e[k] in got:
                    value_diff(e, got[e[k]], f"{path}[{k}={e[k]}]", out, created=created)
                elif e[k] in created or k not in ABSENT:
                    out.append(f"{path}: no element with {k}={e[k]!r}")
            return out
        if key in VALUES:
            if exp != act:
                out.append(f"{path}: {act!r}, recorded {exp!r}")
            return out
        if all(not isinstance(e, (dict, list)) for e in exp + act):
            # A list of names (an OpenID document's claims): strings stay strings.
            for i, a in enumerate(act):
                value_diff(exp[0], a, f"{path}[{i}]", out) if exp else None
            return out
        if len(exp) != len(act):
            out.append(f"{path}: {len(act)} elements, recorded {len(exp)}")
        for i, (e, a) in enumerate(zip(exp, act)):
            value_diff(e, a, f"{path}[{i}]", out, created=created)
        return out
    if key in VALUES:
        if exp != act:
            out.append(f"{path}: {act!r}, recorded {exp!r}")
    elif isinstance(exp, bool) != isinstance(act, bool) or (isinstance(exp, (int, float)) and not isinstance(act, (int, float))) or (isinstance(exp, str) and not isinstance(act, str)):
        out.append(f"{path}: {type(exp).__name__} expected, got {act!r}")
    return out


# Fields the live service had not filled in yet where the emulator already has (none).
NULL_FILLED: set[str] = set()


def media_type(headers) -> str | None:
    for k, v in headers.items():
        if k.lower() == "content-type":
            v = v[0] if isinstance(v, list) else v
            return v.split(";")[0].strip().lower() or None
    return None


def header(headers, name: str):
    for k, v in headers.items():
        if k.lower() == name:
            return v[0] if isinstance(v, list) else v
    return None


def compare(rs: dict, r: requests.Response, created: frozenset = frozenset(), names: dict | None = None) -> list[str]:
    """Everything the recording fixes about one answer, as a list of differences."""
    out = []
    if r.status_code != rs["status"]["code"]:
        return [f"status {r.status_code}, recorded {rs['status']['code']}: {r.text[:200]}"]
    recorded_headers = rs.get("headers", {})
    want = media_type(recorded_headers)
    if want != media_type(r.headers):
        out.append(f"content-type {media_type(r.headers)}, recorded {want}")
    # (Leases are not emulated: x-ms-lease-* are not compared.)
    for name in ("x-ms-error-code", "x-ms-blob-type"):
        if header(recorded_headers, name) is not None and header(recorded_headers, name) != r.headers.get(name):
            out.append(f"{name} {r.headers.get(name)!r}, recorded {header(recorded_headers, name)!r}")
    recorded = body_bytes(rs.get("body")) or b""
    for live, ours in (names or {}).items():
        recorded = recorded.replace(live, ours)  # the recording's workspace is the emulator's
    try:
        expected = json.loads(recorded) if recorded[:1] in (b"{", b"[") else UNPARSED
    except ValueError:
        expected = UNPARSED
    if expected is not UNPARSED:
        # JSON, whatever the content type says (a provider's results are octet-stream).
        try:
            actual = r.json() if r.content else None
        except ValueError:
            return out + [f"body is not JSON: {r.content[:80]!r}"]
        out += value_diff(expected, actual, created=created)
    elif recorded.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml"):
        code = re.search(rb"<Code>([^<]*)</Code>", recorded)
        got = re.search(rb"<Code>([^<]*)</Code>", r.content)
        if code and (not got or got.group(1) != code.group(1)):
            out.append(f"error code {got and got.group(1)!r}, recorded {code.group(1)!r}")
    elif recorded != r.content:
        out.append(f"body {r.content[:80]!r}, recorded {recorded[:80]!r}")
    return out


UNPARSED = object()
ORDER = {"Waiting": 0, "Executing": 1, "Succeeded": 2, "Failed": 2, "Cancelled": 2}
SESSION_ORDER = {"Waiting": 0, "Executing": 1, "Failure(s)": 1, "Succeeded": 2, "Failed": 2, "TimedOut": 2}


JOB_DELAY_MS = 1000


def recorded_json(rs):
    try:
        return json.loads(body_bytes(rs.get("body")) or b"null")
    except ValueError:
        return None


def until(em, rest: str, states: tuple[str, ...]):
    """Waits (a hang guard of 30 s) until the emulator's item is in one of `states`, or has
    gone past them (then the replay's comparison shows the difference)."""
    if not all(s in ORDER or s in SESSION_ORDER for s in states):
        return  # a state the emulator does not have (KNOWN says which)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = em.call("GET", rest)
        status = got.json().get("status") if got.ok else None
        if status in states or status is None:
            return
        order = SESSION_ORDER if rest.startswith("sessions/") else ORDER
        if all(s in order and status in order and order[status] > order[s] for s in states):
            return
        time.sleep(0.02)


def replay(path: Path, azq_bin) -> tuple[int, int, dict[int, str]]:
    # Jobs wait, then run, for a second each on the emulator's clock: the replay steps through
    # the recorded states by waiting for each (see `until`), never past one.
    em = Emulator(azq_bin, "--client-secret", SECRET, job_delay_ms=JOB_DELAY_MS)
    client_id = None
    sas: dict[str, str] = {}
    seeded: set[str] = set()
    created: set[str] = set()
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
                    # The recording read the output once the job had ended.
                    until(em, f"jobs/{c.removeprefix('job-')}", ("Succeeded", "Failed", "Cancelled"))
                for h in ("x-ms-blob-type", "Content-Type", "x-ms-range", "x-ms-blob-content-type"):
                    if h in rq.get("headers", {}):
                        headers[h] = rq["headers"][h][0]
            elif host.endswith(".applicationinsights.azure.com"):
                skipped += 1  # the SDK's telemetry to Application Insights: not part of Azure Quantum
                continue
            else:
                raise AssertionError(f"interaction {n}: {host} is neither Azure Quantum, ARM, Entra ID nor storage")
            recorded_status = recorded_json(rs).get("status") if isinstance(recorded_json(rs), dict) else None
            jm = re.search(r"/(jobs|sessions)/([0-9a-f-]{36})$", urllib.parse.urlsplit(url).path)
            if method == "GET" and jm and isinstance(recorded_status, str):
                # The recording's clock: the item had reached this state when it was read.
                until(em, f"{jm.group(1)}/{jm.group(2)}", (recorded_status,))
            replayed += 1
            r = requests.request(method, url, data=body, headers=headers, timeout=10)
            if "sasUri" in u.path and r.ok:
                s = urllib.parse.urlsplit(r.json()["sasUri"])
                sas[s.path.strip("/").split("/")[-1]] = s.query
            if method == "PUT" and jm:
                created.add(jm.group(2))
            diffs = compare(rs, r, frozenset(created), {b"myworkspace": em.fields["WorkspaceName"].encode(),
                                                         b"myresourcegroup": em.fields["ResourceGroupName"].encode()})
            if diffs:
                problems[n] = "; ".join(diffs[:4])
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
