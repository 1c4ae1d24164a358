"""House rules that tools do not check: every Rust file says what it is for on its first
line, no test is switched off, and the tests need nothing outside the clone."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUST = [p for p in ROOT.glob("*/**/*.rs") if "target" not in p.parts and ".venv" not in p.parts]


def test_every_rust_file_starts_with_a_module_doc():
    assert RUST, "no Rust files found"
    missing = [str(p.relative_to(ROOT)) for p in RUST if not p.read_text().startswith("//! ")]
    assert missing == []


def test_no_test_is_ignored():
    offenders = [str(p.relative_to(ROOT)) for p in RUST if "#[ignore" in p.read_text()]
    assert offenders == []


def _collect(tree: Path, azq_bin: Path) -> list[str]:
    """The test ids pytest collects in `tree`, run there as a user would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["AZQ_BIN"] = str(azq_bin)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"collection failed in {tree}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_lone_clone_collects_every_test(tmp_path, azq_bin):
    """The files a clone gets (tracked, or new and not ignored), copied into a folder with
    nothing beside them, collect the same tests as this tree: no test reads outside the clone."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    clone = tmp_path / "alone" / "azq"
    for name in filter(None, listed):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            (clone / src.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / src.relative_to(ROOT))
    assert sorted(p.name for p in clone.parent.iterdir()) == ["azq"]
    here, there = _collect(ROOT, azq_bin), _collect(clone, azq_bin)
    assert len(here) > 100, here[-5:]
    assert there == here


def test_no_test_names_the_steering_folder():
    """Nothing in the tests, the Makefile or CI points beside the clone."""
    texts = [p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_tidy.py"] + [ROOT / "Makefile", ROOT / ".ci" / "run"] + RUST
    offenders = [str(p.relative_to(ROOT)) for p in texts if re.search(r"\.\./shared|AZQ_SHARED|parent\s*/\s*\"shared\"", p.read_text())]
    assert offenders == []


def test_the_lockfile_holds_the_pins_evcxr_needs():
    """evcxr 0.22's rust-analyzer crates break on salsa 0.28.5: Cargo.lock and the companion's
    manifest both hold salsa at 0.28.2, so neither `--locked` nor a fresh resolution picks it."""
    lock = (ROOT / "Cargo.lock").read_text()
    versions = dict(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', lock))
    assert versions.get("evcxr") == "0.22.0"
    for name in ("salsa", "salsa-macros", "salsa-macro-rules"):
        assert versions.get(name) == "0.28.2", (
            f"{name} is {versions.get(name)} in Cargo.lock: evcxr 0.22 needs 0.28.2 "
            f"(cargo update -p {name} --precise 0.28.2)"
        )
        assert f'{name} = "=0.28.2"' in (ROOT / "rust" / "Cargo.toml").read_text()
