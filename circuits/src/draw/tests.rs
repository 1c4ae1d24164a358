//! Drawing tests: the SVG read back as XML (a strict little reader below: no XML crate is in
//! the lock file) and checked for structure, the text art against snapshots, and the bounds.

use super::*;
use crate::qasm::load;

/// An element read back from the SVG.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, name: &str) -> f64 {
        self.attr(name)
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
            .parse()
            .unwrap()
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split(' ').any(|c| c == class))
    }

    /// Every element below (and including) this one, depth first.
    fn all(&self) -> Vec<&El> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.all());
        }
        out
    }

    fn class(&self, class: &str) -> Vec<&El> {
        self.all()
            .into_iter()
            .filter(|e| e.has_class(class))
            .collect()
    }

    /// All text inside, entities decoded.
    fn texts(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|e| e.name == "text")
            .map(|e| e.text.clone())
            .collect()
    }
}

/// Reads well-formed XML as produced here (elements, attributes in double quotes, text,
/// the five predefined entities and numeric ones); anything else fails the test.
fn parse_xml(s: &str) -> El {
    fn unescape(s: &str) -> String {
        assert!(!s.contains('<'), "raw < in {s:?}");
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find(';').expect("an entity ends with ;") + i;
            let ent = &rest[i + 1..end];
            let ch = match ent {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
                e => panic!("unknown entity &{e};"),
            };
            out.push(ch);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
    let mut stack: Vec<El> = vec![El::default()];
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').expect("closing tag ends");
            let el = stack.pop().unwrap();
            assert_eq!(el.name, &after[..end], "mismatched closing tag");
            stack
                .last_mut()
                .expect("closing tag at top")
                .children
                .push(el);
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').expect("tag ends");
            let mut tag = &after[..end];
            let empty = tag.ends_with('/');
            if empty {
                tag = &tag[..tag.len() - 1];
            }
            let name_end = tag.find(' ').unwrap_or(tag.len());
            let mut el = El {
                name: tag[..name_end].to_owned(),
                ..El::default()
            };
            assert!(
                el.name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad tag name {}",
                el.name
            );
            let mut a = tag[name_end..].trim_start();
            while !a.is_empty() {
                let eq = a.find("=\"").expect("attribute is name=\"value\"");
                let name = &a[..eq];
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "bad attribute name {name:?}"
                );
                let vend = a[eq + 2..].find('"').expect("value closes") + eq + 2;
                assert!(
                    el.attrs.iter().all(|(n, _)| n != name),
                    "repeated attribute {name}"
                );
                el.attrs.push((name.to_owned(), unescape(&a[eq + 2..vend])));
                a = a[vend + 1..].trim_start();
            }
            if empty {
                stack.last_mut().unwrap().children.push(el);
            } else {
                stack.push(el);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = unescape(&rest[..end]);
            stack.last_mut().unwrap().text.push_str(&text);
            rest = &rest[end..];
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root element");
    let svg = root.children.pop().unwrap();
    assert_eq!(svg.name, "svg");
    svg
}

fn draw(src: &str) -> El {
    let c = load(src).unwrap();
    let s = svg(&c, &DrawOptions::default());
    parse_xml(&s)
}

const BELL: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\n\
                    h q[0];\ncx q[0], q[1];\nmeasure q -> c;\n";

const GHZ: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\n\
                   h q[0];\ncx q[0], q[1];\nccx q[0], q[1], q[2];\nrz(pi/4) q[2];\n\
                   barrier q;\nmeasure q -> c;\n";

#[test]
fn bell_has_two_gates_two_qubit_wires_one_register_and_two_measurements() {
    let svg = draw(BELL);
    assert!(svg.num("width") > 0.0 && svg.num("height") > 0.0);
    assert_eq!(
        svg.attr("style"),
        Some("max-width:none"),
        "a wide drawing is not shrunk"
    );
    assert_eq!(svg.class("gate").len(), 2);
    let wires = svg.class("qwire");
    assert_eq!(wires.len(), 2);
    assert_eq!(svg.class("cwire").len(), 1);
    assert_eq!(svg.class("control").len(), 1);
    assert!(svg.texts().contains(&"q[0]".to_owned()));
    assert!(svg.texts().contains(&"q[1]".to_owned()));
    assert!(svg.texts().contains(&"H".to_owned()));
    // The controlled X: its control dot on q[0], its ⊕ on q[1].
    let cx = svg.class("gate")[1];
    assert_eq!(cx.attr("data-gate"), Some("x"));
    let control = &cx.class("control")[0];
    assert_eq!(control.num("cy"), wires[0].num("y1"));
    assert_eq!(cx.class("target")[0].num("cy"), wires[1].num("y1"));
}

#[test]
fn measurements_reach_the_right_register_and_name_their_bit() {
    let src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg a[1];\ncreg b[2];\n\
               measure q[0] -> b[1];\nmeasure q[1] -> a[0];\n";
    let svg = draw(src);
    let cwires = svg.class("cwire");
    assert_eq!(cwires.len(), 2, "one double line per register");
    let y_of = |reg: &str| {
        cwires
            .iter()
            .find(|w| w.attr("data-register") == Some(reg))
            .unwrap()
            .num("data-y")
    };
    let qwires = svg.class("qwire");
    let measures = svg.class("measure");
    assert_eq!(measures.len(), 2);
    for (m, (reg, bit, qubit)) in measures.iter().zip([("b", "1", 0), ("a", "0", 1)]) {
        assert_eq!(m.attr("data-register"), Some(reg));
        assert_eq!(m.attr("data-bit"), Some(bit));
        // The meter box sits on the qubit's wire, the arrow's tip on the register's line,
        // and the bit index is written just below it.
        let rect = m.all().into_iter().find(|e| e.name == "rect").unwrap();
        let qy = qwires[qubit].num("y1");
        assert_eq!(rect.num("y") + rect.num("height") / 2.0, qy);
        let arrow = &m.class("arrow")[0];
        let tip_y: f64 = arrow
            .attr("d")
            .unwrap()
            .trim_end_matches('Z')
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(tip_y, y_of(reg));
        let label = m.class("bit")[0];
        assert_eq!(label.text, bit);
        assert!(label.num("y") > y_of(reg));
    }
}

#[test]
fn ghz_with_ccx_rz_and_barrier_counts_exactly() {
    let svg = draw(GHZ);
    let gates = svg.class("gate");
    let names: Vec<&str> = gates.iter().map(|g| g.attr("data-gate").unwrap()).collect();
    assert_eq!(names, ["h", "x", "x", "rz"]);
    assert_eq!(svg.class("qwire").len(), 3);
    assert_eq!(svg.class("cwire").len(), 1);
    assert_eq!(svg.class("control").len(), 3);
    assert_eq!(svg.class("measure").len(), 3);
    assert_eq!(svg.class("barrier").len(), 1);
    assert_eq!(gates[2].class("control").len(), 2, "ccx has two controls");
    assert!(svg.texts().contains(&"Rz(π/4)".to_owned()));
    // The barrier's dashed line crosses all three wires.
    let dashed = svg.class("barrier")[0]
        .all()
        .into_iter()
        .find(|e| e.attr("stroke-dasharray").is_some())
        .unwrap();
    let ys: Vec<f64> = svg.class("qwire").iter().map(|w| w.num("y1")).collect();
    assert!(dashed.num("y1") < ys[0] && dashed.num("y2") > ys[2]);
}

#[test]
fn parallel_gates_share_a_column_and_dependent_ones_do_not() {
    let src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\n\
               h q[0];\nx q[1];\ncx q[0], q[2];\ny q[1];\n";
    let c = load(src).unwrap();
    let l = Layout::new(&c, &DrawOptions::default());
    let cols: Vec<usize> = l.columns.iter().map(Vec::len).collect();
    // h and x side by side; cx spans q[1] so goes after x; y on q[1] after cx.
    assert_eq!(cols, [2, 1, 1]);
    let svg = draw(src);
    let x_of = |i: usize| {
        let g = svg.class("gate")[i];
        let r = g.all().into_iter().find(|e| e.name == "rect").unwrap();
        r.num("x") + r.num("width") / 2.0
    };
    assert_eq!(x_of(0), x_of(1));
}

#[test]
fn a_condition_is_labelled_and_linked_to_its_register() {
    let src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\ncreg c[1];\n\
               measure q[0] -> c[0];\nif (c == 1) x q[0];\nreset q[0];\n";
    let svg = draw(src);
    let conds = svg.class("condition");
    assert_eq!(conds.len(), 1);
    let cond = conds[0];
    assert_eq!(cond.attr("data-register"), Some("c"));
    assert_eq!(cond.attr("data-value"), Some("1"));
    assert_eq!(
        cond.class("gate").len(),
        1,
        "the conditioned gate is drawn inside"
    );
    assert_eq!(cond.class("condition-label")[0].text, "c==1");
    let cy = svg.class("cwire")[0].num("data-y");
    let dot = cond.all().into_iter().find(|e| e.name == "circle").unwrap();
    assert_eq!(dot.num("cy"), cy);
    assert_eq!(svg.class("reset").len(), 1);
    assert!(svg.texts().contains(&"|0⟩".to_owned()));
}

#[test]
fn swap_and_controlled_boxes() {
    let src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\n\
               swap q[0], q[2];\ncrz(pi/2) q[1], q[0];\nrzz(0.5) q[0], q[1];\n";
    let svg = draw(src);
    let gates = svg.class("gate");
    assert_eq!(gates.len(), 3);
    assert_eq!(gates[0].class("target").len(), 2, "swap: × on both qubits");
    assert_eq!(gates[1].class("control").len(), 1);
    assert!(svg.texts().contains(&"Rz(π/2)".to_owned()));
    assert!(svg.texts().contains(&"Rzz(0.5)".to_owned()));
    // rzz on q[0] and q[1] (adjacent): one box across both wires.
    let rects = |g: &El| -> Vec<(f64, f64)> {
        g.all()
            .into_iter()
            .filter(|e| e.name == "rect")
            .map(|e| (e.num("y"), e.num("height")))
            .collect()
    };
    let ys: Vec<f64> = svg.class("qwire").iter().map(|w| w.num("y1")).collect();
    let across = rects(gates[2]);
    assert_eq!(across.len(), 1);
    assert!(across[0].0 < ys[0] && across[0].0 + across[0].1 > ys[1]);
    assert!(across[0].0 + across[0].1 < ys[2]);
}

#[test]
fn a_gate_on_wires_apart_gets_a_box_on_each_and_leaves_the_one_between_free() {
    let src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\nrzz(0.5) q[0], q[2];\n";
    let svg = draw(src);
    let ys: Vec<f64> = svg.class("qwire").iter().map(|w| w.num("y1")).collect();
    let gate = svg.class("gate")[0];
    let rects: Vec<&El> = gate
        .all()
        .into_iter()
        .filter(|e| e.name == "rect")
        .collect();
    assert_eq!(rects.len(), 2);
    for (r, y) in rects.iter().zip([ys[0], ys[2]]) {
        assert_eq!(r.num("y") + r.num("height") / 2.0, y);
        assert!(r.num("y") > ys[1] || r.num("y") + r.num("height") < ys[1]);
    }
    assert_eq!(gate.class("link").len(), 1, "joined by one line");
}

#[test]
fn text_is_escaped() {
    let mut c = Circuit::default();
    c.add_qreg("<q&\"'>", 1);
    c.add_creg("c<b>", 1);
    c.ops.push(Op::Measure { qubit: 0, clbit: 0 });
    let s = svg(&c, &DrawOptions::default());
    assert!(!s.contains("<q&"));
    let svg = parse_xml(&s);
    assert!(svg.texts().contains(&"<q&\"'>[0]".to_owned()));
    assert_eq!(svg.class("cwire")[0].attr("data-register"), Some("c<b>"));
}

#[test]
fn angles_are_shown_as_multiples_of_pi_or_rounded() {
    use std::f64::consts::PI;
    let cases = [
        (0.0, "0"),
        (PI, "π"),
        (-PI, "-π"),
        (PI / 2.0, "π/2"),
        (3.0 * PI / 4.0, "3π/4"),
        (-PI / 4.0, "-π/4"),
        (2.0 * PI, "2π"),
        (PI / 3.0, "π/3"),
        (0.5, "0.5"),
        (1.23456789, "1.2346"),
        (-0.00001, "0"),
        (1e-12, "0"),
        (100.0, "100"),
        (1e300, "1.000e300"),
        (-123456.0, "-1.235e5"),
        (f64::NAN, "NaN"),
    ];
    for (x, want) in cases {
        assert_eq!(angle(x), want, "{x}");
    }
}

fn chain(n: usize, qubits: usize) -> Circuit {
    let mut c = Circuit::default();
    c.add_qreg("q", qubits);
    for i in 0..n {
        c.ops.push(Op::Gate(Gate {
            kind: GateKind::H,
            params: vec![],
            controls: vec![],
            targets: vec![i % qubits],
        }));
    }
    c
}

#[test]
fn a_huge_circuit_is_cut_with_a_note() {
    let c = chain(200_000, 1);
    let opts = DrawOptions::default();
    let s = svg(&c, &opts);
    let el = parse_xml(&s);
    assert_eq!(el.class("gate").len(), opts.max_columns);
    let note = el.class("note")[0];
    assert_eq!(note.text, "… 199500 more operations (not drawn)");
    let t = text(&c, &opts);
    assert!(t.ends_with("… 199500 more operations (not drawn)\n"), "{t}");
    assert!(s.len() < 200_000, "svg: {} bytes", s.len());
    assert!(t.len() < 100_000, "text: {} bytes", t.len());
}

#[test]
fn many_parallel_gates_stop_at_the_op_bound() {
    let opts = DrawOptions::default();
    let c = chain(opts.max_ops + 7, 64);
    let el = parse_xml(&svg(&c, &opts));
    assert_eq!(el.class("gate").len(), opts.max_ops);
    assert_eq!(el.class("note")[0].text, "… 7 more operations (not drawn)");
}

#[test]
fn wires_past_the_bound_are_left_out_and_said() {
    let mut c = chain(100, 100);
    c.add_creg("c", 1);
    c.ops.push(Op::Measure {
        qubit: 99,
        clbit: 0,
    });
    let opts = DrawOptions::default();
    let el = parse_xml(&svg(&c, &opts));
    assert_eq!(el.class("qwire").len(), 64);
    assert_eq!(el.class("gate").len(), 64);
    assert_eq!(el.class("measure").len(), 0);
    assert_eq!(
        el.class("note")[0].text,
        "the first 64 of 100 qubits are drawn; 37 operations on the others (not drawn)"
    );
}

#[test]
fn bell_as_text() {
    let c = load(BELL).unwrap();
    let got = text(&c, &DrawOptions::default());
    let want = "\
q[0]: ─┤H├───■───┤M├──────
             │    ║
q[1]: ──────┤X├───╫───┤M├─
                  ║    ║
 c: 2/════════════╩════╩══
                  0    1
";
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn ghz_as_text() {
    let c = load(GHZ).unwrap();
    let got = text(&c, &DrawOptions::default());
    println!("{got}");
    assert!(got.contains("┤Rz(π/4)├"));
    assert_eq!(got.matches('■').count(), 3);
    assert_eq!(got.matches("┤M├").count(), 3);
}

#[test]
fn long_text_wraps_in_rows_with_labels_repeated() {
    let c = chain(300, 2);
    let opts = DrawOptions::default();
    let got = text(&c, &opts);
    for line in got.lines() {
        assert!(line.chars().count() <= opts.text_width, "{line}");
    }
    let rows = got.lines().filter(|l| l.starts_with("q[0]: ")).count();
    assert!(rows >= 300 * 5 / 2 / opts.text_width, "{rows} rows");
    assert_eq!(got.matches("┤H├").count(), 300);
}

#[test]
fn an_empty_circuit_shows_its_wires() {
    let c = load("OPENQASM 2.0;\nqreg q[2];\ncreg c[1];\n").unwrap();
    assert_eq!(
        text(&c, &DrawOptions::default()),
        "q[0]: ───\n\nq[1]: ───\n\n c: 1/═══\n"
    );
    let el = parse_xml(&svg(&c, &DrawOptions::default()));
    assert_eq!(el.class("qwire").len(), 2);
    assert_eq!(el.class("gate").len(), 0);
}

/// Every program of the test corpus: well-formed SVG with one `gate` element per gate (those
/// under an `if` included), one wire per qubit and per register, one `measure` per
/// measurement; text art with one line per wire.
#[test]
fn every_corpus_program_draws_one_element_per_operation() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            std::path::PathBuf::from,
        )
        .join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("qasm") {
            continue;
        }
        let c = load(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let count = |f: &dyn Fn(&Op) -> bool| {
            c.ops
                .iter()
                .filter(|op| match op {
                    Op::If { op, .. } => f(op),
                    op => f(op),
                })
                .count()
        };
        let el = parse_xml(&svg(&c, &DrawOptions::default()));
        let name = path.display();
        assert_eq!(
            el.class("gate").len(),
            count(&|op| matches!(op, Op::Gate(_))),
            "{name}"
        );
        assert_eq!(
            el.class("measure").len(),
            count(&|op| matches!(op, Op::Measure { .. })),
            "{name}"
        );
        assert_eq!(
            el.class("condition").len(),
            c.ops
                .iter()
                .filter(|op| matches!(op, Op::If { .. }))
                .count(),
            "{name}"
        );
        assert_eq!(el.class("qwire").len(), c.num_qubits(), "{name}");
        assert_eq!(el.class("cwire").len(), c.cregs.len(), "{name}");
        assert!(el.class("note").is_empty(), "{name}");
        let art = text(&c, &DrawOptions::default());
        let wire_lines = art
            .lines()
            .filter(|l| l.contains(": ─") || l.contains("/═"))
            .count();
        let rows = c.num_qubits() + c.cregs.len();
        assert_eq!(wire_lines % rows, 0, "{name}:\n{art}");
        seen += 1;
    }
    assert!(seen >= 5, "the corpus is there");
}

