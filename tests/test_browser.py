"""azq as a person sees it: JupyterLab (the venv's) served on 127.0.0.1, opened in Debian's
headless chromium driven by Playwright (which downloads no browser here: it is given the system's
executable). Each notebook (quickstart, jobs, real-workspace, rust) is run with Run All and its
rendered page is checked in the DOM: tables and histograms are HTML (not a JSON tree, not raw
markup, no Markdown backticks shown as typed, no words pushed to the right edge), the progress of
`%azure.execute` is one output area updated in place, a job row is updated from a later cell,
completion of `%azure.` offers the magics, the device-code prompt shows its link and code and is
replaced by "Signed in as …", and Rust cells show their values, prints and SVG. A screenshot per
notebook goes to build/screenshots/."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_connect import EmulatorLines, fake_az

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
JUPYTER = Path(sys.executable).parent / "jupyter"
# The flags that keep chromium off the network (this machine refuses every connection that is
# not loopback) and out of the user's profile.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
AZURE_VARS = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "AZQ_")


def chromium() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(found).is_file(), (
        "Debian's chromium is missing: `make test` installs it (apt-get install chromium); "
        "Playwright cannot download a browser here")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """`jupyter lab` on loopback with its own home, settings and a copy of the notebooks."""

    def __init__(self, azq_bin: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="azq-lab-"))
        self.em = EmulatorLines(azq_bin)
        self.notebooks = self.dir / "notebooks"
        self.notebooks.mkdir()
        for name in ("quickstart.ipynb", "jobs.ipynb", "rust.ipynb"):
            shutil.copy(ROOT / "notebooks" / name, self.notebooks / name)
        # The real-workspace notebook with its parameters cell filled in, as its reader does.
        nb = nbformat.read(ROOT / "notebooks" / "real-workspace.ipynb", as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        params.source = (f"%env AZURE_QUANTUM_SUBSCRIPTION_ID={self.em.sub}\n"
                         f"%env AZURE_QUANTUM_WORKSPACE_RG={self.em.rg}\n"
                         f"%env AZURE_QUANTUM_WORKSPACE_NAME={self.em.ws}")
        nbformat.write(nb, self.notebooks / "real-workspace.ipynb")
        home = self.dir / "home"
        home.mkdir()
        bin_dir, _ = fake_az(self.dir, self.em)
        env = {k: v for k, v in os.environ.items() if not k.startswith(AZURE_VARS)}
        real_home = Path.home()
        env.update({
            # The home is new, so rustup and cargo are named where the real one keeps them
            # (for rust.ipynb), as a user's environment resolves them.
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
            "CARGO_HOME": os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
            "HOME": str(home), "PATH": f"{bin_dir}:{env['PATH']}",
            "JUPYTER_CONFIG_DIR": str(self.dir / "config"), "JUPYTER_DATA_DIR": str(self.dir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.dir / "runtime"), "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTERLAB_SETTINGS_DIR": str(self.dir / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.dir / "workspaces"),
            # Every way to sign in that real-workspace.ipynb shows, answered by the emulator.
            **self.em.endpoints(), **self.em.service_principal(),
            "AZURE_FEDERATED_TOKEN_FILE": self.em.lines["AZURE_FEDERATED_TOKEN_FILE"],
            "IDENTITY_ENDPOINT": self.em.lines["IDENTITY_ENDPOINT"],
            "IDENTITY_HEADER": self.em.lines["IDENTITY_HEADER"],
            "AZURE_QUANTUM_CONNECTION_STRING": self.em.cs,
        })
        # No news or update checks: nothing leaves loopback.
        notify = self.dir / "settings" / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True)
        (notify / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        self.token = secrets.token_hex(16)
        self.port = free_port()
        args = [str(JUPYTER), "lab", "--ip=127.0.0.1", f"--port={self.port}", "--no-browser",
                f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.notebooks}",
                "--LabApp.news_url=", "--ServerApp.port_retries=0"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(self.dir / "lab.log", "w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.notebooks)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, f"jupyter lab ended: {(self.dir / 'lab.log').read_text()[-2000:]}"
            try:
                if requests.get(f"{self.url}/api/status", params={"token": self.token}, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "jupyter lab did not start within 90 s"
            time.sleep(0.3)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        self.em.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(azq_bin):
    lab = Lab(azq_bin)
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # Only the lab server: a request anywhere else fails the test.
    stray: list[str] = []

    def route(r):
        if r.request.url.startswith(lab.url):
            r.continue_()
        else:
            stray.append(r.request.url)
            r.abort()
    context.route("**/*", route)
    page = context.new_page()
    yield page
    context.close()
    assert not stray, f"the page asked for addresses off the lab server: {stray[:5]}"


# What each code cell's outputs looked like, every time they changed: (number of output
# areas, text of the first). Installed before Run All, read after.
# The text of an output as read, without the CSS of its <style> elements.
PLAIN = r"""const plain = o => {
  let t = o.textContent;
  o.querySelectorAll('style').forEach(s => { t = t.replace(s.textContent, ''); });
  return t;
};"""

RECORDER = r"""() => {
  """ + PLAIN + r"""
  window.azqSeen = {};
  const record = () => {
    document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell').forEach((cell, i) => {
      const outputs = cell.querySelectorAll('.jp-OutputArea-child');
      const first = outputs.length ? plain(outputs[0]).slice(0, 400) : '';
      const seen = window.azqSeen[i] || (window.azqSeen[i] = []);
      const last = seen[seen.length - 1];
      if (!last || last[0] !== outputs.length || last[1] !== first) seen.push([outputs.length, first]);
    });
  };
  new MutationObserver(record).observe(document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook'),
    {subtree: true, childList: true, characterData: true});
}"""

# Each code cell: its source, its prompt, and what its outputs rendered as (textContent, not
# innerText: cells off screen are not laid out, and innerText of those is empty).
CELLS = r"""() => { """ + PLAIN + r"""
return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')].map(cell => ({
  source: [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')].map(l => l.textContent).join('\n'),
  prompt: cell.querySelector('.jp-InputPrompt').textContent,
  outputs: [...cell.querySelectorAll('.jp-OutputArea-child')].map(o => ({
    text: plain(o),
    tables: o.querySelectorAll('.jp-RenderedHTMLCommon table').length,
    histogram: [...o.querySelectorAll('.azq-histogram tbody tr')].map(r =>
      [r.querySelector('code')?.textContent, r.querySelectorAll('svg rect').length]),
    json: o.querySelectorAll('.jp-RenderedJSON').length,
    svgs: o.querySelectorAll('.jp-RenderedSVG, .jp-RenderedHTMLCommon svg, .jp-RenderedImage img').length,
    // Words pushed to the right edge: JupyterLab right-aligns table cells unless told otherwise,
    // which suits numbers (and the heads above them) only.
    rightWords: [...o.querySelectorAll('.jp-RenderedHTMLCommon td')]
      .filter(c => /[A-Za-z]{2}/.test(c.textContent) && !/^[\s\d.,:%()<>\-]*(USD|HQC|EHQC|s|shots)?[\s\d.,%()]*$/.test(c.textContent))
      .filter(c => ['right', 'end'].includes(getComputedStyle(c).textAlign))
      .map(c => c.textContent.trim().slice(0, 40)),
    // Markdown backticks shown as typed in HTML prose (code and preformatted text aside).
    backticks: [...o.querySelectorAll('.jp-RenderedHTMLCommon')].flatMap(r => {
      const walk = document.createTreeWalker(r, NodeFilter.SHOW_TEXT);
      const found = [];
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (n.nodeValue.includes('`') && !n.parentElement.closest('code, pre, style')) found.push(n.nodeValue.trim());
      }
      return found;
    }),
    raw: [...o.querySelectorAll('.jp-RenderedText')].map(t => t.textContent)
      .filter(t => /<(table|div|svg|span|p)[ >]/.test(t)).length,
    deviceCode: [...o.querySelectorAll('.azq-device-code')].map(d =>
      [d.querySelector('a')?.href, d.querySelector('code')?.textContent]),
  })),
})); }"""


def open_notebook(page: Page, lab: Lab, name: str):
    # `reset`: the one notebook, not the tabs a workspace remembers from an earlier test.
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell", timeout=60_000)
    wait_idle(page)
    page.evaluate(RECORDER)


def wait_idle(page: Page, timeout: float = 60):
    """Until the kernel is idle, no cell is queued or running, and that held for a second."""
    deadline = time.monotonic() + timeout
    calm_since = None
    while time.monotonic() < deadline:
        busy = page.evaluate("""() => {
          const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
          const queued = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')].some(p => p.textContent.includes('*'));
          return queued || !status || status.getAttribute('data-status') !== 'idle';
        }""")
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since > 1.0:
            return
        time.sleep(0.1)
    raise AssertionError("the notebook did not become idle")


def run_all(page: Page):
    """Run → Run All Cells, as a person does; once more if no cell started (a click that lands
    while the menu is still being laid out is lost)."""
    for _ in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function("""() => [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                .some(p => /\\[[*0-9]/.test(p.textContent))""", timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError("Run All Cells started no cell")


def run_notebook(page: Page, lab: Lab, name: str, timeout: float = 60) -> list[dict]:
    """Opens a notebook, runs all its cells, and returns them once it is idle, every output
    checked for being rendered."""
    open_notebook(page, lab, name)
    run_all(page)
    wait_idle(page, timeout)
    cs = cells(page)
    everything_rendered(cs)
    return cs


def cells(page: Page) -> list[dict]:
    return page.evaluate(CELLS)


def cell(cs: list[dict], start: str) -> dict:
    found = [c for c in cs if c["source"].startswith(start)]
    assert found, f"no cell starts with {start!r}"
    return found[0]


def seen(page: Page, cs: list[dict], start: str) -> list[list]:
    index = next(i for i, c in enumerate(cs) if c["source"].startswith(start))
    return page.evaluate("i => window.azqSeen[i] || []", index)


def shoot(page: Page, name: str, focus: str | None = None):
    if focus:
        # Cells that come into view are painted a moment later (content-visibility), and the
        # cells above them may then change height: scroll again once they have.
        for _ in range(2):
            page.locator(focus).first.scroll_into_view_if_needed()
            page.wait_for_timeout(700)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def everything_rendered(cs: list[dict]):
    for c in cs:
        for o in c["outputs"]:
            assert o["json"] == 0, f"a JSON tree instead of a rendering in {c['source'][:40]!r}"
            assert o["raw"] == 0, f"markup shown as text in {c['source'][:40]!r}: {o['text'][:200]}"
            assert not o["backticks"], f"Markdown backticks shown as typed in {c['source'][:40]!r}: {o['backticks'][:3]}"
            assert not o["rightWords"], f"words aligned to the right in {c['source'][:40]!r}: {o['rightWords'][:8]}"


def test_quickstart_renders_tables_progress_and_histogram(page, lab):
    cs = run_notebook(page, lab, "quickstart.ipynb")
    assert all(c["prompt"].strip("[]: ").isdigit() for c in cs), [c["prompt"] for c in cs]
    connect = cell(cs, "%azure.connect emulator")
    assert connect["outputs"][0]["tables"] >= 1 and "ionq.simulator" in connect["outputs"][0]["text"]
    # The progress of %azure.execute: one output area, updated in place, then the histogram.
    progress = seen(page, cs, "%azure.execute")
    assert max(n for n, _ in progress) == 2, progress
    alone = [first for n, first in progress if n == 1]
    assert len(set(alone)) >= 2 and "Succeeded" in progress[-1][1], progress
    execute = cell(cs, "%azure.execute")
    assert len(execute["outputs"]) == 2
    assert sorted(execute["outputs"][1]["histogram"]) == [["00", 1], ["11", 1]], execute["outputs"][1]
    for start, word in (("%azure.jobs", "Succeeded"), ("%azure.submit", "Waiting"),
                        ("%azure.cancel", "Cancelled"), ("%azure.quotas", "Utilization")):
        out = cell(cs, start)["outputs"]
        assert out and out[0]["tables"] >= 1 and word in out[0]["text"], (start, out)
    shoot(page, "quickstart", ".azq-histogram")

    # Completion of `%azure.` in a new cell offers the magics.
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("%azure.")
    page.keyboard.press("Tab")
    page.wait_for_selector(".jp-Completer-item", timeout=20_000)
    offered = page.locator(".jp-Completer-item .jp-Completer-match").all_inner_texts()
    assert {"%azure.connect", "%azure.execute", "%azure.jobs"} <= {o.strip() for o in offered}, offered
    shoot(page, "quickstart-completion")


def test_a_job_row_is_updated_from_later_cells(page, lab):
    cs = run_notebook(page, lab, "jobs.ipynb", timeout=120)
    history = [first for _, first in seen(page, cs, "%azure.submit")]
    assert any("Waiting" in h or "Executing" in h for h in history), history
    # The submit cell ended long before the job: its row was brought up to date afterwards.
    deadline = time.monotonic() + 30
    while "Succeeded" not in cell(cells(page), "%azure.submit")["outputs"][0]["text"]:
        assert time.monotonic() < deadline, cell(cells(page), "%azure.submit")
        time.sleep(0.2)
    histograms = [o["histogram"] for c in cs if c["source"].startswith("%azure.execute") for o in c["outputs"]
                  if o["histogram"]]
    assert histograms and all(sorted(h) == [["00", 1], ["11", 1]] for h in histograms), histograms
    shoot(page, "jobs", ".azq-histogram")


def test_the_device_code_prompt_is_replaced_by_who_signed_in(page, lab):
    open_notebook(page, lab, "real-workspace.ipynb")
    run_all(page)
    # The prompt: a link to the page and the code, which the person at the browser enters there.
    prompt = page.locator(".azq-device-code")
    prompt.wait_for(timeout=60_000)
    link = prompt.locator("a").get_attribute("href")
    code = prompt.locator("code").inner_text()
    assert link.startswith(lab.em.url) and code, (link, code)
    shoot(page, "real-workspace-device-code", ".azq-device-code")
    lab.em.approve(code)
    page.wait_for_selector(".azq-device-code", state="detached", timeout=30_000)
    wait_idle(page, timeout=120)
    cs = cells(page)
    everything_rendered(cs)
    device = cell(cs, "%azure.connect credential=DeviceCode")
    assert device["outputs"][0]["text"].startswith("Signed in as "), device
    assert any("Signed in with the device-code login" in o["text"] for o in device["outputs"])
    for kind in ("Environment", "WorkloadIdentity", "ManagedIdentity", "CLI", "ApiKey"):
        out = cell(cs, f"%azure.connect credential={kind}")["outputs"]
        assert out and out[-1]["tables"] >= 1 and "Connected to Azure Quantum workspace" in out[-1]["text"], kind
    typo = cell(cs, "%azure.connect workspace=my-workspace-with-a-typo")
    assert "WorkspaceNotFound" in typo["outputs"][0]["text"]
    shoot(page, "real-workspace", ".jp-OutputArea-child")


def test_rust_cells_render_their_values_streams_and_svg(page, lab):
    cs = run_notebook(page, lab, "rust.ipynb", timeout=240)
    assert all(c["prompt"].strip("[]: ").isdigit() for c in cs), [(c["prompt"], c["outputs"][:1]) for c in cs]
    assert not [c["source"][:40] for c in cs for o in c["outputs"] if "Error" in o["text"][:80]]
    assert cell(cs, "let shots")["outputs"][-1]["text"].endswith(":2000")  # after its [n]: prompt
    printed = cell(cs, "%azure.connect emulator")["outputs"]
    assert any("outcome 1: 11 expected 500 times in 1000 shots" in o["text"] for o in printed), printed
    bars = cell(cs, "pub struct Bars")["outputs"]
    assert bars and bars[-1]["svgs"] >= 1, bars
    assert cell(cs, "let fresh")["outputs"][-1]["text"].endswith('"a new context"')
    shoot(page, "rust", ".jp-RenderedSVG, .jp-RenderedImage")
