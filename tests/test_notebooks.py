"""Every notebook in notebooks/ runs headless on azq with nbclient, without errors."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_connect import SECRET, EmulatorLines, fake_az, kernel_env

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


# Runs against a workspace of the reader's: below, against a standalone emulator instead.
SELF_CONTAINED = [p for p in NOTEBOOKS if p.name != "real-workspace.ipynb"]


@pytest.mark.parametrize("path", SELF_CONTAINED, ids=[p.name for p in SELF_CONTAINED])
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


def test_the_real_workspace_notebook_signs_in_every_way_against_the_emulator(azq_bin, tmp_path):
    """notebooks/real-workspace.ipynb with only its parameters cell filled in, as a reader does,
    and Azure's sign-in and management endpoints pointed at `azq emulator`: every sign-in method
    it shows connects, the job runs, and the failing cell fails by its name."""
    em = EmulatorLines(azq_bin, "--auto-approve")
    try:
        nb = nbformat.read(NOTEBOOKS[0].parent / "real-workspace.ipynb", as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and "my-workspace" in params[0].source
        params[0].source = (f"%env AZURE_QUANTUM_SUBSCRIPTION_ID={em.sub}\n"
                            f"%env AZURE_QUANTUM_WORKSPACE_RG={em.rg}\n"
                            f"%env AZURE_QUANTUM_WORKSPACE_NAME={em.ws}")
        bin_dir, _ = fake_az(tmp_path, em)
        env = kernel_env(tmp_path, **em.endpoints(), **em.service_principal(),
                         AZURE_FEDERATED_TOKEN_FILE=em.lines["AZURE_FEDERATED_TOKEN_FILE"],
                         IDENTITY_ENDPOINT=em.lines["IDENTITY_ENDPOINT"], IDENTITY_HEADER=em.lines["IDENTITY_HEADER"],
                         AZURE_QUANTUM_CONNECTION_STRING=em.cs)
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        NotebookClient(nb, kernel_name="azq", timeout=60).execute(env=env)
    finally:
        em.close()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(c.source, o["ename"]) for c in code for o in c.outputs if o["output_type"] == "error"]
    assert errors == [("%azure.connect workspace=my-workspace-with-a-typo credential=Environment", "WorkspaceNotFound")]
    connects = {c.source.split("credential=")[1]: c for c in code
                if c.source.startswith("%azure.connect credential=")}
    assert set(connects) == {"Environment", "WorkloadIdentity", "ManagedIdentity", "CLI", "DeviceCode", "ApiKey"}
    for kind, cell in connects.items():
        result = [o for o in cell.outputs if o["output_type"] == "execute_result"]
        assert result, f"{kind}: no result"
        text = result[-1]["data"]["text/plain"]
        assert text.startswith(f"Connected to Azure Quantum workspace {em.ws} "), (kind, text)
        assert result[-1]["data"]["application/x-azq.targets+json"]["credential"] == kind, kind
    # The device code was shown, then replaced by who signed in.
    device = connects["DeviceCode"].outputs
    assert "Signed in as " in "".join(o.get("data", {}).get("text/plain", "") for o in device)
    executed = next(c for c in code if c.source.startswith("%azure.execute"))
    assert "Succeeded" in "".join(o.get("data", {}).get("text/plain", "") for o in executed.outputs)
    # The connection survived the failed connect.
    assert code[-1].outputs[-1]["data"]["application/x-azq.targets+json"]["credential"] == "ApiKey"
    assert SECRET not in nbformat.writes(nb) and em.cs.split("ApiKey=")[-1].strip(";") not in nbformat.writes(nb)