#[test]
fn registers_past_the_bound_are_left_out_and_said() {
    let mut c = Circuit::default();
    c.add_qreg("q", 1);
    for i in 0..20 {
        c.add_creg(&format!("c{i}"), 1);
        c.ops.push(Op::Measure { qubit: 0, clbit: i });
    }
    let opts = DrawOptions::default();
    let el = parse_xml(&svg(&c, &opts));
    assert_eq!(el.class("cwire").len(), opts.max_cregs);
    assert_eq!(el.class("measure").len(), opts.max_cregs);
    assert_eq!(
        el.class("note")[0].text,
        "the first 16 of 20 classical registers are drawn; 4 operations on the others (not drawn)"
    );
    assert!(text(&c, &opts).contains("the first 16 of 20 classical registers"));
}

#[test]
fn long_register_names_are_cut_so_the_drawing_stays_small() {
    let long = "r".repeat(100_000);
    let mut c = Circuit::default();
    c.add_qreg(&long, 2);
    c.add_creg(&long, 2);
    c.ops.push(Op::Measure { qubit: 0, clbit: 1 });
    c.ops.push(Op::If {
        creg: 0,
        value: 1,
        op: Box::new(Op::Reset { qubit: 1 }),
    });
    let opts = DrawOptions::default();
    let s = svg(&c, &opts);
    let t = text(&c, &opts);
    assert!(
        s.len() < 5_000 && t.len() < 2_000,
        "{} {}",
        s.len(),
        t.len()
    );
    let cut = format!("{}…", "r".repeat(16));
    let el = parse_xml(&s);
    assert!(el.texts().contains(&format!("{cut}[0]")));
    assert_eq!(
        el.class("cwire")[0].attr("data-register"),
        Some(cut.as_str())
    );
    assert_eq!(el.class("condition-label")[0].text, format!("{cut}==1"));
    assert!(t.contains(&format!("{cut}: 2/")), "{t}");
}
