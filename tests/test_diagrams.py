"""Circuit drawings (issue 15, part 3) through a real kernel (jupyter_client): storing a program
with `%%qasm NAME` or `%qasm file=` shows a summary line and the circuit, as text art in
text/plain and as inline SVG in text/html; `%qasm NAME` shows it again. The SVG is read back
with an XML parser and checked for its structure (one box per gate, one wire per qubit), never
its pixels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from test_connect import kernel, kernel_env, run
from test_jobs import BELL

GHZ = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
ccx q[0], q[1], q[2];
rz(pi/4) q[2];
barrier q;
measure q -> c;
if (c == 1) x q[0];
"""


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    with kernel(kernel_env(tmp_path_factory.mktemp("home"))) as kc:
        yield kc


def ok(ran):
    assert ran.error is None, ran.text()
    assert ran.result is not None, ran.text()
    return ran


def html_of(ran) -> ET.Element:
    """The HTML form, checked to be well-formed XML with no image in it, and its SVG."""
    html = ran.data("text/html")
    assert html is not None, ran.text()
    assert "<img" not in html
    page = ET.fromstring(f"<root>{html}</root>")
    return page


def svg_of(ran) -> ET.Element:
    page = html_of(ran)
    boxes = [d for d in page.iter("div") if "overflow-x:auto" in d.get("style", "")]
    assert len(boxes) == 1, "the drawing scrolls sideways in its own box"
    svgs = [e for e in boxes[0] if e.tag.endswith("svg")]
    assert len(svgs) == 1
    svg = svgs[0]
    assert float(svg.get("width")) > 0 and float(svg.get("height")) > 0
    return svg


def by_class(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in svg.iter() if cls in e.get("class", "").split()]


def texts(svg: ET.Element) -> list[str]:
    return [e.text for e in svg.iter() if e.tag.endswith("text")]


def test_a_qasm_cell_is_drawn_as_svg_and_text_art(kc):
    ran = ok(run(kc, "%%qasm bell\n" + BELL))
    summary = "Stored `bell`: 2 qubits, 2 gates, 2 measurements (OpenQASM 2)."
    page = html_of(ran)
    # The name is code in HTML, not Markdown backticks shown as typed.
    assert page.find("p/code").text == "bell"
    assert "".join(page.find("p").itertext()) == summary.replace("`", "")
    svg = svg_of(ran)
    assert len(by_class(svg, "gate")) == 2
    assert len(by_class(svg, "qwire")) == 2
    assert len(by_class(svg, "cwire")) == 1
    assert len(by_class(svg, "control")) == 1
    assert [(m.get("data-register"), m.get("data-bit")) for m in by_class(svg, "measure")] == [
        ("c", "0"), ("c", "1")]
    assert {"q[0]", "q[1]", "H"} <= set(texts(svg))
    plain = ran.data("text/plain")
    assert plain.startswith(summary + "\n\n"), plain
    assert "q[0]: ─┤H├───■───┤M├" in plain, plain
    assert " c: 2/═" in plain, plain
    assert ran.data("application/x-azq.program+json")["gates"] == 2


def test_naming_a_stored_program_draws_it_again(kc):
    stored = ok(run(kc, "%%qasm again\n" + BELL))
    shown = ok(run(kc, "%qasm again"))
    first, second = svg_of(stored), svg_of(shown)
    assert ET.tostring(first) == ET.tostring(second)
    plain = shown.data("text/plain")
    assert plain.startswith("Stored `again`: 2 qubits")
    assert "┤H├" in plain and "measure q -> c;" in plain


def test_a_program_file_is_drawn(kc, tmp_path):
    path = tmp_path / "ghz.qasm"
    path.write_text(GHZ)
    ran = ok(run(kc, f"%qasm file={path}"))
    svg = svg_of(ran)
    assert [g.get("data-gate") for g in by_class(svg, "gate")] == ["h", "x", "x", "rz", "x"]
    assert len(by_class(svg, "qwire")) == 3
    assert len(by_class(svg, "control")) == 3
    assert len(by_class(svg, "barrier")) == 1
    assert len(by_class(svg, "measure")) == 3
    [cond] = by_class(svg, "condition")
    assert [e.text for e in by_class(cond, "condition-label")] == ["c==1"]
    assert "Rz(π/4)" in texts(svg)
    assert "┤Rz(π/4)├" in ran.data("text/plain")
    assert f"from {path}" in page_summary(ran)


def page_summary(ran) -> str:
    return "".join(html_of(ran).find("p").itertext())


@pytest.mark.parametrize("suffix,program,gates,register", [
    (".json", '{"qubits": 3, "circuit": [{"gate": "h", "target": 0}, '
              '{"gate": "cnot", "control": 0, "target": 1}, {"gate": "cnot", "control": 0, "target": 2}]}',
     3, "c"),
    (".quil", "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n", 2, "ro"),
])
def test_ionq_json_and_quil_programs_are_drawn(kc, tmp_path, suffix, program, gates, register):
    path = tmp_path / f"prog{suffix}"
    path.write_text(program)
    svg = svg_of(ok(run(kc, f"%qasm file={path}")))
    assert len(by_class(svg, "gate")) == gates
    assert [w.get("data-register") for w in by_class(svg, "cwire")] == [register]
    assert len(by_class(svg, "qwire")) == (3 if suffix == ".json" else 2)


def test_a_syntax_error_gets_its_error_and_no_drawing(kc):
    ran = run(kc, "%%qasm broken\nOPENQASM 2.0;\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n")
    assert ran.error is not None and ran.error["ename"] == "InvalidProgram", ran.text()
    assert ran.result is None
    assert not any("data" in m["content"] for m in ran.msgs), ran.text()
    assert "<svg" not in ran.text() and "┤" not in ran.text()
    listed = ok(run(kc, "%qasm")).data("application/x-azq.programs+json")
    assert "broken" not in [p["name"] for p in listed]


def test_a_huge_program_is_drawn_in_part_with_a_note(kc, tmp_path):
    path = tmp_path / "long.qasm"
    path.write_text("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n" + "h q[0];\nx q[1];\n" * 100_000)
    ran = ok(run(kc, f"%qasm file={path}"))
    svg = svg_of(ran)
    # 500 columns, two gates in each.
    assert len(by_class(svg, "gate")) == 1000
    note = "… 199000 more operations (not drawn)"
    assert [e.text for e in by_class(svg, "note")] == [note]
    plain = ran.data("text/plain")
    assert plain.rstrip().endswith(note)
    assert max(len(line) for line in plain.splitlines()[1:]) <= 100, "rows wrap (the summary aside)"
    assert len(ran.data("text/html")) < 1_000_000


def test_a_very_long_register_name_is_cut_in_the_drawing(kc, tmp_path):
    name = "r" * 200_000
    path = tmp_path / "long_name.qasm"
    path.write_text(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg {name}[2];\ncreg c[2];\n'
                    f"h {name}[0];\ncx {name}[0], {name}[1];\nmeasure {name} -> c;\n")
    ran = ok(run(kc, f"%qasm file={path}"))
    svg = svg_of(ran)
    cut = "r" * 16 + "…"
    assert [t for t in texts(svg) if t.startswith("r")] == [f"{cut}[0]", f"{cut}[1]"]
    assert len(by_class(svg, "gate")) == 2
    assert len(ran.data("text/html")) < 10_000
    assert f"{cut}[1]: ─" in ran.data("text/plain")
