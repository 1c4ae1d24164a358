//! A circuit as inline SVG: one wire per qubit, a double line per classical register, a box
//! (or ⊕, ×) per gate, and classes on every element (`qwire`, `cwire`, `gate`, `control`,
//! `measure`, `reset`, `barrier`, `condition`) so that tests and stylesheets can find them.

use std::fmt::Write;

use super::{DrawOptions, Layout, Target, condition_label, target};
use crate::circuit::{Circuit, Gate, Op};

/// Height of one wire's row.
const ROW: f64 = 44.0;
/// Space above the first wire and below the last.
const MARGIN: f64 = 12.0;
/// Estimated width of one character of the monospace labels, 13 px.
const CHAR: f64 = 8.0;
/// Gate boxes are this tall (centred on their wire).
const BOX: f64 = 30.0;
const INK: &str = "#222";
const GATE_FILL: &str = "#dde8fb";
const GATE_STROKE: &str = "#2a5db0";

/// The circuit as a standalone `<svg>` element with `width` and `height` set.
pub fn svg(c: &Circuit, opts: &DrawOptions) -> String {
    let layout = Layout::new(c, opts);
    Svg::new(&layout).draw()
}

struct Svg<'l, 'a> {
    l: &'l Layout<'a>,
    /// x of the wires' start.
    left: f64,
    /// Centre x of each column.
    centres: Vec<f64>,
    width: f64,
    out: String,
}

impl<'l, 'a> Svg<'l, 'a> {
    fn new(l: &'l Layout<'a>) -> Self {
        let label_chars = l
            .qubit_labels
            .iter()
            .map(|s| s.chars().count())
            .chain(l.creg_names.iter().map(|n| n.chars().count()))
            .max()
            .unwrap_or(1);
        let left = label_chars as f64 * CHAR + 24.0;
        let mut x = left + 12.0;
        let mut centres = Vec::with_capacity(l.columns.len());
        for col in &l.columns {
            let w = col
                .iter()
                .map(|op| op_width(l.circuit, op))
                .fold(BOX, f64::max);
            centres.push(x + w / 2.0);
            x += w + 12.0;
        }
        Svg {
            l,
            left,
            centres,
            width: x + 12.0,
            out: String::new(),
        }
    }

    fn y(&self, row: usize) -> f64 {
        MARGIN + ROW * row as f64 + ROW / 2.0
    }

    /// `max-width:none`: front ends that fit images to the page (JupyterLab's
    /// `max-width: 100%`) would shrink a long circuit until it cannot be read; it scrolls
    /// instead, in the box the HTML puts it in.
    fn draw(mut self) -> String {
        let note = self.l.note();
        let wires_h = MARGIN * 2.0 + ROW * self.l.rows() as f64;
        let height = wires_h + if note.is_some() { 24.0 } else { 0.0 };
        if let Some(n) = &note {
            self.width = self.width.max(n.chars().count() as f64 * 7.0 + 24.0);
        }
        let (w, h) = (self.width.ceil(), height.ceil());
        let _ = write!(
            self.out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"azq-circuit\" width=\"{w}\" \
             height=\"{h}\" style=\"max-width:none\" viewBox=\"0 0 {w} {h}\" font-family=\"monospace\" font-size=\"13\">\
             <rect class=\"background\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>"
        );
        self.wires();
        for (i, col) in self.l.columns.iter().enumerate() {
            for op in col {
                self.op(self.centres[i], op);
            }
        }
        if let Some(n) = note {
            let _ = write!(
                self.out,
                "<text class=\"note\" x=\"12\" y=\"{}\" fill=\"#a33\">{}</text>",
                wires_h + 10.0,
                escape(&n)
            );
        }
        self.out.push_str("</svg>");
        self.out
    }

    fn wires(&mut self) {
        let (x1, x2) = (self.left, self.width - 8.0);
        for (r, label) in self.l.qubit_labels.iter().enumerate() {
            let y = self.y(r);
            let _ = write!(
                self.out,
                "<text class=\"wire-label\" x=\"{}\" y=\"{y}\" text-anchor=\"end\" \
                 dominant-baseline=\"central\" fill=\"{INK}\">{}</text>\
                 <line class=\"qwire\" x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" \
                 stroke=\"{INK}\" stroke-width=\"1.2\"/>",
                x1 - 8.0,
                escape(label)
            );
        }
        for (i, (reg, name)) in self.l.cregs.iter().zip(&self.l.creg_names).enumerate() {
            let y = self.y(self.l.qubit_rows() + i);
            let _ = write!(
                self.out,
                "<text class=\"wire-label\" x=\"{}\" y=\"{y}\" text-anchor=\"end\" \
                 dominant-baseline=\"central\" fill=\"{INK}\">{}</text>\
                 <g class=\"cwire\" data-register=\"{}\" data-y=\"{y}\" stroke=\"{INK}\">\
                 <line x1=\"{x1}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\"/>\
                 <line x1=\"{x1}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\"/>\
                 <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/></g>\
                 <text class=\"register-size\" x=\"{}\" y=\"{}\" font-size=\"10\" \
                 text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                x1 - 8.0,
                escape(name),
                escape(name),
                y - 1.5,
                y - 1.5,
                y + 1.5,
                y + 1.5,
                x1 + 4.0,
                y + 5.0,
                x1 + 10.0,
                y - 5.0,
                x1 + 7.0,
                y - 8.0,
                reg.len
            );
        }
    }

