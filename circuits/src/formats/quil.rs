//! Quil for Rigetti targets (`rigetti.quil.v1`): every classical register is flattened into
//! one `DECLARE ro BIT[n]`; the reader takes the subset that the writer and the Rigetti
//! examples use (DECLARE, gates with CONTROLLED/DAGGER, MEASURE, RESET).

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
use std::fmt::Write;

use crate::circuit::{Circuit, Gate, GateKind, Op};
use crate::decompose::two_qubit_rotation;
use crate::error::ProgramError;

fn unsupported(what: &str) -> ProgramError {
    ProgramError::unsupported(
        format!("{what} cannot be written as Quil (rigetti.quil.v1)"),
        None,
    )
}

fn num(x: f64) -> String {
    format!("{x:?}")
}

/// The Quil base gate and the global phase by which the model's gate differs from it.
fn base(g: &Gate) -> Option<(String, f64)> {
    use GateKind::*;
    let p = |name: &str| format!("{name}({})", num(g.params[0]));
    Some(match g.kind {
        Id => ("I".into(), 0.0),
        X => ("X".into(), 0.0),
        Y => ("Y".into(), 0.0),
        Z => ("Z".into(), 0.0),
        H => ("H".into(), 0.0),
        S => ("S".into(), 0.0),
        Sdg => ("DAGGER S".into(), 0.0),
        T => ("T".into(), 0.0),
        Tdg => ("DAGGER T".into(), 0.0),
        Sx => (format!("RX({})", num(FRAC_PI_2)), FRAC_PI_4),
        Sxdg => (format!("RX({})", num(-FRAC_PI_2)), -FRAC_PI_4),
        Rx => (p("RX"), 0.0),
        Ry => (p("RY"), 0.0),
        Rz => (p("RZ"), 0.0),
        P => (p("PHASE"), 0.0),
        Swap => ("SWAP".into(), 0.0),
        U | Rxx | Ryy | Rzz => return None,
    })
}

fn write_gate(g: &Gate, out: &mut String) -> Result<(), ProgramError> {
    if let Some(steps) = two_qubit_rotation(g) {
        return steps.iter().try_for_each(|s| write_gate(s, out));
    }
    if g.kind == GateKind::U {
        // U(θ, φ, λ) = e^{i(φ+λ)/2} · RZ(φ)·RY(θ)·RZ(λ); under controls the phase matters.
        let (t, phi, lam) = (g.params[0], g.params[1], g.params[2]);
        write_phase(&g.controls, (phi + lam) / 2.0, out);
        for (kind, a) in [(GateKind::Rz, lam), (GateKind::Ry, t), (GateKind::Rz, phi)] {
            write_gate(
                &Gate {
                    kind,
                    params: vec![a],
                    controls: g.controls.clone(),
                    targets: g.targets.clone(),
                },
                out,
            )?;
        }
        return Ok(());
    }
    let named = match (g.kind, g.controls.len()) {
        (GateKind::X, 1) => Some("CNOT".to_owned()),
        (GateKind::X, 2) => Some("CCNOT".to_owned()),
        (GateKind::Z, 1) => Some("CZ".to_owned()),
        (GateKind::P, 1) => Some(format!("CPHASE({})", num(g.params[0]))),
        (GateKind::Swap, 1) => Some("CSWAP".to_owned()),
        _ => None,
    };
    if let Some(name) = named {
        let qubits: Vec<String> = g
            .controls
            .iter()
            .chain(&g.targets)
            .map(usize::to_string)
            .collect();
        let _ = writeln!(out, "{name} {}", qubits.join(" "));
        return Ok(());
    }
    let (name, phase) = base(g).ok_or_else(|| unsupported(&format!("`{}`", g.kind)))?;
    write_phase(&g.controls, phase, out);
    let qubits: Vec<String> = g
        .controls
        .iter()
        .chain(&g.targets)
        .map(usize::to_string)
        .collect();
    let _ = writeln!(
        out,
        "{}{name} {}",
        "CONTROLLED ".repeat(g.controls.len()),
        qubits.join(" ")
    );
    Ok(())
}

/// A global phase only matters when the gate is controlled: then it is a phase on the controls.
fn write_phase(controls: &[usize], phase: f64, out: &mut String) {
    if let Some((last, rest)) = controls.split_last()
        && phase != 0.0
    {
        let qs: Vec<String> = rest.iter().chain([last]).map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "{}PHASE({}) {}",
            "CONTROLLED ".repeat(rest.len()),
            num(phase),
            qs.join(" ")
        );
    }
}

