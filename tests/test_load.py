"""Load: many kernels at once against one `azq emulator` that injects ~5% retryable faults, and
the emulator alone under many concurrent HTTP clients.

1. N kernels (jupyter_client, one thread each) each run M magics in turn (connect, submit,
   status, jobs): every magic succeeds (the client rides out the faults), no kernel dies, and
   the jobs on the emulator are exactly the jobs the kernels submitted (none lost, none twice).
   The latency per magic (p50/p95/p99/max) is printed.
2. C threads, each a keep-alive HTTP client, call the emulator for S seconds (status, job GET,
   job PUT over a fixed set of ids, listing, SAS): every answer that is not a success is an
   injected one (the emulator's own count agrees), and its RSS, sampled each second, is flat.

Short (make test): 4 kernels x 25 magics, 20 clients x 5 s. AZQ_SOAK=1: 20 x 200 and 100 x 60 s.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid

import requests

from test_connect import kernel_and_manager, kernel_env, run
from test_jobs import BELL, Em, job_id

SOAK = os.environ.get("AZQ_SOAK") == "1"
KERNELS, MAGICS = (20, 200) if SOAK else (4, 25)
CLIENTS, SECONDS = (100, 60) if SOAK else (20, 5)
API = "api-version=2026-01-15-preview"
# About 5% of the requests get a fault a retrying client rides out.
FAULTS = ["* ** 429:0 0.0125", "* ** 500 0.0125", "* ** 503 0.0125", "* ** drop 0.0125"]
FAULTS_WITH_DROP_AFTER = FAULTS[:3] + ["* ** drop 0.00625", "* ** drop-after 0.00625"]


def pcts(xs: list[float]) -> str:
    xs = sorted(xs)
    at = lambda p: xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs))) - 1))]  # noqa: E731
    return (f"n={len(xs)} p50={at(50) * 1000:.0f} ms p95={at(95) * 1000:.0f} ms "
            f"p99={at(99) * 1000:.0f} ms max={xs[-1] * 1000:.0f} ms")


def test_many_kernels_with_faults_lose_and_double_no_job(azq_bin, tmp_path):
    em = Em(azq_bin, "--fault-seed", "11", job_delay_ms=20)
    lat: dict[str, list[float]] = {}
    submitted: list[str] = []
    problems: list[str] = []
    deaths: list[int] = []
    lock = threading.Lock()
    ready = threading.Barrier(KERNELS + 1)
    go = threading.Event()

    def worker(n: int):
        home = tmp_path / f"home{n}"
        home.mkdir()
        try:
            with kernel_and_manager(kernel_env(home)) as (kc, km):
                run(kc, "%%qasm bell\n" + BELL)
                ready.wait(timeout=120)
                go.wait(timeout=120)
                last = None
                for i in range(MAGICS):
                    step = ("connect", "submit", "status", "jobs")[i % 4]
                    cell = {
                        "connect": f'%azure.connect connectionString="{em.cs}"',
                        "submit": f"%azure.submit bell target=ionq.simulator watch=false jobName=load-{n}-{i}",
                        "status": f"%azure.status {last}",
                        "jobs": "%azure.jobs count=5",
                    }[step]
                    if step == "status" and last is None:
                        continue
                    t0 = time.monotonic()
                    ran = run(kc, cell, timeout=120)
                    dt = time.monotonic() - t0
                    with lock:
                        lat.setdefault(step, []).append(dt)
                        if ran.error is not None:
                            problems.append(f"kernel {n} {cell}: {ran.error['ename']}: {ran.error['evalue']}")
                        elif step == "submit":
                            last = job_id(ran)
                            submitted.append(last)
                if not km.is_alive():
                    with lock:
                        deaths.append(n)
        except Exception as e:  # noqa: BLE001 (a dead kernel surfaces as any error)
            with lock:
                problems.append(f"kernel {n}: {type(e).__name__}: {e}")
                deaths.append(n)
            try:
                ready.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(KERNELS)]
    try:
        for t in threads:
            t.start()
        ready.wait(timeout=180)
        em.admin("POST", "faults", {"rules": FAULTS_WITH_DROP_AFTER, "seed": 11})
        started = time.monotonic()
        go.set()
        for t in threads:
            t.join(timeout=1800)
        wall = time.monotonic() - started
        em.admin("POST", "faults", {"rules": [], "seed": 11})
        stats = em.http.get(f"{em.url}/_emulator/stats", timeout=10).json()
        on_emulator = [j["id"] for j in em.all_jobs() if (j.get("name") or "").startswith("load-")]
    finally:
        go.set()
        em.close()
    print(f"\n{KERNELS} kernels x {MAGICS} magics in {wall:.1f} s; faults injected: {stats.get('faultsInjected')}")
    for step, xs in sorted(lat.items()):
        print(f"  {step:8} {pcts(xs)}")
    print(f"  all      {pcts([x for xs in lat.values() for x in xs])}")
    print(f"  jobs submitted {len(submitted)}, on the emulator {len(on_emulator)} (created {stats.get('jobsCreated')}, "
          f"PUTs {stats.get('jobPuts')} of which repeated {stats.get('jobPutsRepeated')}), kernel deaths {len(deaths)}")
    assert not problems, problems[:5]
    assert not deaths, deaths
    assert stats.get("faultsInjected", 0) > 0, stats
    assert len(set(submitted)) == len(submitted)
    assert sorted(on_emulator) == sorted(submitted), "lost or duplicated jobs"
    assert stats["jobsCreated"] == len(submitted), stats
    assert len(submitted) == KERNELS * ((MAGICS + 2) // 4)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_the_emulator_under_many_clients_errs_only_where_told_and_stays_flat(azq_bin):
    em = Em(azq_bin, job_delay_ms=3_600_000)
    ws = em.ws_url
    ids = [str(uuid.uuid4()) for _ in range(50)]

    def job_body(jid):
        return {"id": jid, "name": "soak", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Job",
                "containerUri": f"{em.url}/blob/x/job-{jid}", "inputDataUri": f"{em.url}/blob/x/job-{jid}/inputData",
                "inputDataFormat": "ionq.circuit.v1", "inputParams": {}}

    for jid in ids:
        em.call("PUT", f"jobs/{jid}", job_body(jid))
    em.admin("POST", "faults", {"rules": ["* ** 503:0 0.05"], "seed": 5})
    counts = {"ok": 0, "injected": 0}
    errors: list[str] = []
    lat: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(c: int):
        s = requests.Session()
        s.headers["x-ms-quantum-api-key"] = em.http.headers["x-ms-quantum-api-key"]
        i, mine = 0, {"ok": 0, "injected": 0}
        my_lat, my_err = [], []
        while not stop.is_set():
            jid = ids[(c * 7 + i) % len(ids)]
            op = i % 5
            try:
                t0 = time.monotonic()
                if op == 0:
                    r = s.get(f"{ws}/providerStatus?{API}", timeout=30)
                elif op == 1:
                    r = s.get(f"{ws}/jobs/{jid}?{API}", timeout=30)
                elif op == 2:
                    r = s.put(f"{ws}/jobs/{jid}?{API}", json=job_body(jid), timeout=30)
                elif op == 3:
                    r = s.get(f"{ws}/jobs?{API}&top=20", timeout=30)
                else:
                    r = s.post(f"{ws}/storage/sasUri?{API}", json={"containerName": f"job-{jid}"}, timeout=30)
                my_lat.append(time.monotonic() - t0)
                if r.ok:
                    mine["ok"] += 1
                elif r.status_code == 503 and r.json().get("error", {}).get("code") == "InjectedFault":
                    mine["injected"] += 1
                else:
                    my_err.append(f"{r.request.method} {r.status_code} {r.text[:200]}")
            except requests.RequestException as e:
                my_err.append(f"op {op} after {time.monotonic() - t0:.3f} s: {type(e).__name__}: {e}")
            i += 1
        with lock:
            for k in counts:
                counts[k] += mine[k]
            lat.extend(my_lat)
            errors.extend(my_err)

    pid = em.proc.pid
    samples = [rss_kib(pid)]
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            time.sleep(1)
            samples.append(rss_kib(pid))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        em.admin("POST", "faults", {"rules": [], "seed": 5})
        stats = em.http.get(f"{em.url}/_emulator/stats", timeout=10).json()
    finally:
        stop.set()
        em.close()
    # Growth over the second half: the first seconds fill the request log and the pools.
    half = samples[len(samples) // 2]
    print(f"\n{CLIENTS} clients x {SECONDS} s: {counts['ok']} ok, {counts['injected']} injected, "
          f"{len(errors)} other errors; faults injected (emulator's count) {stats.get('faultsInjected')}")
    print(f"  latency {pcts(lat)}; {sum(counts.values()) / SECONDS:.0f} requests/s")
    print(f"  emulator RSS KiB: start {samples[0]}, half {half}, end {samples[-1]}, max {max(samples)}; "
          f"growth over the second half {samples[-1] - half} KiB")
    assert not errors, errors[:5]
    assert counts["injected"] == stats["faultsInjected"], (counts, stats)
    assert 0.02 < counts["injected"] / max(1, sum(counts.values())) < 0.09, counts
    assert samples[-1] - half < 16 * 1024, samples
    assert statistics.mean(samples) > 0
