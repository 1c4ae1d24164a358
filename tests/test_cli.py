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
