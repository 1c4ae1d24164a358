"""Shared set-up for the Python tests: the azq kernelspec is installed into a private
Jupyter data dir (JUPYTER_PATH), built from the binary named by AZQ_BIN."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

# The suite-wide secrets scan (tests/secret_scan.py): every message, log, request log and file
# the tests see, searched for secrets at the end; any hit fails the run.
pytest_plugins = ["secret_scan"]

ROOT = Path(__file__).resolve().parent.parent
# The service's specification and recorded traffic, reduced to data (see its PROVENANCE.md).
FIXTURES = ROOT / "tests" / "fixtures" / "azure-quantum-api"
AZQ = Path(os.environ.get("AZQ_BIN", ROOT / "target" / "release" / "azq"))

_prefix = Path(tempfile.mkdtemp(prefix="azq-jupyter-"))
if not AZQ.is_file():
    raise SystemExit(f"azq binary not found at {AZQ}; run `cargo build --release` or set AZQ_BIN")
subprocess.run([str(AZQ), "install", "--prefix", str(_prefix)], check=True, capture_output=True)
os.environ["JUPYTER_PATH"] = str(_prefix / "share" / "jupyter")
# Keep the tests' own Jupyter state out of the user's home.
os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(_prefix / "runtime"))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


@pytest.fixture(scope="session")
def azq_bin() -> Path:
    return AZQ
