//! A circuit as text art for `text/plain`: one line per wire with a line between wires for
//! the vertical links, wrapped in rows at a fixed width with the wire labels repeated.

use super::{DrawOptions, Layout, Target, condition_label, target};
use crate::circuit::Op;

/// The circuit as text art, no line longer than `opts.text_width` characters unless a
/// single column is wider than that.
pub fn text(c: &crate::circuit::Circuit, opts: &DrawOptions) -> String {
    let l = Layout::new(c, opts);
    let nq = l.qubit_rows();
    let labels: Vec<String> = l
        .qubit_labels
        .iter()
        .map(|s| format!("{s}: "))
        .chain(
            l.cregs
                .iter()
                .zip(&l.creg_names)
                .map(|(r, n)| format!("{n}: {}/", r.len)),
        )
        .collect();
    let prefix = labels.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let mut columns: Vec<Column> = l.columns.iter().map(|col| Column::new(&l, col)).collect();
    if columns.is_empty() {
        // No operations: the bare wires.
        columns.push(Column {
            width: 3,
            cells: Vec::new(),
        });
    }

    let mut out = String::new();
    let mut start = 0;
    while start < columns.len() {
        let mut end = start + 1;
        let mut width = prefix + columns[start].width;
        while end < columns.len() && width + columns[end].width <= opts.text_width {
            width += columns[end].width;
            end += 1;
        }
        if start > 0 {
            out.push('\n');
        }
        let mut lines: Vec<String> = Vec::with_capacity(2 * l.rows());
        for (row, label) in labels.iter().enumerate() {
            for gap in [false, true] {
                let mut line = if gap {
                    " ".repeat(prefix)
                } else {
                    format!("{label:>prefix$}")
                };
                let fill = match (gap, row < nq) {
                    (true, _) => ' ',
                    (false, true) => '─',
                    (false, false) => '═',
                };
                for col in &columns[start..end] {
                    col.cell(2 * row + usize::from(gap), fill, &mut line);
                }
                lines.push(line.trim_end().to_owned());
            }
        }
        while lines.last().is_some_and(|s| s.is_empty()) {
            lines.pop();
        }
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        start = end;
    }
    if let Some(note) = l.note() {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// One column's cells: what each text line (two per row: the wire, then the gap below it)
/// shows there, if anything.
struct Column {
    width: usize,
    cells: Vec<(usize, String)>,
}

impl Column {
    fn new(l: &Layout<'_>, ops: &[&Op]) -> Column {
        let mut cells = Vec::new();
        for op in ops {
            draw(l, op, &mut cells);
        }
        let widest = cells
            .iter()
            .map(|(_, s)| s.chars().count())
            .max()
            .unwrap_or(1);
        let mut width = widest + 2;
        if width % 2 == 0 {
            width += 1;
        }
        Column { width, cells }
    }

    /// Appends this column's part of text line `line` to `out`.
    fn cell(&self, line: usize, fill: char, out: &mut String) {
        let content = self.cells.iter().rev().find(|(l, _)| *l == line);
        match content {
            None => out.extend(std::iter::repeat_n(fill, self.width)),
            Some((_, s)) => {
                let n = s.chars().count();
                let left = (self.width - n) / 2;
                out.extend(std::iter::repeat_n(fill, left));
                out.push_str(s);
                out.extend(std::iter::repeat_n(fill, self.width - n - left));
            }
        }
    }
}

/// The cells an operation fills: `(line, text)`, the wire of row r being line 2r.
fn draw(l: &Layout<'_>, op: &Op, cells: &mut Vec<(usize, String)>) {
    let nq = l.qubit_rows();
    // A vertical link from row `a` to row `b`: `║` (double) or `│`, crossing the wires between.
    let link = |a: usize, b: usize, double: bool, cells: &mut Vec<(usize, String)>| {
        for r in a..b {
            cells.push((2 * r + 1, if double { "║" } else { "│" }.into()));
            if r > a {
                let cross = match (double, r < nq) {
                    (true, true) => "╫",
                    (true, false) => "╬",
                    (false, true) => "┼",
                    (false, false) => "╪",
                };
                cells.push((2 * r, cross.into()));
            }
        }
    };
    match op {
        Op::Gate(g) => {
            let Some((top, bottom)) = l.span(op) else {
                return;
            };
            link(top, bottom, false, cells);
            let shown = match target(g) {
                Target::Plus => "┤X├".to_owned(),
                Target::Cross => "×".to_owned(),
                Target::Box(label) => format!("┤{label}├"),
            };
            for &t in &g.targets {
                cells.push((2 * t, shown.clone()));
            }
            for &c in &g.controls {
                cells.push((2 * c, "■".into()));
            }
        }
        Op::Measure { qubit, clbit } => {
            let Some((creg, index)) = l.clbit(*clbit) else {
                return;
            };
            let Some(row) = l.creg_row(creg) else { return };
            link(*qubit, row, true, cells);
            cells.push((2 * qubit, "┤M├".into()));
            cells.push((2 * row, "╩".into()));
            cells.push((2 * row + 1, index.to_string()));
        }
        Op::Reset { qubit } => cells.push((2 * qubit, "|0>".into())),
        Op::Barrier { qubits } => {
            let mut rows = qubits.clone();
            rows.sort_unstable();
            rows.dedup();
            for (i, &r) in rows.iter().enumerate() {
                cells.push((2 * r, "░".into()));
                if rows.get(i + 1) == Some(&(r + 1)) {
                    cells.push((2 * r + 1, "░".into()));
                }
            }
        }
        Op::If { creg, value, op } => {
            let (Some((_, bottom)), Some(row)) = (l.span(op), l.creg_row(*creg)) else {
                return;
            };
            draw(l, op, cells);
            link(bottom, row, true, cells);
            cells.push((2 * row, "■".into()));
            cells.push((2 * row + 1, condition_label(l.circuit, *creg, *value)));
        }
    }
}
