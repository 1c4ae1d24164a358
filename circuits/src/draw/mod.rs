//! Circuit drawings: the layout both renderers share (ops packed into columns, so gates on
//! separate wires share one), the labels (gate names, angles as multiples of π), and the
//! bounds that keep a drawing small whatever the program's size.

mod svg;
mod text;

pub use svg::svg;
pub use text::text;

use std::f64::consts::PI;

use crate::circuit::{Circuit, Gate, GateKind, Op, Register};

/// How much of a circuit is drawn, and how wide a text drawing may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawOptions {
    /// Columns (time steps) drawn at most; later operations are counted, not drawn.
    pub max_columns: usize,
    /// Operations drawn at most.
    pub max_ops: usize,
    /// Qubit wires drawn at most (the first ones); operations on later qubits are counted.
    pub max_qubits: usize,
    /// Classical registers drawn at most (the first ones).
    pub max_cregs: usize,
    /// A text drawing's lines are at most this many characters; longer circuits wrap in rows.
    pub text_width: usize,
}

impl Default for DrawOptions {
    fn default() -> Self {
        DrawOptions {
            max_columns: 500,
            max_ops: 5000,
            max_qubits: 64,
            max_cregs: 16,
            text_width: 100,
        }
    }
}

/// What both renderers draw: wires, columns of operations, and what was left out.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    pub circuit: &'a Circuit,
    /// Labels of the drawn qubit wires (`q[0]`).
    pub qubit_labels: Vec<String>,
    /// The drawn classical registers.
    pub cregs: &'a [Register],
    /// Their names as drawn (see `short`).
    pub creg_names: Vec<String>,
    /// The operations of each column (time step), each on rows no other in it spans.
    pub columns: Vec<Vec<&'a Op>>,
    /// Operations after the last drawn column (or past `max_ops`).
    pub not_drawn: usize,
    /// Operations on a qubit or register that is not drawn.
    pub hidden: usize,
}

