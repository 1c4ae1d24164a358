#!/usr/bin/env python3
"""Job magics benchmark: azq against ipykernel running the official SDK (azure-quantum 3.13), in
the same run, on the same emulator (`azq emulator --tls`, reached by both kernels through its
HTTPS proxy at the real host names, with its CA trusted), each cell timed from execute_request
to IOPub idle with the client of `kernel_bench.py`, the two sides interleaved (azq, SDK, azq,
SDK, ...) so that both see the same machine.

  list     `%azure.jobs count=10000` against `jobs = list(ws.list_jobs())`, over 10,000 jobs
           on an emulator whose jobs never start (`--job-delay-ms` of an hour), p50 of
           --list-n cells; and the kernel's RSS growth over the first such cell of a fresh
           kernel (VmRSS of the kernel's process tree after minus before; the SDK's list stays
           alive, as a user's variable does; VmHWM growth shown too)
  submit   `%azure.submit bell shots=100` of a program stored by a `%%qasm bell` cell (target
           ionq.simulator set by `%azure.target`) against the SDK submitting the same circuit
           built with qiskit, on the same never-starting emulator, p50/p90 of --submit-n cells.
           The SDK's "submit a Qiskit circuit" path (`AzureQuantumProvider(ws).get_backend(
           "ionq.simulator").run(qc, shots=100)`) needs the `qsharp` package (azure-quantum's
           [qiskit] extra); without it, its closest equivalent is timed: the SDK's own
           qiskit-to-IonQ translation (`qiskit_circ_to_ionq_circ`, what that backend's `run`
           calls) and `ws.get_targets("ionq.simulator").submit(ionq_json, shots=100)`. The
           submit of a ready IonQ JSON dict (no translation) is shown too.
  execute  `%azure.execute bell shots=100` against `job = target.submit(...);
           job.wait_until_completed(); job.get_results()` on an emulator whose jobs wait
           --job-delay-ms, run, then wait --job-delay-ms again, p50 of --exec-n cells. The
           overhead is the cell's time minus the job's own life on the emulator (its
           endExecutionTime minus its creationTime, read back from the emulator by job name);
           the cell minus twice the nominal delay is shown too.

The 10,000 jobs are made by the emulator's admin route `POST /_emulator/jobs {"count": N}`
(finished jobs on three targets) when it has one, otherwise by PUTs of the data-plane API from
a few threads (jobs that stay Waiting).

  AZQ_BIN=target/release/azq .venv/bin/python bench/jobs_bench.py [--json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_bench import Probe, pct, tree_rss_kib  # noqa: E402

AZQ = os.environ.get("AZQ_BIN", str(Path(__file__).resolve().parent.parent / "target" / "release" / "azq"))
API_VERSION = "2026-01-15-preview"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
# The azq kernel under test is AZQ_BIN, whatever kernelspec the environment has installed.
KERNEL = "azq-jobs-bench"
# The SDK's listing of 10,000 jobs takes seconds, more on a loaded machine: a hang guard only.
LIST_DEADLINE_S = 300


def install_kernelspec(tmp: str) -> None:
    d = Path(tmp, "jupyter", "kernels", KERNEL)
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": [AZQ, "kernel", "--connection-file", "{connection_file}"],
        "display_name": "azq (jobs bench)", "language": "rust", "interrupt_mode": "message"}))
    os.environ["JUPYTER_PATH"] = str(Path(tmp, "jupyter"))


class Emulator:
    """`azq emulator --tls` on a free loopback port, and a small direct client for the bench's
    own requests (filling, reading jobs back), which never go through a kernel."""

    def __init__(self, tmp: str, job_delay_ms: int):
        self.proc = subprocess.Popen([AZQ, "emulator", "--port", "0", "--tls", "--job-delay-ms", str(job_delay_ms)],
                                     stdout=subprocess.PIPE, text=True, cwd=tmp)
        lines = {}
        while "SSL_CERT_FILE" not in lines:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the emulator did not start")
            k, _, v = line.strip().partition("=")
            lines[k] = v
        self.lines = lines
        self.cs = lines["AZURE_QUANTUM_CONNECTION_STRING"]
        parts = dict(p.split("=", 1) for p in self.cs.split(";") if "=" in p)
        self.key = parts["ApiKey"]
        self.ws_path = (f"/subscriptions/{parts['SubscriptionId']}/resourceGroups/{parts['ResourceGroupName']}"
                        f"/providers/Microsoft.Quantum/workspaces/{parts['WorkspaceName']}")
        self.endpoint = urlsplit(parts.get("QuantumEndpoint", "https://westus.quantum.azure.com/")).hostname
        proxy = urlsplit(lines["HTTPS_PROXY"])
        self.proxy = (proxy.hostname, proxy.port)
        self.ssl = ssl.create_default_context(cafile=lines["SSL_CERT_FILE"])

    def env(self) -> dict:
        # The kernels inherit these: the proxy, and the CA for Rust (SSL_CERT_FILE) and for
        # Python's requests (REQUESTS_CA_BUNDLE).
        ca = self.lines["SSL_CERT_FILE"]
        return {"HTTPS_PROXY": self.lines["HTTPS_PROXY"], "SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca}

    def connection(self) -> http.client.HTTPSConnection:
        """A keep-alive connection to the workspace's host, tunnelled through the emulator's
        proxy, as the kernels reach it."""
        c = http.client.HTTPSConnection(*self.proxy, context=self.ssl, timeout=30)
        c.set_tunnel(self.endpoint, 443)
        return c

    def call(self, conn, method: str, path: str, body=None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"x-ms-quantum-api-key": self.key, "Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()

    def fill(self, n: int, threads: int = 4) -> str:
        """Puts n jobs into the workspace; says how."""
        targets = [("ionq", "ionq.simulator", "ionq.circuit.v1"),
                   ("quantinuum", "quantinuum.sim.h2-1sc", "honeywell.openqasm.v1"),
                   ("rigetti", "rigetti.sim.qvm", "rigetti.quil.v1")]
        conn = self.connection()
        # The admin route (finished jobs: Succeeded, Failed, Cancelled in turn, one a second).
        status, _ = self.call(conn, "POST", "/_emulator/jobs", {"count": n, "targets": [t for _, t, _ in targets]})
        conn.close()
        if status == 200:
            return "POST /_emulator/jobs (finished jobs)"

        def put(indices: range) -> None:
            c = self.connection()
            for i in indices:
                jid = str(uuid.uuid4())
                provider, target, fmt = targets[i % len(targets)]
                container = f"https://{self.endpoint}/blob/bench/job-{jid}"
                s, body = self.call(c, "PUT", f"{self.ws_path}/jobs/{jid}?api-version={API_VERSION}", {
                    "id": jid, "name": f"fill-{i}", "providerId": provider, "target": target, "itemType": "Job",
                    "containerUri": container, "inputDataUri": f"{container}/inputData",
                    "inputDataFormat": fmt, "inputParams": {"shots": 100}})
                if s not in (200, 201):
                    raise RuntimeError(f"PUT job answered {s}: {body[:200]!r}")
            c.close()

        chunk = (n + threads - 1) // threads
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for f in [pool.submit(put, range(i, min(n, i + chunk))) for i in range(0, n, chunk)]:
                f.result()
        return f"PUT jobs/{{id}} from {threads} threads (Waiting jobs; POST /_emulator/jobs answered {status})"

    def jobs(self) -> list[dict]:
        """Every job, through all pages."""
        conn = self.connection()
        path, out = f"{self.ws_path}/jobs?api-version={API_VERSION}", []
        while path:
            s, body = self.call(conn, "GET", path)
            if s != 200:
                raise RuntimeError(f"GET jobs answered {s}")
            page = json.loads(body)
            out += page.get("value", [])
            nxt = page.get("nextLink")
            path = None if not nxt else (lambda u: u.path + ("?" + u.query if u.query else ""))(urlsplit(nxt))
        conn.close()
        return out

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def summary(values: list[float]) -> dict:
    return {"p50": statistics.median(values), "p90": pct(values, 90), "min": min(values), "max": max(values), "n": len(values)}


def status_kib(pid: int, field: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def when(stamp: str) -> float:
    """Seconds since the epoch of the service's UTC timestamps, whose fractions have seven
    digits (.NET style) where Python reads six."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z|\+00:00)", stamp)
    if not m:
        raise ValueError(f"not a UTC timestamp: {stamp!r}")
    return datetime.fromisoformat(m[1] + "+00:00").timestamp() + int(m[2] or 0) / 10 ** len(m[2] or "0")


