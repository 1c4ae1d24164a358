#!/usr/bin/env python3
"""Kernel core benchmark: azq against ipykernel in the same run, measured from the client
side with jupyter_client, and printed as ratios.

  start   spawn (jupyter_client.launcher.launch_kernel, i.e. Popen of the kernelspec's argv)
          -> kernel_info_reply received AND an IOPub message seen, one fresh kernel per run;
          the client's sockets retry refused connects every 1 ms (libzmq's default is 100 ms).
          Also shown through KernelManager.start_kernel, whose `in_pending_state` wrapper adds
          a fixed `asyncio.sleep(0.01)` and ~4 ms of Python to every kernel's start.
  rss     resident memory of the kernel's process tree, 2 s after it became ready
  rtt     1000 sequential trivial executes on one kernel (`%pwd` for azq, `pass` for
          ipykernel): send -> execute_reply AND IOPub idle for that request

Sockets are polled directly with zmq.Poller (no 1 ms polling sleeps), so the figures are
the kernels' latency plus the same Python client cost for both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.launcher import launch_kernel
from jupyter_client.manager import KernelManager


def tree_rss_kib(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total


# libzmq retries a refused connect only every 100 ms (RECONNECT_IVL), which would measure the
# client's back-off rather than the kernel. Both kernels are measured with a 1 ms interval.
CONTEXT = zmq.Context()
CONTEXT.setsockopt(zmq.RECONNECT_IVL, 1)


class Probe:
    """A started kernel with raw access to its shell and IOPub sockets."""

    def __init__(self, kernel: str, manager: bool = False):
        self.km = self.proc = None
        if manager:
            self.km = KernelManager(kernel_name=kernel)
            t0 = time.perf_counter()
            self.km.start_kernel()
            self.kc = self.km.client()
        else:
            spec = KernelSpecManager().get_kernel_spec(kernel)
            fname, _ = write_connection_file()
            argv = [sys.executable if a in ("python", "python3") else a.format(connection_file=fname) for a in spec.argv]
            t0 = time.perf_counter()
            self.proc = launch_kernel(argv, env=os.environ.copy())
            self.kc = BlockingKernelClient(connection_file=fname, context=CONTEXT)
            self.kc.load_connection_file()
            self.fname = fname
        self.kc.start_channels()
        self.shell = self.kc.shell_channel.socket
        self.iopub = self.kc.iopub_channel.socket
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        self.session = self.kc.session
        got_reply = got_iopub = False
        last_send = -1.0
        while not (got_reply and got_iopub):
            now = time.perf_counter()
            if now - t0 > 60:
                raise RuntimeError(f"{kernel} did not become ready")
            # Re-send kernel_info as jupyter_client and VS Code do while IOPub is silent.
            if now - last_send > (0.25 if got_reply else 1.0):
                self.session.send(self.shell, "kernel_info_request", {})
                last_send = now
            for sock, _ in self.poller.poll(timeout=50):
                _, msg = self.session.feed_identities(sock.recv_multipart(), copy=True)
                msg = self.session.deserialize(msg)
                if sock is self.shell and msg["msg_type"] == "kernel_info_reply":
                    got_reply = True
                elif sock is self.iopub:
                    got_iopub = True
        self.ready_s = time.perf_counter() - t0

    def pid(self) -> int:
        return self.km.provisioner.process.pid if self.km else self.proc.pid

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for sock, _ in self.poller.poll(timeout=10):
                sock.recv_multipart()

    def execute(self, code: str, deadline_s: float = 30) -> float:
        t0 = time.perf_counter()
        msg = self.session.send(self.shell, "execute_request", {
            "code": code, "silent": False, "store_history": False,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True,
        })
        msg_id = msg["header"]["msg_id"]
        got_reply = got_idle = False
        while not (got_reply and got_idle):
            for sock, _ in self.poller.poll(timeout=10_000):
                _, frames = self.session.feed_identities(sock.recv_multipart(), copy=True)
                m = self.session.deserialize(frames, content=True)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                if sock is self.shell:
                    if m["content"]["status"] != "ok":
                        raise RuntimeError(f"execute failed: {m['content']}")
                    got_reply = True
                elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    got_idle = True
            if time.perf_counter() - t0 > deadline_s:
                raise RuntimeError("execute timed out")
        return (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        if self.km:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=False)
            self.km.context.destroy(linger=0)
            return
        self.kc.shutdown()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.kc.stop_channels()
        os.unlink(self.fname)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def measure(kernels: dict[str, str], runs: int, n: int) -> dict[str, dict]:
    """`kernels` maps a kernelspec name to its trivial cell. Every figure is taken interleaved
    (one start of each in turn; blocks of 50 executes of each in turn), so a change in the
    machine's load falls on both sides alike."""
    starts = {k: [] for k in kernels}
    via_manager = {k: [] for k in kernels}
    for _ in range(runs):
        for kernel in kernels:
            probe = Probe(kernel)
            starts[kernel].append(probe.ready_s * 1000)
            probe.close()
            probe = Probe(kernel, manager=True)
            via_manager[kernel].append(probe.ready_s * 1000)
            probe.close()
    probes = {k: Probe(k) for k in kernels}
    time.sleep(2)
    rss = {}
    for kernel, probe in probes.items():
        probe.drain(0.2)
        rss[kernel] = tree_rss_kib(probe.pid())
        for _ in range(20):
            probe.execute(kernels[kernel])
    rtts = {k: [] for k in kernels}
    block = 50
    for _ in range(0, n, block):
        for kernel, probe in probes.items():
            rtts[kernel] += [probe.execute(kernels[kernel]) for _ in range(block)]
    for probe in probes.values():
        probe.close()
    return {
        kernel: {
            "kernel": kernel,
            "code": code,
            "start_ms": {"min": min(starts[kernel]), "median": statistics.median(starts[kernel]), "max": max(starts[kernel])},
            "start_via_manager_ms": {"median": statistics.median(via_manager[kernel])},
            "idle_rss_mib": rss[kernel] / 1024,
            "rtt_ms": {"median": statistics.median(rtts[kernel]), "p90": pct(rtts[kernel], 90),
                       "p99": pct(rtts[kernel], 99), "max": max(rtts[kernel])},
        }
        for kernel, code in kernels.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()

    both = measure({"azq": "%pwd", "python3": "pass"}, args.runs, args.n)
    azq, ipy = both["azq"], both["python3"]

    def row(name, a, b, unit, better_low=True):
        ratio = b / a if better_low else a / b
        print(f"{name:<22} {a:>10.2f} {unit:<4} {b:>10.2f} {unit:<4} {ratio:>8.1f}x")

    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores); {args.runs} starts, {args.n} executes")
    print(f"{'metric':<22} {'azq':>15} {'ipykernel':>15} {'azq better by':>10}")
    row("start median", azq["start_ms"]["median"], ipy["start_ms"]["median"], "ms")
    row("start max", azq["start_ms"]["max"], ipy["start_ms"]["max"], "ms")
    row("start via KernelManager", azq["start_via_manager_ms"]["median"], ipy["start_via_manager_ms"]["median"], "ms")
    row("idle RSS", azq["idle_rss_mib"], ipy["idle_rss_mib"], "MiB")
    row("execute RTT median", azq["rtt_ms"]["median"], ipy["rtt_ms"]["median"], "ms")
    row("execute RTT p90", azq["rtt_ms"]["p90"], ipy["rtt_ms"]["p90"], "ms")
    row("execute RTT p99", azq["rtt_ms"]["p99"], ipy["rtt_ms"]["p99"], "ms")
    if args.json:
        print(json.dumps({"azq": azq, "ipykernel": ipy}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