    fn op(&mut self, x: f64, op: &Op) {
        match op {
            Op::Gate(g) => self.gate(x, g),
            Op::Measure { qubit, clbit } => self.measure(x, *qubit, *clbit),
            Op::Reset { qubit } => {
                let y = self.y(*qubit);
                let _ = write!(self.out, "<g class=\"reset\">");
                self.boxed(x, y, y, "|0⟩", "#eee", "#555");
                self.out.push_str("</g>");
            }
            Op::Barrier { qubits } => {
                let mut rows: Vec<usize> = qubits.clone();
                rows.sort_unstable();
                rows.dedup();
                self.out.push_str("<g class=\"barrier\">");
                let mut start = 0;
                for i in 1..=rows.len() {
                    if i == rows.len() || rows[i] != rows[i - 1] + 1 {
                        let (y1, y2) = (self.y(rows[start]) - 18.0, self.y(rows[i - 1]) + 18.0);
                        let _ = write!(
                            self.out,
                            "<rect x=\"{}\" y=\"{y1}\" width=\"12\" height=\"{}\" fill=\"#ccc\" \
                             fill-opacity=\"0.4\"/><line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" \
                             y2=\"{y2}\" stroke=\"#777\" stroke-width=\"1.5\" \
                             stroke-dasharray=\"4 3\"/>",
                            x - 6.0,
                            y2 - y1
                        );
                        start = i;
                    }
                }
                self.out.push_str("</g>");
            }
            Op::If { creg, value, op } => {
                let Some(inner) = self.l.span(op) else { return };
                let Some(row) = self.l.creg_row(*creg) else {
                    return;
                };
                let (y1, y2) = (self.y(inner.1) + BOX / 2.0, self.y(row));
                let label = condition_label(self.l.circuit, *creg, *value);
                let _ = write!(
                    self.out,
                    "<g class=\"condition\" data-register=\"{}\" data-value=\"{value}\">\
                     <line x1=\"{}\" y1=\"{y1}\" x2=\"{}\" y2=\"{y2}\" stroke=\"{INK}\"/>\
                     <line x1=\"{}\" y1=\"{y1}\" x2=\"{}\" y2=\"{y2}\" stroke=\"{INK}\"/>\
                     <circle cx=\"{x}\" cy=\"{y2}\" r=\"4.5\" fill=\"{INK}\"/>\
                     <text class=\"condition-label\" x=\"{x}\" y=\"{}\" font-size=\"11\" \
                     text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                    escape(&self.l.creg_names[*creg]),
                    x - 1.5,
                    x - 1.5,
                    x + 1.5,
                    x + 1.5,
                    y2 + 17.0,
                    escape(&label)
                );
                self.op(x, op);
                self.out.push_str("</g>");
            }
        }
    }