def sdk_setup(cs: str) -> str:
    return "\n".join([
        "import gc, importlib.util, pathlib",
        "import azure.quantum",
        "from azure.quantum import Workspace, Job",
        "from qiskit import qasm2",
        f'ws = Workspace.from_connection_string("{cs}")',
        'target = ws.get_targets("ionq.simulator")',
        # azure.quantum.qiskit imports qsharp at once; its IonQ translation does not.
        'p = pathlib.Path(azure.quantum.__file__).parent / "qiskit" / "backends" / "_qiskit_ionq.py"',
        'spec = importlib.util.spec_from_file_location("_qiskit_ionq", p)',
        "_qiskit_ionq = importlib.util.module_from_spec(spec)",
        "spec.loader.exec_module(_qiskit_ionq)",
        f"qc = qasm2.loads({BELL!r})",
        # What IonQSimulatorBackend._translate_input does with a qiskit circuit.
        "def ionq_input(qc):",
        '    circ, _, _ = _qiskit_ionq.qiskit_circ_to_ionq_circ(qc, gateset="qis")',
        '    return {"gateset": "qis", "qubits": qc.num_qubits, "circuit": circ}',
        "ionq_json = ionq_input(qc)",
    ])


def azq_setup(cs: str) -> list[str]:
    return [f'%azure.connect connectionString="{cs}"', "%azure.target ionq.simulator", f"%%qasm bell\n{BELL}"]