/// Writes Quil; classical bit k of the circuit is `ro[k]`.
pub fn write(c: &Circuit) -> Result<String, ProgramError> {
    let mut out = format!("DECLARE ro BIT[{}]\n\n", c.num_clbits().max(1));
    for op in &c.ops {
        match op {
            Op::Gate(g) => write_gate(g, &mut out)?,
            Op::Measure { qubit, clbit } => {
                let _ = writeln!(out, "MEASURE {qubit} ro[{clbit}]");
            }
            Op::Reset { qubit } => {
                let _ = writeln!(out, "RESET {qubit}");
            }
            Op::Barrier { .. } => {}
            Op::If { .. } => return Err(unsupported("a condition (`if`)")),
        }
    }
    Ok(out)
}

fn err(line: usize, message: String) -> ProgramError {
    ProgramError::invalid(format!("line {line}: {message}"), None)
}

/// Evaluates a Quil parameter: numbers, `pi`, + - * / and parentheses.
fn expr(text: &str, line: usize) -> Result<f64, ProgramError> {
    fn sum(s: &mut &str, d: usize) -> Option<f64> {
        let mut v = prod(s, d)?;
        loop {
            *s = s.trim_start();
            if let Some(r) = s.strip_prefix('+') {
                *s = r;
                v += prod(s, d)?;
            } else if let Some(r) = s.strip_prefix('-') {
                *s = r;
                v -= prod(s, d)?;
            } else {
                return Some(v);
            }
        }
    }
    fn prod(s: &mut &str, d: usize) -> Option<f64> {
        let mut v = atom(s, d)?;
        loop {
            *s = s.trim_start();
            if let Some(r) = s.strip_prefix('*') {
                *s = r;
                v *= atom(s, d)?;
            } else if let Some(r) = s.strip_prefix('/') {
                *s = r;
                v /= atom(s, d)?;
            } else {
                return Some(v);
            }
        }
    }
    fn atom(s: &mut &str, d: usize) -> Option<f64> {
        if d > 64 {
            return None;
        }
        *s = s.trim_start();
        if let Some(r) = s.strip_prefix('-') {
            *s = r;
            return atom(s, d + 1).map(|v| -v);
        }
        if let Some(r) = s.strip_prefix('(') {
            *s = r;
            let v = sum(s, d + 1)?;
            *s = s.trim_start().strip_prefix(')')?;
            return Some(v);
        }
        if let Some(r) = s.strip_prefix("pi") {
            *s = r;
            return Some(PI);
        }
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
            .unwrap_or(s.len());
        let v = s[..end].parse().ok()?;
        *s = &s[end..];
        Some(v)
    }
    let mut s = text;
    match sum(&mut s, 0) {
        Some(v) if s.trim().is_empty() && v.is_finite() => Ok(v),
        _ => Err(err(
            line,
            format!("`{text}` is not a number or an expression of numbers and pi"),
        )),
    }
}

/// Reads the Quil subset into a circuit: regions are flattened in declaration order.
pub fn read(text: &str) -> Result<Circuit, ProgramError> {
    let mut regions: Vec<(String, usize)> = Vec::new();
    let mut ops = Vec::new();
    let mut max_qubit = None::<usize>;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with("PRAGMA") || line == "HALT" {
            continue;
        }
        let mut words = line.split_whitespace();
        let head = words.next().unwrap_or("");
        let mut qubit = |w: &str| -> Result<usize, ProgramError> {
            let q = w
                .parse::<usize>()
                .ok()
                .filter(|q| *q < 1 << 15)
                .ok_or_else(|| err(line_no, format!("`{w}` is not a qubit number")))?;
            max_qubit = Some(max_qubit.map_or(q, |m: usize| m.max(q)));
            Ok(q)
        };
        match head {
            "DECLARE" => {
                let name = words
                    .next()
                    .ok_or_else(|| err(line_no, "DECLARE needs a name".into()))?;
                let ty = words.next().unwrap_or("BIT");
                let (kind, len) = match ty.split_once('[') {
                    Some((k, rest)) => (
                        k,
                        rest.trim_end_matches(']')
                            .parse::<usize>()
                            .map_err(|_| err(line_no, format!("bad size in `{ty}`")))?,
                    ),
                    None => (ty, 1),
                };
                if kind != "BIT" {
                    return Err(ProgramError::unsupported(
                        format!("line {line_no}: only BIT regions are supported, not {kind}"),
                        None,
                    ));
                }
                if regions.iter().any(|(r, _)| r == name) || len == 0 || len > 1 << 15 {
                    return Err(err(
                        line_no,
                        format!("region `{name}` is declared twice or has a bad size"),
                    ));
                }
                regions.push((name.to_owned(), len));
            }
            "MEASURE" => {
                let q = qubit(
                    words
                        .next()
                        .ok_or_else(|| err(line_no, "MEASURE needs a qubit".into()))?,
                )?;
                if let Some(target) = words.next() {
                    let (region, idx) = target
                        .strip_suffix(']')
                        .and_then(|t| t.split_once('['))
                        .map_or((target, Some(0)), |(r, i)| (r, i.parse::<usize>().ok()));
                    let mut offset = 0;
                    let mut found = None;
                    for (r, len) in &regions {
                        if r == region {
                            found = idx.filter(|i| i < len).map(|i| offset + i);
                        }
                        offset += len;
                    }
                    let clbit = found
                        .ok_or_else(|| err(line_no, format!("`{target}` is not a declared bit")))?;
                    ops.push(Op::Measure { qubit: q, clbit });
                }
            }
            "RESET" => match words.next() {
                Some(w) => ops.push(Op::Reset { qubit: qubit(w)? }),
                None => {
                    return Err(ProgramError::unsupported(
                        format!(
                            "line {line_no}: RESET of every qubit is not supported; name the qubit"
                        ),
                        None,
                    ));
                }
            },
            _ => ops.extend(gate_line(line, line_no, &mut qubit)?),
        }
    }
    let mut c = Circuit::default();
    c.add_qreg("q", max_qubit.map_or(1, |m| m + 1));
    for (name, len) in &regions {
        c.add_creg(name, *len);
    }
    c.ops = ops;
    Ok(c)
}

