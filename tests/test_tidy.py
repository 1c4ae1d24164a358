"""House rules that tools do not check: every Rust file says what it is for on its first
line, and no test is switched off."""

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
