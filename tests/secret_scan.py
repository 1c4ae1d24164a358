"""A pytest plugin: the suite-wide secrets scan (issue 18, item 6).

For the whole session it records what could carry a secret out: every Jupyter message a test
receives from a kernel (IOPub, shell, control, stdin: `Session.deserialize` is wrapped, so
history replies are seen too), every emulator's request log (`GET /_emulator/requests`, fetched
when an `Emulator` closes, and after each test from any fixture value with a `requests_log()`
and a running `proc`, and from emulators `start_emulator` left running),
the output of every subprocess a test reads (`Popen.communicate`), what pexpect consoles
print, every test's captured stdout/stderr/log (where kernel and emulator logs land), and at
the end every file written under the session's temporary folders (pytest's basetemp, the
conftest's Jupyter prefix, /tmp/azq-* folders made during the session, build/ files written
during it). All of it is searched for the sentinel secrets the tests use, every emulator's
API key, client secret, storage key and identity header (taken as each emulator starts), and
the shapes of signed access tokens (JWT), the emulator's refresh tokens, storage account keys
and SAS signatures that are not redacted. Files that hold secrets by design (the emulator's
credentials.json and state.json, the token cache, the federated token file) are not scanned,
and in a file a token that is the value of its own JSON field (`"access_token": "…"`: a token
cache under another name, or a fake `az` reply a test wrote) or the whole file (a token file)
is counted apart, not a hit.

Any hit fails the session, listed with where it was, the test and a masked excerpt; the last
line is always `secret scan: N messages, M files, K request-log entries, H hits`. A test that
shows a secret on purpose says so with `@pytest.mark.shows_secret` (its hits are listed, not
counted). Use it with `-p secret_scan` (tests/ on PYTHONPATH) or `pytest_plugins`. Extra
sentinels can be given in AZQ_SECRET_SENTINELS (comma-separated)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# Files whose job is to hold a secret (private to the user); what they hold is not a leak.
HOLDERS = {"credentials.json", "state.json", "azq-token-cache.json", "federated-token"}
HOLDER_PREFIXES = ("azq-token-cache.", ".state.json.", ".credentials.json.")
MAX_FILE = 4 << 20

SHAPES = {
    # A signed JWT (the id token the emulator issues is unsigned: it ends in a bare dot).
    "access token": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}"),
    # The emulator's refresh tokens: `0.` and 64 hex digits.
    "refresh token": re.compile(r"(?<![0-9A-Za-z.])0\.[0-9a-f]{64}(?![0-9a-f])"),
    "storage key": re.compile(r"AccountKey=(?!REDACTED|\*|…|<)[A-Za-z0-9+/]{20,}={0,2}"),
    # A SAS signature, plain or URL-encoded, unless redacted.
    "SAS signature": re.compile(r"(?i)\bsig(?:=|%3D)(?!REDACTED|redacted|\*|…|%E2%80%A6|<|x\b|\.\.\.)[A-Za-z0-9%+/=]{16,}"),
}
# The JSON field a credential file keeps a token in, just before the token.
STORE_FIELD = re.compile(r'"(?:access_?[tT]oken|refresh_?[tT]oken|token|secret)"\s*:\s*"$')
# Sentinel literals in the tests' source: strings with "sentinel" or "secret" in them.
LITERAL = re.compile(r"""["']([A-Za-z0-9._-]*(?:sentinel|secret)[A-Za-z0-9._-]*)["']""")


def mask(s: str) -> str:
    return f"{s[:4]}…({len(s)} chars)" if len(s) > 6 else "…"


def harvest_sentinels() -> set[str]:
    found = set()
    for f in TESTS.glob("*.py"):
        for m in LITERAL.finditer(f.read_text(errors="replace")):
            v = m.group(1)
            # A value, not a name: flags (`--client-secret`) and words (`client-secret`) are
            # the names of secrets, and appear in documentation on purpose.
            looks_like_value = "sentinel" in v or any(c.isdigit() for c in v)
            if len(v) >= 10 and "-" in v and not v.startswith("-") and looks_like_value and not v.endswith((".py", ".json")):
                found.add(v)
    found.update(s for s in os.environ.get("AZQ_SECRET_SENTINELS", "").split(",") if len(s) >= 6)
    return found


class Scan:
    def __init__(self):
        self.lock = threading.Lock()
        self.test = "(session)"
        self.allowed: set[str] = set()
        self.secrets: dict[str, str] = {}  # value -> what it is
        self.messages: list[tuple[str, str, str]] = []  # (test, where, text)
        self.texts: list[tuple[str, str, str]] = []
        self.log_entries = 0
        self.live: list[tuple[object, str, str]] = []  # (proc, url, key) from start_emulator
        self.started = time.time()

    def secret(self, value, what: str):
        if isinstance(value, str) and len(value) >= 6:
            with self.lock:
                self.secrets.setdefault(value, what)

    def message(self, where: str, msg):
        try:
            text = json.dumps(msg, default=str)
        except (TypeError, ValueError):
            text = repr(msg)
        with self.lock:
            self.messages.append((self.test, where, text))

    def text(self, where: str, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text:
            with self.lock:
                self.texts.append((self.test, where, text))

    def request_log(self, url: str, key: str):
        import requests

        try:
            r = requests.get(f"{url}/_emulator/requests", headers={"x-ms-quantum-api-key": key}, timeout=5)
            entries = r.json() if r.status_code == 200 else []
        except (requests.RequestException, ValueError):
            return
        with self.lock:
            self.log_entries += len(entries)
            for e in entries:
                self.texts.append((self.test, f"request log of {url}", json.dumps(e)))

    # -- searching -------------------------------------------------------------------------

    def find(self, text: str, where: bool = False) -> list[tuple]:
        """What secrets `text` shows: (kind, masked excerpt[, offset, match]); every shape match
        with `where` (a file may hold a credential in its own field and leak another)."""
        hits = []
        for value, what in self.secrets.items():
            for form in {value, quote(value)}:
                i = text.find(form)
                if i >= 0:
                    hits.append((what, excerpt(text, i, form), i, form))
                    break
        for what, shape in SHAPES.items():
            for m in shape.finditer(text) if where else [shape.search(text)]:
                if m:
                    hits.append((what, excerpt(text, m.start(), m.group(0)), m.start(), m.group(0)))
        return hits if where else [h[:2] for h in hits]


def quote(s: str) -> str:
    from urllib.parse import quote as q

    return q(s, safe="")


# Long runs of token characters, blotted out of an excerpt's context: a report shows where
# a secret was, never the secret or its neighbour.
TOKENISH = re.compile(r"[A-Za-z0-9%+/=_.-]{16,}")


def excerpt(text: str, i: int, found: str) -> str:
    def context(s: str) -> str:
        return TOKENISH.sub("▒▒", s.replace("\n", "⏎"))

    return f"…{context(text[max(0, i - 40):i])}[{mask(found)}]{context(text[i + len(found):i + len(found) + 24])}…"


SCAN = Scan()


def _wrap_jupyter():
    try:
        from jupyter_client.session import Session
    except ImportError:
        return
    original = Session.deserialize
    if getattr(original, "_secret_scan", False):
        return

    def deserialize(self, msg_list, content=True, copy=True):
        msg = original(self, msg_list, content=content, copy=copy)
        kind = msg.get("header", {}).get("msg_type", "?")
        SCAN.message(f"kernel message {kind}", {k: msg.get(k) for k in ("header", "metadata", "content")})
        return msg

    deserialize._secret_scan = True
    Session.deserialize = deserialize


def _wrap_subprocess():
    original = subprocess.Popen.communicate
    if getattr(original, "_secret_scan", False):
        return

    def communicate(self, *a, **kw):
        out, err = original(self, *a, **kw)
        name = Path(str(self.args[0] if isinstance(self.args, (list, tuple)) else self.args)).name
        SCAN.text(f"stdout of {name}", out)
        SCAN.text(f"stderr of {name}", err)
        return out, err

    communicate._secret_scan = True
    subprocess.Popen.communicate = communicate


def _wrap_pexpect():
    try:
        import pexpect
    except ImportError:
        return
    original = pexpect.spawn.read_nonblocking
    if getattr(original, "_secret_scan", False):
        return

    def read_nonblocking(self, size=1, timeout=-1):
        data = original(self, size, timeout)
        SCAN.text("console (pexpect)", data)
        return data

    read_nonblocking._secret_scan = True
    pexpect.spawn.read_nonblocking = read_nonblocking


def _args_secrets(args):
    args = [str(a) for a in args]
    for flag, what in (("--api-key", "emulator API key"), ("--client-secret", "emulator client secret")):
        if flag in args[:-1]:
            SCAN.secret(args[args.index(flag) + 1], what)


def _settings_secrets(lines: dict):
    for k, v in lines.items():
        if not isinstance(v, str):
            continue
        for part in v.split(";"):
            name, _, value = part.partition("=")
            if name == "ApiKey":
                SCAN.secret(value, "emulator API key")
            elif name == "AccountKey":
                SCAN.secret(value, "emulator storage key")
        if k in ("IDENTITY_HEADER", "AZURE_CLIENT_SECRET"):
            SCAN.secret(v, k)


def _wrap_emulators():
    try:
        import emulator_helpers as eh
    except ImportError:
        return
    if getattr(eh.Emulator.__init__, "_secret_scan", False):
        return
    init, close, start = eh.Emulator.__init__, eh.Emulator.close, eh.start_emulator

    def emulator_init(self, azq_bin, *extra, **kw):
        init(self, azq_bin, *extra, **kw)
        SCAN.secret(self.key, "emulator API key")
        _args_secrets(extra)

    def emulator_close(self):
        if self.proc.poll() is None:
            SCAN.request_log(self.url, self.key)
        close(self)

    def start_emulator(azq_bin, *extra, **kw):
        proc, lines = start(azq_bin, *extra, **kw)
        _settings_secrets(lines)
        _args_secrets(extra)
        key = next((p.partition("=")[2] for v in lines.values() if isinstance(v, str)
                    for p in v.split(";") if p.startswith("ApiKey=")), None)
        if key and lines.get("url", "").startswith("http://"):
            SCAN.live.append((proc, lines["url"], key))
        return proc, lines

    for f in (emulator_init, emulator_close, start_emulator):
        f._secret_scan = True
    eh.Emulator.__init__, eh.Emulator.close, eh.start_emulator = emulator_init, emulator_close, start_emulator


def pytest_configure(config):
    config.addinivalue_line("markers", "shows_secret: the test shows a secret on purpose; the secret scan lists, not counts, its hits")
    for s in harvest_sentinels():
        SCAN.secret(s, "test sentinel")
    if os.environ.get("AZQ_EMULATOR_CLIENT_SECRET"):
        SCAN.secret(os.environ["AZQ_EMULATOR_CLIENT_SECRET"], "emulator client secret")
    _wrap_jupyter()
    _wrap_subprocess()
    _wrap_pexpect()
    _wrap_emulators()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    SCAN.test = item.nodeid
    if item.get_closest_marker("shows_secret"):
        SCAN.allowed.add(item.nodeid)
    yield
    SCAN.test = "(between tests)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    # Any emulator a fixture holds that can give its request log (Emulator, and the like).
    for value in getattr(item, "funcargs", {}).values():
        proc = getattr(value, "proc", None)
        if callable(getattr(value, "requests_log", None)) and proc is not None and proc.poll() is None:
            try:
                entries = value.requests_log()
            except Exception:  # noqa: BLE001 - a log the emulator cannot give is not scanned
                continue
            with SCAN.lock:
                SCAN.log_entries += len(entries)
                SCAN.texts.extend((item.nodeid, f"request log of {getattr(value, 'url', '?')}", json.dumps(e)) for e in entries)
    # Emulators start_emulator left running: their logs before the test's teardown ends them.
    for proc, url, key in list(SCAN.live):
        if proc.poll() is None:
            SCAN.request_log(url, key)
        SCAN.live.remove((proc, url, key))


def pytest_runtest_logreport(report):
    for name, text in report.sections:
        SCAN.texts.append((report.nodeid, name, text))
    if report.longrepr is not None:
        SCAN.texts.append((report.nodeid, f"error text ({report.when})", str(report.longrepr)))


def _roots(session) -> list[Path]:
    roots = []
    try:
        roots.append(session.config._tmp_path_factory.getbasetemp())
    except (AttributeError, OSError):
        pass
    import sys

    conftest = sys.modules.get("conftest")
    if conftest is not None and hasattr(conftest, "_prefix"):
        roots.append(Path(conftest._prefix))
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    roots += [p for p in tmp.glob("azq-*") if p.is_dir() and p.stat().st_mtime >= SCAN.started - 1]
    roots.append(ROOT / "build")
    return roots


def _files(session):
    seen = set()
    for root in _roots(session):
        if not root.is_dir():
            continue
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                p = Path(dirpath) / name
                try:
                    st = p.stat()
                except OSError:
                    continue
                if p in seen or not p.is_file() or st.st_mtime < SCAN.started - 1:
                    continue
                seen.add(p)
                yield p, st.st_size


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    hits, listed, files, skipped, stores = [], [], 0, 0, 0
    for test, where, text in SCAN.messages + SCAN.texts:
        for what, ex in SCAN.find(text):
            (listed if test in SCAN.allowed else hits).append(f"{what} in {where} [{test}]: {ex}")
    for path, size in _files(session):
        if path.name in HOLDERS or path.name.startswith(HOLDER_PREFIXES):
            skipped += 1
            continue
        if size > MAX_FILE:
            skipped += 1
            continue
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        files += 1
        for what, ex, at, found in SCAN.find(text, where=True):
            # A credential file holding its credential (a token cache, a fake `az` reply or
            # a token file a test wrote): the value sits in its own JSON field, not escaped
            # inside text, or is the whole file.
            if STORE_FIELD.search(text[max(0, at - 40):at]) or text.strip() == found:
                stores += 1
            else:
                hits.append(f"{what} in file {path}: {ex}")
    out = session.config.pluginmanager.get_plugin("terminalreporter")
    write = out.write_line if out else print
    if out:
        out.write_line("")  # ends the progress line
    for line in listed:
        write(f"secret scan (shown on purpose): {line}")
    for line in hits:
        write(f"secret scan HIT: {line}")
    write(f"secret scan: searched for {len(SCAN.secrets)} known secrets and {len(SHAPES)} shapes in "
          f"{len(SCAN.texts)} outputs and logs; {stores} tokens in credential files (own field or whole file); {skipped} files not read (secret holders, or over {MAX_FILE >> 20} MiB)")
    write(f"secret scan: {len(SCAN.messages)} messages, {files} files, {SCAN.log_entries} request-log entries, {len(hits)} hits")
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
