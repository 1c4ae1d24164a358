"""The emulator's data dir: killing it with SIGKILL during a burst of job submissions and
restarting it on the same directory loses no job it acknowledged; credentials survive too,
and secrets in the data dir are private to the user. And, round after round (10 in make
test, 100 with AZQ_SOAK=1), a SIGKILL at a random moment while clients create, update,
cancel and delete jobs and another lists them: on each restart every acknowledged job is
there with its acknowledged update, no deleted job is back, no job is in a state before one a
client was shown (Executing back to Waiting, Succeeded back to Executing), the snapshot the
kill left parses, and no aside file outlives the restart."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import threading
import time
import uuid

import requests

GHZ = '{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}'
API = "api-version=2026-01-15-preview"
SOAK = os.environ.get("AZQ_SOAK") == "1"
# How far a job has come: a restart may move a job on, never back.
RANK = {"Waiting": 0, "Executing": 1, "Succeeded": 2, "Failed": 2, "Cancelled": 2}
TERMINAL = {"Succeeded", "Failed", "Cancelled"}


def start(azq_bin, data_dir, job_delay_ms: int = 50):
    proc = subprocess.Popen(
        [str(azq_bin), "emulator", "--port", "0", "--data-dir", str(data_dir), "--job-delay-ms", str(job_delay_ms)],
        stdout=subprocess.PIPE, text=True,
    )
    url = proc.stdout.readline().strip().removeprefix("listening on ")
    cs = proc.stdout.readline().strip().partition("=")[2]
    assert url and cs, f"the emulator did not start on {data_dir} (exit {proc.poll()})"
    fields = dict(p.split("=", 1) for p in cs.strip(";").split(";"))
    ws = f"{url}/subscriptions/{fields['SubscriptionId']}/resourceGroups/{fields['ResourceGroupName']}/providers/Microsoft.Quantum/workspaces/{fields['WorkspaceName']}"
    return proc, ws, fields["ApiKey"]


def submit(session, ws, key):
    job_id = str(uuid.uuid4())
    r = create(session, ws, key, job_id)
    r.raise_for_status()
    return job_id


def create(session, ws, key, job_id) -> requests.Response:
    h = {"x-ms-quantum-api-key": key}
    sas = session.post(f"{ws}/storage/sasUri?{API}", json={"containerName": f"job-{job_id}"}, headers=h, timeout=5).json()["sasUri"]
    base, query = sas.split("?")
    blob = f"{base}/inputData?{query}"
    session.put(blob, data=GHZ, headers={"x-ms-blob-type": "BlockBlob", "content-type": "application/json"}, timeout=5).raise_for_status()
    body = {"id": job_id, "name": "burst", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Job",
            "containerUri": sas, "inputDataUri": blob, "inputDataFormat": "ionq.circuit.v1", "inputParams": {"shots": 10}}
    return session.put(f"{ws}/jobs/{job_id}?{API}", json=body, headers=h, timeout=5)


def test_sigkill_during_a_burst_loses_no_acknowledged_job(azq_bin, tmp_path):
    proc, ws, key = start(azq_bin, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()

    def burst():
        s = requests.Session()
        while not stop.is_set():
            try:
                acknowledged.append(submit(s, ws, key))
            except requests.RequestException:
                return

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 150

    proc, ws2, key2 = start(azq_bin, tmp_path)
    try:
        assert key2 == key, "the API key survives a restart"
        h = {"x-ms-quantum-api-key": key2}
        s = requests.Session()
        for job_id in acknowledged:
            r = s.get(f"{ws2}/jobs/{job_id}?api-version=2026-01-15-preview", headers=h, timeout=5)
            assert r.status_code == 200, job_id
        # Jobs the kill interrupted run to the end after the restart.
        deadline = time.monotonic() + 30
        while True:
            statuses = {s.get(f"{ws2}/jobs/{j}?api-version=2026-01-15-preview", headers=h, timeout=5).json()["status"] for j in acknowledged}
            if statuses == {"Succeeded"} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert statuses == {"Succeeded"}
    finally:
        proc.terminate()
        proc.wait()
    mode = stat.S_IMODE(os.stat(tmp_path / "credentials.json").st_mode)
    assert mode == 0o600
    assert not list(tmp_path.glob("*.partial"))
    json.loads((tmp_path / "state.json").read_text())


class Ledger:
    """What the clients were told (a 2xx reply), per job: the furthest state seen, whether a
    cancel was acknowledged, whether a delete was sent, and the tag version last acknowledged and last attempted (an
    update the kill cut off may or may not have been kept)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs: dict[str, dict] = {}
        self.deleted: set[str] = set()

    def created(self, job_id: str, status: str):
        with self.lock:
            self.jobs[job_id] = {"id": job_id, "rank": RANK[status], "status": status, "cancelled": False,
                                 "acked_tag": 0, "tried_tag": 0, "deleting": False}

    def seen(self, job_id: str, status: str):
        with self.lock:
            j = self.jobs[job_id]
            if RANK[status] >= j["rank"]:
                j["rank"], j["status"] = RANK[status], status

    def cancelled(self, job_id: str):
        with self.lock:
            j = self.jobs[job_id]
            j["cancelled"], j["rank"], j["status"] = True, 2, "Cancelled"


