"""Every notebook in notebooks/ runs headless on azq with nbclient, without errors."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="azq", timeout=60).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert all(o["output_type"] != "error" for c in code for o in c.outputs)


def test_quickstart_shows_the_magics_and_hides_the_secret():
    nb = nbformat.read(NOTEBOOKS[0].parent / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="azq", timeout=60).execute()
    text = nbformat.writes(nb)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    plain = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "%lsmagic" in plain and "%%bash" in plain and "%azure.connect" in plain
    # It opens with the embedded emulator and its targets.
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = "\n".join(o.get("data", {}).get("text/plain", "") for o in code[0].outputs)
    assert "Connected to Azure Quantum workspace azq-demo-workspace in location westus (the embedded emulator at http://127.0.0.1:" in first
    assert "ionq.simulator" in first and "Average Queue Time (Seconds)" in first
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in code[0].outputs)
    assert "azq-badge" in html
    assert "<hidden: 17 characters>" in plain
    # The secret appears once: in the cell the user typed, never in an output.
    assert text.count("not-a-real-secret") == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_metadata_matches_the_kernelspec(path: Path):
    """JupyterLab rewrites a notebook whose kernelspec metadata differs from the installed
    kernelspec on open and save; they must agree, so opening is not a change."""
    spec = json.loads((Path(__file__).resolve().parent.parent / "kernelspec" / "kernel.json").read_text())
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec == {"name": "azq", "display_name": spec["display_name"], "language": spec["language"]}
    # Stored without outputs or execution counts.
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_quickstart_goes_from_nothing_to_a_histogram_with_a_line_of_prose_before_each_magic():
    nb = nbformat.read(NOTEBOOKS[0].parent / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="azq", timeout=60).execute()
    shown = {}
    for before, cell in zip(nb.cells, nb.cells[1:]):
        if cell.cell_type == "code" and cell.source.startswith("%"):
            magic = cell.source.split()[0]
            if magic.startswith("%azure.") or magic == "%%qasm":
                assert before.cell_type == "markdown" and magic.lstrip("%") in before.source, (
                    f"no Markdown line about {magic} before it")
                shown[magic] = cell.outputs
    assert set(shown) >= {"%azure.connect", "%azure.target", "%%qasm", "%azure.execute", "%azure.jobs",
                          "%azure.submit", "%azure.cancel", "%azure.quotas"}, sorted(shown)

    def data(magic, mime):
        return "\n".join(o.get("data", {}).get(mime, "") for o in shown[magic])
    # The histogram, as an SVG with a bar per outcome of a Bell pair.
    assert data("%azure.execute", "image/svg+xml") or "<svg" in data("%azure.execute", "text/html")
    assert "Succeeded" in data("%azure.execute", "text/plain") and "(100 shots)" in data("%azure.execute", "text/plain")
    assert "bell" in data("%azure.jobs", "text/plain") and "Succeeded" in data("%azure.jobs", "text/plain")
    # The job on the machine that is down waits, and is cancelled.
    assert "Waiting" in data("%azure.submit", "text/plain")
    assert "Cancelled" in data("%azure.cancel", "text/plain")
    assert "Utilization" in data("%azure.quotas", "text/plain")
