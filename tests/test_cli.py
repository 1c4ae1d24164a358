"""The azq command line: help, version, install/uninstall, and clear errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest


def azq(azq_bin, *args, env=None):
    return subprocess.run([str(azq_bin), *args], capture_output=True, text=True, env=env, timeout=30)


def test_help_and_version(azq_bin):
    r = azq(azq_bin, "--help")
    assert r.returncode == 0 and r.stderr == ""
    for word in ("kernel", "install", "uninstall"):
        assert word in r.stdout
    r = azq(azq_bin, "--version")
    assert r.returncode == 0 and r.stdout.startswith("azq ")


def test_install_is_listed_by_jupyter_and_uninstall_removes_it(azq_bin, tmp_path):
    prefix = tmp_path / "p"
    r = azq(azq_bin, "install", "--prefix", str(prefix))
    assert r.returncode == 0, r.stderr
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "azq"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0] == str(Path(azq_bin).resolve())
    assert spec["interrupt_mode"] == "message" and spec["language"] == "rust"
    assert {p.name for p in spec_dir.iterdir()} == {"kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"}
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"))
    listing = subprocess.run(
        [str(Path(os.sys.executable).parent / "jupyter"), "kernelspec", "list", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )
    specs = json.loads(listing.stdout)["kernelspecs"]
    assert specs["azq"]["resource_dir"] == str(spec_dir)
    r = azq(azq_bin, "uninstall", "--prefix", str(prefix))
    assert r.returncode == 0 and not spec_dir.exists()


def test_user_install_honours_jupyter_data_dir(azq_bin, tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path / "data"))
    assert azq(azq_bin, "install", "--user", env=env).returncode == 0
    assert (tmp_path / "data" / "kernels" / "azq" / "kernel.json").is_file()


def test_sys_prefix_without_an_environment_says_what_to_do(azq_bin):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    r = azq(azq_bin, "install", "--sys-prefix", env=env)
    assert r.returncode != 0
    assert "--prefix" in r.stderr and "panicked" not in r.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "cannot read"),
        ("{not json", "not a Jupyter connection file"),
        ('{"ip": "127.0.0.1"}', "not a Jupyter connection file"),
        (
            json.dumps({"ip": "127.0.0.1", "transport": "tcp", "shell_port": 1, "iopub_port": 2,
                        "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": "k",
                        "signature_scheme": "hmac-md5"}),
            "signature scheme",
        ),
        (
            json.dumps({"ip": "203.0.113.1", "transport": "tcp", "shell_port": 1, "iopub_port": 2,
                        "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": "k",
                        "signature_scheme": "hmac-sha256"}),
            "cannot bind",
        ),
    ],
)
def test_bad_connection_files_fail_clearly(azq_bin, tmp_path, content, expected):
    path = tmp_path / "conn.json"
    if content is not None:
        path.write_text(content)
    r = azq(azq_bin, "kernel", "-f", str(path))
    assert r.returncode != 0
    assert expected in r.stderr
    assert "panicked" not in r.stderr and "RUST_BACKTRACE" not in r.stderr


def test_unknown_arguments_are_refused(azq_bin):
    r = azq(azq_bin, "install", "--user", "--prefix", "/tmp/x")
    assert r.returncode != 0 and "cannot be used with" in r.stderr


GHZ = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\nmeasure q -> c;\n'


def test_simulate_prints_a_histogram_and_json(azq_bin, tmp_path):
    path = tmp_path / "ghz.qasm"
    path.write_text(GHZ)
    r = azq(azq_bin, "simulate", str(path), "--shots", "500", "--seed", "9")
    assert r.returncode == 0, r.stderr
    assert "000" in r.stdout and "111" in r.stdout and "500 shots" in r.stdout
    j = json.loads(azq(azq_bin, "simulate", str(path), "--shots", "500", "--seed", "9", "--json").stdout)
    assert set(j["counts"]) == {"000", "111"} and sum(j["counts"].values()) == 500
    again = json.loads(azq(azq_bin, "simulate", str(path), "--shots", "500", "--seed", "9", "--json").stdout)
    assert again["counts"] == j["counts"]


def test_simulate_reads_every_format(azq_bin, tmp_path):
    ionq = tmp_path / "ghz.json"
    ionq.write_text('{"qubits": 3, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}, {"gate": "cnot", "control": 0, "target": 2}]}')
    quil = tmp_path / "bell.quil"
    quil.write_text("DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n")
    for path, labels in [(ionq, {"000", "111"}), (quil, {"00", "11"})]:
        r = azq(azq_bin, "simulate", str(path), "--exact", "--json")
        assert r.returncode == 0, r.stderr
        probs = json.loads(r.stdout)["probabilities"]
        assert set(probs) == labels and all(abs(p - 0.5) < 1e-12 for p in probs.values())


@pytest.mark.parametrize(
    "name, content, args, expected",
    [
        ("missing.qasm", None, [], "cannot read"),
        ("prog.txt", "hello", [], "cannot tell the program's format"),
        ("bad.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nhx q[0];\n', [], "InvalidProgram: line 4, column 1"),
        ("big.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[31];\nh q;\n', [], "at most 30"),
        ("big.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[27];\nh q;\n', ["--max-qubits", "26"], "ProgramTooLarge"),
        ("ok.qasm", GHZ, ["--threads", "0"], "--threads"),
        ("ok.qasm", GHZ, ["--precision", "half"], "--precision"),
        ("ok.qasm", GHZ, ["--fusion", "6"], "--fusion"),
        ("ok.qasm", GHZ, ["--shots", "0"], "--shots"),
        ("ok.qasm", GHZ, ["--max-qubits", "99"], "--max-qubits"),
        ("bin.ll", b"BC\xc0\xde\x00", [], "not UTF-8"),
    ],
)
def test_simulate_bad_input_fails_clearly(azq_bin, tmp_path, name, content, args, expected):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    r = azq(azq_bin, "simulate", str(path), *args)
    assert r.returncode != 0
    assert expected in r.stderr, r.stderr
    assert "panicked" not in r.stderr


def test_simulate_refuses_a_state_that_does_not_fit_before_starting(azq_bin, tmp_path):
    """Under a 2 GiB address-space limit, a 28-qubit state (4 GiB in double precision, 2 GiB
    in single) is refused at once with what it needs and what to change; a 24-qubit one runs
    and says what it takes before it starts."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    big = tmp_path / "big.qasm"
    big.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[28];\ncreg c[28];\nh q;\nmeasure q -> c;\n')
    for extra, need in [([], "4.0 GiB"), (["--precision", "single"], "2.0 GiB")]:
        r = subprocess.run([azq_bin, "simulate", str(big), *extra], capture_output=True, text=True,
                           timeout=30, preexec_fn=limited)
        assert r.returncode != 0
        assert "ProgramTooLarge" in r.stderr and need in r.stderr and "available" in r.stderr, r.stderr
        assert "panicked" not in r.stderr and "memory allocation" not in r.stderr
    assert "single precision" in subprocess.run([azq_bin, "simulate", str(big)], capture_output=True, text=True,
                                                timeout=30, preexec_fn=limited).stderr
    ok = tmp_path / "ok.qasm"
    ok.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[24];\ncreg c[24];\nh q[0];\ncx q[0], q[23];\nmeasure q -> c;\n')
    r = subprocess.run([azq_bin, "simulate", str(ok), "--shots", "100", "--threads", "2"], capture_output=True,
                       text=True, timeout=60, preexec_fn=limited)
    assert r.returncode == 0, r.stderr
    assert "24 qubits: the state takes 256 MiB in double precision" in r.stderr
    assert "100 shots" in r.stdout


