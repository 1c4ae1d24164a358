"""The pip-installable azq (issue 17): `make wheel` builds a wheel; `pip install` of it into a
fresh venv is the whole installation. That venv's Jupyter lists azq and runs a notebook on it
without the venv being activated: PATH holds neither the venv's bin/ nor any azq, so the
kernelspec must find the binary itself ({resource_dir}/../../../../bin/azq)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import AZQ, ROOT

# What the fresh venv gets besides the wheel: a Jupyter client able to run a notebook, at the
# versions the rest of the tests pin. No ipykernel, no JupyterLab: nothing else is needed.
CLIENT = ["jupyter_client", "jupyter_core", "pyzmq", "nbclient", "nbformat"]
# A shell's PATH with nothing of ours on it.
PLAIN_PATH = "/usr/bin:/bin"

NOTEBOOK = [
    "%azure.connect emulator",
    '%%qasm bell\nOPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;',
    "%azure.execute bell target=ionq.simulator shots=100",
]


def _pins() -> list[str]:
    pins = {}
    for line in (ROOT / "tests" / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            pins[m.group(1).lower().replace("-", "_")] = m.group(0)
    return [pins[name] for name in CLIENT]


def _outside_env(tmp: Path) -> dict[str, str]:
    """A user's shell with the venv not activated, and Jupyter state kept in `tmp`."""
    drop = ("JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA", "XDG_", "MAKE", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        HOME=str(tmp / "home"),
        PATH=PLAIN_PATH,
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
    )
    (tmp / "home").mkdir(exist_ok=True)
    return env


class Installed:
    """The wheel `make wheel` built, pip-installed into a fresh venv in `tmp`."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.wheel = self._build()
        self.venv = tmp / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, timeout=300)
        self.python = self.venv / "bin" / "python"
        self.pip("install", str(self.wheel), *_pins())
        self.env = _outside_env(tmp)

    def _build(self) -> Path:
        out = self.tmp / "wheelhouse"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
        # `make test` exports CARGO_TARGET_DIR; run alone, the test uses the target dir of the
        # AZQ_BIN it was given, so maturin reuses that build instead of starting a cold one.
        if "CARGO_TARGET_DIR" not in env and AZQ.parent.name == "release":
            env["CARGO_TARGET_DIR"] = str(AZQ.resolve().parent.parent)
        # maturin from the venv running these tests, which make must not reinstall under them.
        venv = Path(sys.prefix)
        r = subprocess.run(
            ["make", "--no-print-directory", "-o", f"{venv}/.installed", "wheel",
             f"VENV={venv}", f"WHEEL_DIR={out}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        wheels = list(out.glob("azq-*.whl"))
        assert len(wheels) == 1, wheels
        return wheels[0]

    def pip(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        subprocess.run(
            [str(self.python), "-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet", *args],
            check=True, env=env, timeout=600,
        )

    def run(self, *argv: str | Path, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in argv], env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=300, **kw
        )

    @property
    def spec_dir(self) -> Path:
        return self.venv / "share" / "jupyter" / "kernels" / "azq"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_the_binary_and_the_kernelspec(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    version = installed.wheel.name.split("-")[1]
    data = f"azq-{version}.data"
    assert f"{data}/scripts/azq" in names
    spec = f"{data}/data/share/jupyter/kernels/azq"
    assert {n for n in names if n.startswith(spec)} == {
        f"{spec}/{f}" for f in ("kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg")
    }
    assert installed.wheel.name.startswith(f"azq-{version}-py3-none-")


def test_pip_puts_azq_in_the_venv_and_its_kernelspec_beside_it(installed):
    azq = installed.venv / "bin" / "azq"
    assert os.access(azq, os.X_OK)
    r = installed.run(azq, "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"azq {installed.wheel.name.split('-')[1]}"
    # The logos are the ones in kernelspec/, byte for byte (the wheel's are links to them).
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        assert (installed.spec_dir / logo).read_bytes() == (ROOT / "kernelspec" / logo).read_bytes()
    spec = json.loads((installed.spec_dir / "kernel.json").read_text())
    template = json.loads((ROOT / "kernelspec" / "kernel.json").read_text())
    assert spec["argv"][0] == "{resource_dir}/../../../../bin/azq"
    assert spec["argv"][1:] == template["argv"][1:]
    assert {k: v for k, v in spec.items() if k != "argv"} == {k: v for k, v in template.items() if k != "argv"}
    # ...and that path, as Jupyter fills it in, is the venv's azq.
    assert (installed.spec_dir / "../../../../bin/azq").resolve() == azq.resolve()


def test_the_venvs_jupyter_lists_azq_with_no_further_step(installed):
    jupyter = installed.venv / "bin" / "jupyter"
    r = installed.run(jupyter, "kernelspec", "list", "--json")
    assert r.returncode == 0, r.stderr
    specs = json.loads(r.stdout)["kernelspecs"]
    assert Path(specs["azq"]["resource_dir"]) == installed.spec_dir
    assert specs["azq"]["spec"]["display_name"] == "Azure Quantum (azq)"
    r = installed.run(jupyter, "kernelspec", "list")
    assert r.returncode == 0 and re.search(r"^\s*azq\s+\S*share/jupyter/kernels/azq$", r.stdout, re.M), r.stdout


def test_a_notebook_runs_from_the_venv_without_activating_it(installed):
    # Nothing on PATH could start the kernel: the kernelspec alone finds the venv's azq.
    assert shutil.which("azq", path=PLAIN_PATH) is None
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK])
    nb.metadata.kernelspec = {"name": "azq", "display_name": "Azure Quantum (azq)", "language": "rust"}
    nbformat.write(nb, installed.tmp / "bell.ipynb")
    r = installed.run(
        installed.python, ROOT / "tests" / "run_notebook.py", "bell.ipynb", "--save", "bell.out.ipynb"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = nbformat.read(installed.tmp / "bell.out.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert all(o["output_type"] != "error" for c in code for o in c.outputs)
    connected = "\n".join(o.get("data", {}).get("text/plain", "") for o in code[0].outputs)
    assert "Connected to Azure Quantum workspace azq-demo-workspace" in connected, connected
    result = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in code[2].outputs)
    assert "Succeeded" in result and "(100 shots)" in result, result
    assert re.findall(r"^(\d\d) +0\.\d+", result, re.M) == ["00", "11"], result


def test_pip_uninstall_takes_it_all_away(installed):
    installed.pip("uninstall", "--yes", "azq")
    try:
        assert not (installed.venv / "bin" / "azq").exists()
        assert not installed.spec_dir.exists()
        r = installed.run(installed.venv / "bin" / "jupyter", "kernelspec", "list", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["kernelspecs"] == {}
    finally:
        installed.pip("install", "--no-deps", str(installed.wheel))