impl<'a> Layout<'a> {
    pub fn new(c: &'a Circuit, opts: &DrawOptions) -> Layout<'a> {
        let nq = c.num_qubits().min(opts.max_qubits);
        let cregs = &c.cregs[..c.cregs.len().min(opts.max_cregs)];
        let rows = nq + cregs.len();
        let mut layout = Layout {
            circuit: c,
            qubit_labels: (0..nq).map(|q| qubit_label(c, q)).collect(),
            cregs,
            creg_names: cregs.iter().map(|r| short(&r.name)).collect(),
            columns: Vec::new(),
            not_drawn: 0,
            hidden: 0,
        };
        let mut next_free = vec![0usize; rows];
        let mut drawn = 0usize;
        for (i, op) in c.ops.iter().enumerate() {
            let Some((top, bottom)) = layout.span(op) else {
                layout.hidden += 1;
                continue;
            };
            let col = next_free[top..=bottom].iter().copied().max().unwrap_or(0);
            if col >= opts.max_columns || drawn >= opts.max_ops {
                let rest = c.ops.len() - i;
                let all_wires = nq == c.num_qubits() && cregs.len() == c.cregs.len();
                layout.not_drawn = if all_wires {
                    rest
                } else {
                    rest - layout.hidden_after(i)
                };
                break;
            }
            if col == layout.columns.len() {
                layout.columns.push(Vec::new());
            }
            layout.columns[col].push(op);
            next_free[top..=bottom].fill(col + 1);
            drawn += 1;
        }
        layout
    }

    /// Of the operations from `i` on, how many touch a wire that is not drawn (counted apart).
    fn hidden_after(&mut self, i: usize) -> usize {
        let hidden = self.circuit.ops[i..]
            .iter()
            .filter(|op| self.span(op).is_none())
            .count();
        self.hidden += hidden;
        hidden
    }

    pub fn qubit_rows(&self) -> usize {
        self.qubit_labels.len()
    }

    pub fn rows(&self) -> usize {
        self.qubit_rows() + self.cregs.len()
    }

    /// The row of a drawn qubit.
    pub fn qubit_row(&self, q: usize) -> Option<usize> {
        (q < self.qubit_rows()).then_some(q)
    }

    /// The row of a drawn classical register (by index).
    pub fn creg_row(&self, creg: usize) -> Option<usize> {
        (creg < self.cregs.len()).then(|| self.qubit_rows() + creg)
    }

    /// The register (index) and the index in it of a classical bit.
    pub fn clbit(&self, bit: usize) -> Option<(usize, usize)> {
        let regs = &self.circuit.cregs;
        let i = regs.partition_point(|r| r.offset + r.len <= bit);
        regs.get(i)
            .filter(|r| r.offset <= bit)
            .map(|r| (i, bit - r.offset))
    }

    /// The first and last row an operation spans (qubit rows first, then one row per drawn
    /// classical register), or `None` if it touches a wire not drawn.
    pub fn span(&self, op: &Op) -> Option<(usize, usize)> {
        let rows: Vec<usize> = match op {
            Op::Gate(g) => g
                .controls
                .iter()
                .chain(&g.targets)
                .map(|&q| self.qubit_row(q))
                .collect::<Option<_>>()?,
            Op::Measure { qubit, clbit } => {
                let (creg, _) = self.clbit(*clbit)?;
                vec![self.qubit_row(*qubit)?, self.creg_row(creg)?]
            }
            Op::Reset { qubit } => vec![self.qubit_row(*qubit)?],
            Op::Barrier { qubits } => qubits
                .iter()
                .map(|&q| self.qubit_row(q))
                .collect::<Option<_>>()?,
            Op::If { creg, op, .. } => {
                let (top, bottom) = self.span(op)?;
                vec![top, bottom, self.creg_row(*creg)?]
            }
        };
        Some((*rows.iter().min()?, *rows.iter().max()?))
    }

    /// The closing note about what is not drawn, if anything is left out.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.not_drawn > 0 {
            parts.push(format!(
                "… {} more operation{} (not drawn)",
                self.not_drawn,
                plural(self.not_drawn)
            ));
        }
        let nq = self.circuit.num_qubits();
        let nc = self.circuit.cregs.len();
        if nq > self.qubit_rows() || nc > self.cregs.len() {
            let mut wires = Vec::new();
            if nq > self.qubit_rows() {
                wires.push(format!(
                    "the first {} of {nq} qubits are drawn",
                    self.qubit_rows()
                ));
            }
            if nc > self.cregs.len() {
                wires.push(format!(
                    "the first {} of {nc} classical registers are drawn",
                    self.cregs.len()
                ));
            }
            parts.push(format!(
                "{}; {} operation{} on the others (not drawn)",
                wires.join(", "),
                self.hidden,
                plural(self.hidden)
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `q[3]`: a qubit by its register and its index there.
fn qubit_label(c: &Circuit, q: usize) -> String {
    c.qregs
        .iter()
        .find(|r| r.offset <= q && q < r.offset + r.len)
        .map_or_else(
            || format!("q[{q}]"),
            |r| format!("{}[{}]", short(&r.name), q - r.offset),
        )
}

/// Register names are shown with at most this many characters.
const MAX_NAME: usize = 16;

/// A register's name as drawn: cut to `MAX_NAME` characters with `…`, so that a long name
/// (a program may hold one of megabytes) cannot multiply into a huge drawing.
pub(crate) fn short(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME) {
        None => name.to_owned(),
        Some((i, _)) => format!("{}…", &name[..i]),
    }
}

/// How a gate's target is drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// ⊕: a controlled X.
    Plus,
    /// ×: a swap's two qubits.
    Cross,
    /// A box with the gate's name and parameters.
    Box(String),
}

pub(crate) fn target(g: &Gate) -> Target {
    match g.kind {
        GateKind::X if !g.controls.is_empty() => Target::Plus,
        GateKind::Swap => Target::Cross,
        _ => Target::Box(gate_label(g)),
    }
}

/// `H`, `Rz(π/4)`, `U(π/2, 0, π)`: the name capitalised, parameters as multiples of π.
pub fn gate_label(g: &Gate) -> String {
    let name = g.kind.name();
    let mut label: String = name[..1].to_uppercase() + &name[1..];
    if !g.params.is_empty() {
        let params: Vec<String> = g.params.iter().map(|&p| angle(p)).collect();
        label.push('(');
        label.push_str(&params.join(", "));
        label.push(')');
    }
    label
}

/// An angle in radians, shown as a multiple of π when it is one (`π/2`, `-3π/4`, `2π`),
/// else rounded to at most 4 decimals (large ones in exponent form, so a label stays short).
pub fn angle(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    for den in [1u32, 2, 3, 4, 6, 8, 12, 16] {
        let num = x / PI * f64::from(den);
        let rounded = num.round();
        if rounded != 0.0 && (num - rounded).abs() < 1e-9 && rounded.abs() <= 64.0 {
            let n = rounded as i64;
            let sign = if n < 0 { "-" } else { "" };
            let coef = match n.unsigned_abs() {
                1 => String::new(),
                k => k.to_string(),
            };
            return if den == 1 {
                format!("{sign}{coef}π")
            } else {
                format!("{sign}{coef}π/{den}")
            };
        }
    }
    if x.abs() >= 1e5 {
        // Fixed notation would print every digit of 1e300.
        return format!("{x:.3e}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// The label under a condition: `c==1`.
pub(crate) fn condition_label(c: &Circuit, creg: usize, value: u64) -> String {
    let name = c.cregs.get(creg).map_or("c", |r| r.name.as_str());
    format!("{}=={value}", short(name))
}

#[cfg(test)]
mod tests;