def test_simulate_precision_and_threads_agree(azq_bin, tmp_path):
    """The same seeded circuit in double and single precision, on one thread and four, with
    fusion on and off, gives probabilities within single precision's tolerance."""
    prog = tmp_path / "qft.qasm"
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', "qreg q[16];", "x q[0];", "x q[5];"]
    for j in range(15, -1, -1):
        lines.append(f"h q[{j}];")
        lines += [f"cp(pi/{2 ** (j - k)}) q[{k}], q[{j}];" for k in range(j - 1, max(j - 5, -1), -1)]
    prog.write_text("\n".join(lines) + "\n")
    got = {}
    for args in [[], ["--precision", "single"], ["--threads", "4"], ["--fusion", "0"],
                 ["--precision", "single", "--threads", "3", "--fusion", "2"]]:
        r = azq(azq_bin, "simulate", str(prog), "--statevector", *args)
        assert r.returncode == 0, r.stderr
        got[" ".join(args)] = json.loads(r.stdout)["amplitudes"]
    base = got[""]
    for name, amps in got.items():
        tol = 1e-5 if "single" in name else 1e-12
        worst = max(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(amps, base))
        assert worst < tol, (name, worst)


@pytest.mark.parametrize("taken", ["stdin_port", "hb_port"])
def test_a_taken_port_after_control_fails_clearly(azq_bin, tmp_path, taken):
    """Control and the heartbeat run on runtimes of their own; a channel bound after them that
    cannot bind must still end in a clear error, not a panic while those runtimes close."""
    import socket

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    ports = {}
    for name in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports[name] = s.getsockname()[1]
        s.close()
    ports[taken] = held.getsockname()[1]
    path = tmp_path / "conn.json"
    path.write_text(json.dumps({"ip": "127.0.0.1", "transport": "tcp", **ports, "key": "k",
                                "signature_scheme": "hmac-sha256"}))
    try:
        r = azq(azq_bin, "kernel", "-f", str(path))
    finally:
        held.close()
    assert r.returncode != 0
    assert "cannot bind" in r.stderr, r.stderr
    assert "panicked" not in r.stderr and "RUST_BACKTRACE" not in r.stderr, r.stderr