def kernels(em: Emulator, with_azq: bool) -> tuple[Probe | None, Probe]:
    os.environ.update(em.env())
    os.environ.pop("NO_PROXY", None)
    azq = Probe(KERNEL) if with_azq else None
    sdk = Probe("python3")
    for cell in azq_setup(em.cs) if azq else []:
        azq.execute(cell)
    sdk.execute(sdk_setup(em.cs))
    return azq, sdk


def live(cells: dict) -> dict:
    """The cells whose kernel runs (all but azq's with --sdk-only)."""
    return {k: v for k, v in cells.items() if v[0] is not None}


def bench_list(tmp: str, n_jobs: int, runs: int, submit_n: int, with_azq: bool) -> dict:
    em = Emulator(tmp, 3_600_000)
    try:
        t0 = time.perf_counter()
        how = em.fill(n_jobs)
        fill_s = time.perf_counter() - t0
        azq, sdk = kernels(em, with_azq)
        # Warm-ups of one page, so that lazy imports and the kept-alive connection are in
        # place before the first timed cell (research/sdk-anchors.md does the same).
        if azq:
            azq.execute("%azure.jobs count=1")
        sdk.execute(f"warm = [Job(ws, d) for d in ws.list_jobs_paginated(skip={max(0, n_jobs - 100)})]\ndel warm\ngc.collect()")
        cells = live({"azq": (azq, f"%azure.jobs count={n_jobs}"),
                      "ipykernel+SDK": (sdk, f"jobs = list(ws.list_jobs())\nassert len(jobs) >= {n_jobs}")})
        out: dict = {name: {"times": []} for name in cells}
        for name, (probe, cell) in cells.items():
            probe.drain(0.3)
            pid = probe.pid()
            before, hwm0 = tree_rss_kib(pid), status_kib(pid, "VmHWM")
            out[name]["times"].append(probe.execute(cell, LIST_DEADLINE_S))
            probe.drain(0.3)
            out[name]["rss_before_mib"] = before / 1024
            out[name]["rss_growth_mib"] = (tree_rss_kib(pid) - before) / 1024
            out[name]["hwm_growth_mib"] = (status_kib(pid, "VmHWM") - hwm0) / 1024
        for _ in range(runs - 1):
            for name, (probe, cell) in cells.items():
                out[name]["times"].append(probe.execute(cell, LIST_DEADLINE_S))
        for name, (probe, _) in cells.items():
            out[name]["rss_after_all_mib"] = tree_rss_kib(probe.pid()) / 1024
            out[name]["list"] = summary(out[name].pop("times"))
        out["fill"] = {"jobs": n_jobs, "how": how, "seconds": fill_s}
        out["submit"] = bench_submit(azq, sdk, submit_n)
        for probe, _ in cells.values():
            probe.close()
        return out
    finally:
        em.close()