def drive(ws: str, key: str, ledger: Ledger, rng: random.Random, stop: threading.Event, counts: dict):
    """One client: creates jobs, and among its own jobs reads one, updates one's tags, and
    now and then cancels or deletes one, until the emulator stops answering."""
    s = requests.Session()
    h = {"x-ms-quantum-api-key": key}
    mine: list[str] = []
    try:
        while not stop.is_set():
            job_id = str(uuid.uuid4())
            r = create(s, ws, key, job_id)
            if r.status_code // 100 == 2:
                ledger.created(job_id, r.json()["status"])
                mine.append(job_id)
                counts["created"] += 1
            pick = rng.choice(mine) if mine else None
            if pick is None:
                continue
            r = s.get(f"{ws}/jobs/{pick}?{API}", headers=h, timeout=5)
            if r.status_code == 200:
                ledger.seen(pick, r.json()["status"])
            if rng.random() < 0.5:
                with ledger.lock:
                    ledger.jobs[pick]["tried_tag"] += 1
                    version = ledger.jobs[pick]["tried_tag"]
                r = s.patch(f"{ws}/jobs/{pick}?{API}", json={"tags": [f"v{version}"]},
                            headers={**h, "content-type": "application/merge-patch+json"}, timeout=5)
                if r.status_code // 100 == 2:
                    with ledger.lock:
                        ledger.jobs[pick]["acked_tag"] = max(ledger.jobs[pick]["acked_tag"], version)
                    counts["updated"] += 1
            if rng.random() < 0.2:
                r = s.post(f"{ws}/jobs/{pick}:cancel?{API}", headers=h, timeout=5)
                if r.status_code // 100 == 2:
                    ledger.cancelled(pick)
                    counts["cancelled"] += 1
            elif rng.random() < 0.05:
                with ledger.lock:
                    ledger.jobs[pick]["deleting"] = True
                r = s.delete(f"{ws}/jobs/{pick}?{API}", headers=h, timeout=5)
                if r.status_code // 100 == 2:
                    with ledger.lock:
                        ledger.deleted.add(ledger.jobs.pop(pick)["id"])
                    mine.remove(pick)
                    counts["deleted"] += 1
    except (requests.RequestException, ValueError, KeyError):
        return  # the kill: whatever was not answered was not acknowledged


def watch(ws: str, key: str, ledger: Ledger, stop: threading.Event):
    """Another client, reading: a state it saw in a list counts as told too."""
    s = requests.Session()
    try:
        while not stop.is_set():
            r = s.get(f"{ws}/jobs?{API}", headers={"x-ms-quantum-api-key": key}, timeout=5)
            if r.status_code != 200:
                continue
            for j in r.json()["value"]:
                with ledger.lock:
                    known = j["id"] in ledger.jobs
                if known and j["status"] != "Cancelled":
                    ledger.seen(j["id"], j["status"])
                elif known:
                    ledger.cancelled(j["id"])
    except (requests.RequestException, ValueError, KeyError):
        return


def all_jobs(s: requests.Session, ws: str, key: str) -> dict[str, dict]:
    """Every job the restarted emulator lists, page by page."""
    out, url = {}, f"{ws}/jobs?{API}"
    while url:
        r = s.get(url, headers={"x-ms-quantum-api-key": key}, timeout=30)
        assert r.status_code == 200, r.text
        page = r.json()
        for j in page["value"]:
            out[j["id"]] = j
        url = page.get("nextLink")
    return out