    fn gate(&mut self, x: f64, g: &Gate) {
        let _ = write!(
            self.out,
            "<g class=\"gate\" data-gate=\"{}\">",
            g.kind.name()
        );
        let rows = g.controls.iter().chain(&g.targets);
        let (top, bottom) = (
            rows.clone().copied().min().unwrap_or(0),
            rows.copied().max().unwrap_or(0),
        );
        if top != bottom {
            let _ = write!(
                self.out,
                "<line class=\"link\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" \
                 stroke=\"{INK}\" stroke-width=\"1.5\"/>",
                self.y(top),
                self.y(bottom)
            );
        }
        match target(g) {
            Target::Plus => {
                for &t in &g.targets {
                    let y = self.y(t);
                    let _ = write!(
                        self.out,
                        "<circle class=\"target\" cx=\"{x}\" cy=\"{y}\" r=\"11\" fill=\"#fff\" \
                         stroke=\"{INK}\" stroke-width=\"1.5\"/><path d=\"M{} {y}H{}M{x} {}V{}\" \
                         stroke=\"{INK}\" stroke-width=\"1.5\"/>",
                        x - 11.0,
                        x + 11.0,
                        y - 11.0,
                        y + 11.0
                    );
                }
            }
            Target::Cross => {
                for &t in &g.targets {
                    let y = self.y(t);
                    let _ = write!(
                        self.out,
                        "<path class=\"target\" d=\"M{} {}L{} {}M{} {}L{} {}\" \
                         stroke=\"{INK}\" stroke-width=\"2\"/>",
                        x - 7.0,
                        y - 7.0,
                        x + 7.0,
                        y + 7.0,
                        x - 7.0,
                        y + 7.0,
                        x + 7.0,
                        y - 7.0
                    );
                }
            }
            Target::Box(label) => {
                let t1 = g.targets.iter().copied().min().unwrap_or(0);
                let t2 = g.targets.iter().copied().max().unwrap_or(0);
                if t2 + 1 - t1 == g.targets.len() {
                    // Adjacent targets: one box across them.
                    let (y1, y2) = (self.y(t1), self.y(t2));
                    self.boxed(x, y1, y2, &label, GATE_FILL, GATE_STROKE);
                } else {
                    // A box on each target, so that a wire between is not taken for one.
                    for &t in &g.targets {
                        let y = self.y(t);
                        self.boxed(x, y, y, &label, GATE_FILL, GATE_STROKE);
                    }
                }
            }
        }
        for &c in &g.controls {
            let _ = write!(
                self.out,
                "<circle class=\"control\" cx=\"{x}\" cy=\"{}\" r=\"5\" fill=\"{INK}\"/>",
                self.y(c)
            );
        }
        self.out.push_str("</g>");
    }

    /// A box from wire y1 to wire y2 with a centred label.
    fn boxed(&mut self, x: f64, y1: f64, y2: f64, label: &str, fill: &str, stroke: &str) {
        let w = label_width(label);
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\" rx=\"3\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"1.2\"/><text x=\"{x}\" y=\"{}\" \
             text-anchor=\"middle\" dominant-baseline=\"central\" fill=\"{INK}\">{}</text>",
            x - w / 2.0,
            y1 - BOX / 2.0,
            y2 - y1 + BOX,
            (y1 + y2) / 2.0,
            escape(label)
        );
    }

    fn measure(&mut self, x: f64, qubit: usize, clbit: usize) {
        let Some((creg, index)) = self.l.clbit(clbit) else {
            return;
        };
        let Some(row) = self.l.creg_row(creg) else {
            return;
        };
        let (yq, yc) = (self.y(qubit), self.y(row));
        let h = BOX / 2.0;
        let _ = write!(
            self.out,
            "<g class=\"measure\" data-register=\"{}\" data-bit=\"{index}\">\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{INK}\"/>\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{INK}\"/>\
             <path class=\"arrow\" d=\"M{} {}L{} {}L{x} {yc}Z\" fill=\"{INK}\"/>\
             <rect x=\"{}\" y=\"{}\" width=\"{BOX}\" height=\"{BOX}\" rx=\"3\" fill=\"#eee\" \
             stroke=\"#555\" stroke-width=\"1.2\"/>\
             <path class=\"meter\" d=\"M{} {}A10 10 0 0 1 {} {}M{x} {}L{} {}\" fill=\"none\" \
             stroke=\"{INK}\" stroke-width=\"1.3\"/>\
             <text class=\"bit\" x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" \
             fill=\"{INK}\">{index}</text></g>",
            escape(&self.l.creg_names[creg]),
            x - 1.5,
            yq + h,
            x - 1.5,
            yc - 6.0,
            x + 1.5,
            yq + h,
            x + 1.5,
            yc - 6.0,
            x - 5.0,
            yc - 8.0,
            x + 5.0,
            yc - 8.0,
            x - h,
            yq - h,
            x - 10.0,
            yq + 6.0,
            x + 10.0,
            yq + 6.0,
            yq + 6.0,
            x + 7.0,
            yq - 8.0,
            yc + 17.0,
        );
    }
}

/// Width of a box holding `label`.
fn label_width(label: &str) -> f64 {
    (label.chars().count() as f64 * CHAR + 14.0).max(BOX)
}

/// Width an operation needs in its column.
fn op_width(c: &Circuit, op: &Op) -> f64 {
    match op {
        Op::Gate(g) => match target(g) {
            Target::Box(label) => label_width(&label),
            _ => BOX,
        },
        Op::Reset { .. } => label_width("|0⟩"),
        Op::Measure { .. } | Op::Barrier { .. } => BOX,
        Op::If { creg, value, op } => {
            let label = condition_label(c, *creg, *value);
            op_width(c, op).max(label.chars().count() as f64 * 7.0 + 6.0)
        }
    }
}

/// Text for XML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