def bench_submit(azq: Probe | None, sdk: Probe, n: int) -> dict:
    cells = live({
        "azq": (azq, lambda i: f"%azure.submit bell shots=100 jobName=bench-submit-a{i}"),
        "ipykernel+SDK": (sdk, lambda i: f'job = target.submit(ionq_input(qc), name="bench-submit-s{i}", shots=100)'),
        "ipykernel+SDK json": (sdk, lambda i: f'job = target.submit(ionq_json, name="bench-submit-j{i}", shots=100)'),
    })
    for i in range(3):
        for probe, cell in cells.values():
            probe.execute(cell(-1 - i))
    times: dict = {k: [] for k in cells}
    for i in range(n):
        for name, (probe, cell) in cells.items():
            times[name].append(probe.execute(cell(i)))
    return {name: summary(v) for name, v in times.items()}


def bench_execute(tmp: str, delay_ms: int, n: int, with_azq: bool) -> dict:
    em = Emulator(tmp, delay_ms)
    try:
        azq, sdk = kernels(em, with_azq)
        cells = live({
            "azq": (azq, "a", lambda name: f"%azure.execute bell shots=100 jobName={name}"),
            "ipykernel+SDK": (sdk, "s", lambda name: f'job = target.submit(ionq_input(qc), name="{name}", shots=100)\n'
                                                      "job.wait_until_completed()\nresults = job.get_results()"),
        })
        for i in range(2):
            for probe, tag, cell in cells.values():
                probe.execute(cell(f"bench-exec-warm-{tag}{i}"))
        times: dict = {k: {} for k in cells}
        for i in range(n):
            for name, (probe, tag, cell) in cells.items():
                job_name = f"bench-exec-{tag}{i}"
                times[name][job_name] = probe.execute(cell(job_name))
        for probe, _, _ in cells.values():
            probe.close()
        life = {}
        for job in em.jobs():
            if job.get("endExecutionTime") and job.get("creationTime"):
                life[job["name"]] = (when(job["endExecutionTime"]) - when(job["creationTime"])) * 1000
        out: dict = {}
        for name, by_job in times.items():
            missing = [j for j in by_job if j not in life]
            if missing:
                raise RuntimeError(f"{name}: the emulator has no finished job named {missing[0]}")
            cell = list(by_job.values())
            out[name] = {
                "cell": summary(cell),
                "job_life": summary([life[j] for j in by_job]),
                "overhead": summary([t - life[j] for j, t in by_job.items()]),
                "minus_nominal": summary([t - 2 * delay_ms for t in cell]),
            }
        out["job_delay_ms"] = delay_ms
        return out
    finally:
        em.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10_000, help="jobs in the workspace for the listing")
    ap.add_argument("--list-n", type=int, default=5, help="timed listing cells per side")
    ap.add_argument("--submit-n", type=int, default=50, help="timed submit cells per side")
    ap.add_argument("--exec-n", type=int, default=20, help="timed execute cells per side")
    ap.add_argument("--job-delay-ms", type=int, default=200, help="the execute emulator's job delay")
    ap.add_argument("--only", choices=["list", "execute"], help="run only the listing and submit, or only execute")
    ap.add_argument("--sdk-only", action="store_true", help="measure the SDK side alone (no azq kernel)")
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="azq-jobs-bench-")
    os.environ["HOME"] = tmp
    install_kernelspec(tmp)
    with_azq = not args.sdk_only
    results: dict = {}
    try:
        if args.only != "execute":
            results["list"] = bench_list(tmp, args.jobs, args.list_n, args.submit_n, with_azq)
        if args.only != "list":
            results["execute"] = bench_execute(tmp, args.job_delay_ms, args.exec_n, with_azq)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # (label, figures of one side -> value, unit, target)
    metrics = []
    if "list" in results:
        r = results["list"]
        metrics += [
            (f"%azure.jobs count={args.jobs} p50", lambda s: r[s]["list"]["p50"], "ms", ">= 20x, < 150 ms"),
            (f"%azure.jobs count={args.jobs} max", lambda s: r[s]["list"]["max"], "ms", ""),
            ("kernel RSS growth, first listing", lambda s: r[s]["rss_growth_mib"], "MiB", "azq < 20 MiB"),
            ("kernel VmHWM growth, first listing", lambda s: r[s]["hwm_growth_mib"], "MiB", ""),
            ("%azure.submit p50", lambda s: r["submit"][s]["p50"], "ms", ">= 10x, azq < 15 ms"),
            ("%azure.submit p90", lambda s: r["submit"][s]["p90"], "ms", ""),
            ("%azure.submit p50 vs SDK of IonQ JSON", lambda s: r["submit"]["ipykernel+SDK json" if s != "azq" else s]["p50"], "ms", ""),
        ]
    if "execute" in results:
        r2 = results["execute"]
        metrics += [
            ("%azure.execute overhead p50", lambda s: r2[s]["overhead"]["p50"], "ms", "azq < 50 ms"),
            ("%azure.execute overhead p90", lambda s: r2[s]["overhead"]["p90"], "ms", ""),
            ("%azure.execute cell p50", lambda s: r2[s]["cell"]["p50"], "ms", ""),
            (f"%azure.execute cell - 2 x {args.job_delay_ms} ms, p50", lambda s: r2[s]["minus_nominal"]["p50"], "ms", ""),
        ]
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
    if "list" in results:
        f = results["list"]["fill"]
        print(f"{f['jobs']} jobs made in {f['seconds']:.1f} s by {f['how']}; {args.list_n} listings, {args.submit_n} submits each")
    if "execute" in results:
        life = "; ".join(f"{s} {results['execute'][s]['job_life']['p50']:.0f} ms" for s in results["execute"] if s != "job_delay_ms")
        print(f"execute: {args.exec_n} each, emulator job delay {args.job_delay_ms} ms (a job waits it, runs, waits it "
              f"again); job life on the emulator, p50: {life}")
    if with_azq:
        rows = [(get("ipykernel+SDK") / max(get("azq"), 1e-9), label, get("azq"), get("ipykernel+SDK"), unit, target)
                for label, get, unit, target in metrics]
        worst = min(rows)
        print(f"worst ratio: {worst[0]:.1f}x ({worst[1]})")
        print(f"{'metric':<40} {'azq':>11} {'ipykernel+SDK':>14} {'azq better by':>14}  target")
        for ratio, label, x, y, unit, target in rows:
            print(f"{label:<40} {x:>8.2f}{unit:<3} {y:>11.2f}{unit:<3} {ratio:>13.1f}x  {target}")
    else:
        print("azq not measured (--sdk-only)")
        print(f"{'metric':<40} {'ipykernel+SDK':>14}")
        for label, get, unit, _ in metrics:
            print(f"{label:<40} {get('ipykernel+SDK'):>11.2f}{unit:<3}")
    if args.json:
        results["load_average"] = os.getloadavg()[0]
        results["args"] = vars(args)
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