def check_snapshot(data_dir):
    """The snapshot a killed emulator left parses, as the version it claims, with every job
    filed under its own id."""
    state = json.loads((data_dir / "state.json").read_text())
    assert state["version"] == 1
    assert isinstance(state["sessions"], dict) and isinstance(state["containers"], dict)
    for job_id, job in state["jobs"].items():
        assert job["id"] == job_id and job["status"] in RANK, job_id
    return len(state["jobs"])


def check_restart(s, ws, key, ledger: Ledger, round_no: int):
    listed = all_jobs(s, ws, key)
    for job_id in ledger.deleted:
        assert job_id not in listed, f"round {round_no}, job {job_id}: its delete was acknowledged, it came back"
    for job_id, seen in list(ledger.jobs.items()):
        where = f"round {round_no}, job {job_id}"
        if seen["deleting"] and job_id not in listed:
            ledger.jobs.pop(job_id)  # a delete the kill cut off, kept
            continue
        assert job_id in listed, f"{where}: acknowledged, lost by the kill"
        job = listed[job_id]
        status = job["status"]
        assert RANK[status] >= seen["rank"], f"{where}: was {seen['status']}, came back {status}"
        if seen["rank"] == 2:
            assert status == seen["status"], f"{where}: ended {seen['status']}, came back {status}"
        tags = job.get("tags") or []
        version = int(tags[0][1:]) if tags else 0
        assert seen["acked_tag"] <= version <= seen["tried_tag"], f"{where}: tags {tags}, acknowledged v{seen['acked_tag']}"
    return listed


def test_sigkill_at_random_moments_keeps_every_acknowledged_change(azq_bin, tmp_path):
    rounds = 100 if SOAK else 10
    rng = random.Random(os.environ.get("AZQ_SEED", "18"))
    ledger = Ledger()
    counts = {"created": 0, "updated": 0, "cancelled": 0, "deleted": 0}
    asides_left = 0
    began = time.monotonic()
    proc, ws, key = start(azq_bin, tmp_path, job_delay_ms=20)
    try:
        for round_no in range(1, rounds + 1):
            stop = threading.Event()
            clients = [threading.Thread(target=drive, args=(ws, key, ledger, random.Random(rng.random()), stop, counts))
                       for _ in range(2)]
            clients.append(threading.Thread(target=watch, args=(ws, key, ledger, stop)))
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.0, 1.0 if SOAK else 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stop.set()
            for c in clients:
                c.join(timeout=30)
                assert not c.is_alive()
            check_snapshot(tmp_path)
            stale = {p.name for p in tmp_path.glob(".*.partial")}
            asides_left += len(stale)

            proc, ws, key2 = start(azq_bin, tmp_path, job_delay_ms=20)
            assert key2 == key, "the API key survives a restart"
            # The restart cleared what the kill left half-written; besides the two files
            # there is at most the one write the new run has in flight (writes take turns).
            now = {p.name for p in tmp_path.iterdir()}
            assert not now & stale, f"round {round_no}: asides outlived the restart: {now & stale}"
            asides = {n for n in now if n.startswith(".state.json.") and n.endswith(".partial")}
            assert len(asides) <= 1 and now - asides == {"credentials.json", "state.json"}, (round_no, now)
            check_restart(requests.Session(), ws, key, ledger, round_no)

        # The last restart runs every unfinished job to its end; cancelled ones stay so.
        s = requests.Session()
        deadline = time.monotonic() + (300 if SOAK else 60)
        while True:
            listed = check_restart(s, ws, key, ledger, rounds + 1)
            if all(j["status"] in TERMINAL for j in listed.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        unfinished = [j for j, v in listed.items() if v["status"] not in TERMINAL]
        assert not unfinished, f"{len(unfinished)} jobs never finished after the restart"
        for job_id, seen in ledger.jobs.items():
            expected = "Cancelled" if seen["cancelled"] else "Succeeded"
            assert listed[job_id]["status"] == expected, job_id
    finally:
        proc.terminate()
        proc.wait()
    assert counts["created"] >= rounds, counts
    print(f"\ndurability: {rounds} SIGKILLs, {counts['created']} jobs created, {counts['updated']} updates, "
          f"{counts['cancelled']} cancels, {counts['deleted']} deletes acknowledged, {len(ledger.jobs)} checked after each restart, "
          f"{asides_left} aside files left by kills (all cleared on restart), "
          f"{check_snapshot(tmp_path)} jobs in the final snapshot, {time.monotonic() - began:.1f} s")