fn gate_line(
    line: &str,
    line_no: usize,
    qubit: &mut dyn FnMut(&str) -> Result<usize, ProgramError>,
) -> Result<Vec<Op>, ProgramError> {
    use GateKind::*;
    let mut rest = line;
    let (mut controls, mut dagger) = (0usize, false);
    loop {
        if let Some(r) = rest.strip_prefix("CONTROLLED ") {
            controls += 1;
            rest = r.trim_start();
        } else if let Some(r) = rest.strip_prefix("DAGGER ") {
            dagger = !dagger;
            rest = r.trim_start();
        } else {
            break;
        }
    }
    let (name, params, after) = match rest.find('(') {
        Some(open)
            if rest[..open]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            let close = rest
                .rfind(')')
                .ok_or_else(|| err(line_no, "missing `)`".into()))?;
            let params = rest[open + 1..close]
                .split(',')
                .map(|p| expr(p.trim(), line_no))
                .collect::<Result<Vec<_>, _>>()?;
            (&rest[..open], params, &rest[close + 1..])
        }
        _ => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], Vec::new(), &rest[end..])
        }
    };
    let qubits = after
        .split_whitespace()
        .map(&mut *qubit)
        .collect::<Result<Vec<_>, _>>()?;
    let (kind, extra_controls, arity, nparams) = match name {
        "I" => (Id, 0, 1, 0),
        "X" => (X, 0, 1, 0),
        "Y" => (Y, 0, 1, 0),
        "Z" => (Z, 0, 1, 0),
        "H" => (H, 0, 1, 0),
        "S" => (S, 0, 1, 0),
        "T" => (T, 0, 1, 0),
        "RX" => (Rx, 0, 1, 1),
        "RY" => (Ry, 0, 1, 1),
        "RZ" => (Rz, 0, 1, 1),
        "PHASE" => (P, 0, 1, 1),
        "CNOT" => (X, 1, 1, 0),
        "CZ" => (Z, 1, 1, 0),
        "CCNOT" => (X, 2, 1, 0),
        "CPHASE" => (P, 1, 1, 1),
        "SWAP" => (Swap, 0, 2, 0),
        "CSWAP" => (Swap, 1, 2, 0),
        other => {
            return Err(ProgramError::unsupported(
                format!("line {line_no}: gate `{other}` is not supported"),
                None,
            ));
        }
    };
    let controls = controls + extra_controls;
    if params.len() != nparams || qubits.len() != controls + arity {
        return Err(err(
            line_no,
            format!(
                "`{name}` takes {nparams} parameter(s) and {} qubit(s)",
                controls + arity
            ),
        ));
    }
    if (1..qubits.len()).any(|i| qubits[..i].contains(&qubits[i])) {
        return Err(err(line_no, "a qubit appears twice in one gate".into()));
    }
    let (kind, params) = match (kind, dagger) {
        (_, false) => (kind, params),
        (S, true) => (Sdg, params),
        (T, true) => (Tdg, params),
        (Rx | Ry | Rz | P, true) => (kind, vec![-params[0]]),
        (X | Y | Z | H | Id | Swap, true) => (kind, params),
        _ => {
            return Err(ProgramError::unsupported(
                format!("line {line_no}: DAGGER of `{name}`"),
                None,
            ));
        }
    };
    Ok(vec![Op::Gate(Gate {
        kind,
        params,
        controls: qubits[..controls].to_vec(),
        targets: qubits[controls..].to_vec(),
    })])
}
