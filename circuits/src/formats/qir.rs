//! QIR base-profile text (`qir.v1`, LLVM IR as text): writing a circuit for any QIR target,
//! and reading the base-profile programs that Q#, Qiskit and azq produce. Typed pointers
//! (`%Qubit*`), `null` for index 0, and opaque `ptr` are all read.

use std::fmt::Write;

use crate::circuit::{Circuit, Gate, GateKind, Op};
use crate::decompose::{euler, single_control};
use crate::error::ProgramError;

/// How results are recorded for output, in program order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The next `n` records form a list.
    Array(usize),
    /// The next `n` records (or lists) form a tuple.
    Tuple(usize),
    /// One measurement result (a classical bit index).
    Result(usize),
}

/// A QIR program: its circuit and how its results are recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct QirProgram {
    pub circuit: Circuit,
    pub records: Vec<Record>,
}

fn unsupported(what: &str) -> ProgramError {
    ProgramError::unsupported(
        format!("{what} cannot be written as base-profile QIR (qir.v1)"),
        None,
    )
}

fn q(i: usize) -> String {
    format!("%Qubit* inttoptr (i64 {i} to %Qubit*)")
}

fn r(i: usize) -> String {
    format!("%Result* inttoptr (i64 {i} to %Result*)")
}

fn write_gate(
    g: &Gate,
    out: &mut String,
    used: &mut Vec<&'static str>,
) -> Result<(), ProgramError> {
    use GateKind::*;
    let name: &'static str = match (g.kind, g.controls.len()) {
        (Id, _) => return Ok(()),
        (X, 0) => "x",
        (X, 1) => "cnot",
        (X, 2) => "ccx",
        (Y, 0) => "y",
        (Y, 1) => "cy",
        (Z, 0) => "z",
        (Z, 1) => "cz",
        (H, 0) => "h",
        (S, 0) => "s",
        (Sdg, 0) => "s__adj",
        (T, 0) => "t",
        (Tdg, 0) => "t__adj",
        (Sx, 0) => "sx",
        (Rx, 0) => "rx",
        (Ry, 0) => "ry",
        (Rz, 0) => "rz",
        (Swap, 0) => "swap",
        (Rxx, 0) => "rxx",
        (Ryy, 0) => "ryy",
        (Rzz, 0) => "rzz",
        (P, 0) => {
            return write_gate(
                &Gate {
                    kind: Rz,
                    ..g.clone()
                },
                out,
                used,
            );
        }
        (U, 0) => return euler(g).iter().try_for_each(|e| write_gate(e, out, used)),
        (Sxdg, 0) => {
            let t = g.targets.clone();
            let steps = [H, Sdg, H].map(|kind| Gate {
                kind,
                params: vec![],
                controls: vec![],
                targets: t.clone(),
            });
            return steps.iter().try_for_each(|e| write_gate(e, out, used));
        }
        (kind, 1) => {
            let steps =
                single_control(g).ok_or_else(|| unsupported(&format!("controlled `{kind}`")))?;
            return steps.iter().try_for_each(|e| write_gate(e, out, used));
        }
        (kind, n) => {
            // Several controls: rewritten exactly into one- and two-control gates.
            let m = crate::sim::matrix(kind, &g.params)
                .ok_or_else(|| unsupported(&format!("`{kind}` with {n} controls")))?;
            let steps = crate::decompose::multi_control(&m, &g.controls, g.targets[0]);
            return steps.iter().try_for_each(|e| write_gate(e, out, used));
        }
    };
    let suffix = if name.ends_with("__adj") {
        ""
    } else {
        "__body"
    };
    let mut args: Vec<String> = g.params.iter().map(|p| format!("double {p:?}")).collect();
    args.extend(g.controls.iter().chain(&g.targets).map(|i| q(*i)));
    let _ = writeln!(
        out,
        "  call void @__quantum__qis__{name}{suffix}({})",
        args.join(", ")
    );
    if !used.contains(&name) {
        used.push(name);
    }
    Ok(())
}

fn signature(name: &str) -> String {
    let (params, qubits) = match name {
        "rx" | "ry" | "rz" => (1, 1),
        "rxx" | "ryy" | "rzz" => (1, 2),
        "cnot" | "cy" | "cz" | "swap" => (0, 2),
        "ccx" => (0, 3),
        _ => (0, 1),
    };
    let suffix = if name.ends_with("__adj") {
        ""
    } else {
        "__body"
    };
    let mut args = vec!["double"; params];
    args.extend(vec!["%Qubit*"; qubits]);
    format!(
        "declare void @__quantum__qis__{name}{suffix}({})",
        args.join(", ")
    )
}

/// Writes base-profile QIR; each classical register is recorded as a list, several
/// registers as a tuple of lists.
pub fn write(c: &Circuit) -> Result<String, ProgramError> {
    let mut body = String::new();
    let mut used = Vec::new();
    let mut measured_some = false;
    for op in &c.ops {
        match op {
            Op::Gate(g) => {
                if measured_some {
                    return Err(unsupported("a gate after a measurement"));
                }
                write_gate(g, &mut body, &mut used)?;
            }
            Op::Measure { qubit, clbit } => {
                measured_some = true;
                let _ = writeln!(
                    body,
                    "  call void @__quantum__qis__mz__body({}, {})",
                    q(*qubit),
                    r(*clbit)
                );
            }
            Op::Barrier { .. } => {}
            Op::Reset { .. } | Op::If { .. } => return Err(unsupported("reset or a condition")),
        }
    }
    let many = c.cregs.len() > 1;
    if many {
        let _ = writeln!(
            body,
            "  call void @__quantum__rt__tuple_record_output(i64 {}, i8* null)",
            c.cregs.len()
        );
    }
    for reg in &c.cregs {
        let _ = writeln!(
            body,
            "  call void @__quantum__rt__array_record_output(i64 {}, i8* null)",
            reg.len
        );
        for k in reg.offset..reg.offset + reg.len {
            let _ = writeln!(
                body,
                "  call void @__quantum__rt__result_record_output({}, i8* null)",
                r(k)
            );
        }
    }
    let mut out = String::from(
        "; ModuleID = 'azq'\nsource_filename = \"azq\"\n\n%Qubit = type opaque\n%Result = type opaque\n\n\
         define void @ENTRYPOINT__main() #0 {\nentry:\n  call void @__quantum__rt__initialize(i8* null)\n",
    );
    out.push_str(&body);
    out.push_str("  ret void\n}\n\ndeclare void @__quantum__rt__initialize(i8*)\n");
    for name in used {
        out.push_str(&signature(name));
        out.push('\n');
    }
    out.push_str(
        "declare void @__quantum__qis__mz__body(%Qubit*, %Result* writeonly) #1\n\
         declare void @__quantum__rt__tuple_record_output(i64, i8*)\n\
         declare void @__quantum__rt__array_record_output(i64, i8*)\n\
         declare void @__quantum__rt__result_record_output(%Result*, i8*)\n\n",
    );
    let _ = write!(
        out,
        "attributes #0 = {{ \"entry_point\" \"output_labeling_schema\" \"qir_profiles\"=\"base_profile\" \
         \"required_num_qubits\"=\"{}\" \"required_num_results\"=\"{}\" }}\nattributes #1 = {{ \"irreversible\" }}\n\n\
         !llvm.module.flags = !{{!0, !1, !2, !3}}\n\n!0 = !{{i32 1, !\"qir_major_version\", i32 1}}\n\
         !1 = !{{i32 7, !\"qir_minor_version\", i32 0}}\n!2 = !{{i32 1, !\"dynamic_qubit_management\", i1 false}}\n\
         !3 = !{{i32 1, !\"dynamic_result_management\", i1 false}}\n",
        c.num_qubits(),
        c.num_clbits()
    );
    Ok(out)
}

fn err(line: usize, message: String) -> ProgramError {
    ProgramError::invalid(format!("line {line}: {message}"), None)
}

/// Splits call arguments at top-level commas.
fn split_args(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

/// The index a qubit or result operand names: `inttoptr (i64 N to …)`, or `null` for 0.
fn operand_index(arg: &str) -> Option<usize> {
    if arg.ends_with("null") {
        return Some(0);
    }
    let start = arg.find("i64 ")? + 4;
    let rest = &arg[start..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok().filter(|i| *i < 1 << 15)
}

/// Reads base-profile QIR text.
pub fn read(text: &str) -> Result<QirProgram, ProgramError> {
    if text.as_bytes().starts_with(b"BC\xC0\xDE") {
        return Err(ProgramError::unsupported(
            "QIR bitcode is not supported; submit QIR as LLVM text (.ll)",
            None,
        ));
    }
    let mut in_entry = false;
    let mut seen_entry = false;
    let mut ops = Vec::new();
    let mut records = Vec::new();
    let (mut nq, mut nr) = (0usize, 0usize);
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.split(';').next().unwrap_or("").trim();
        if line.starts_with("define ") {
            if seen_entry {
                continue;
            }
            in_entry = true;
            seen_entry = true;
            continue;
        }
        if !in_entry {
            continue;
        }
        if line == "}" {
            in_entry = false;
            continue;
        }
        if line.is_empty() || line.ends_with(':') || line.starts_with("ret ") || line == "ret void"
        {
            continue;
        }
        if line.starts_with("br ")
            || line.contains(" phi ")
            || line.contains("read_result")
            || line.contains(" icmp ")
        {
            return Err(ProgramError::unsupported(
                format!(
                    "line {line_no}: branching (the adaptive profile) is not supported yet; use base-profile QIR"
                ),
                None,
            ));
        }
        let Some(at) = line.find('@') else {
            return Err(err(line_no, format!("unexpected instruction `{line}`")));
        };
        let call = &line[at + 1..];
        let open = call
            .find('(')
            .ok_or_else(|| err(line_no, "a call without arguments".into()))?;
        let close = call
            .rfind(')')
            .filter(|&close| close > open)
            .ok_or_else(|| err(line_no, "a call without `)` after its arguments".into()))?;
        let name = &call[..open];
        let args = split_args(&call[open + 1..close]);
        let qubit = |a: &str| -> Result<usize, ProgramError> {
            operand_index(a)
                .ok_or_else(|| err(line_no, format!("`{a}` is not a constant qubit or result")))
        };
        let intrinsic = name
            .strip_prefix("__quantum__qis__")
            .map(|n| n.strip_suffix("__body").unwrap_or(n));
        match (intrinsic, name) {
            (None, "__quantum__rt__initialize") => {}
            (None, "__quantum__rt__result_record_output") => {
                let i = qubit(args.first().copied().unwrap_or(""))?;
                nr = nr.max(i + 1);
                records.push(Record::Result(i));
            }
            (None, "__quantum__rt__array_record_output" | "__quantum__rt__tuple_record_output") => {
                let len = args
                    .first()
                    .and_then(|a| a.strip_prefix("i64 "))
                    .and_then(|a| a.trim().parse::<usize>().ok())
                    .ok_or_else(|| err(line_no, "a record needs its length".into()))?;
                records.push(if name.contains("array") {
                    Record::Array(len)
                } else {
                    Record::Tuple(len)
                });
            }
            (None, other) => {
                return Err(ProgramError::unsupported(
                    format!("line {line_no}: call to `@{other}` is not supported"),
                    None,
                ));
            }
            (Some(gate), _) => {
                let (params, operands): (Vec<&str>, Vec<&str>) =
                    args.iter().partition(|a| a.starts_with("double"));
                let params = params
                    .iter()
                    .map(|p| {
                        p.trim_start_matches("double")
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                    })
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| err(line_no, "angles must be constant numbers".into()))?;
                let idx = operands
                    .iter()
                    .map(|a| qubit(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let op = intrinsic_op(gate, params, &idx).ok_or_else(|| {
                    ProgramError::unsupported(
                        format!("line {line_no}: intrinsic `{gate}` with {} operand(s) is not supported", idx.len()),
                        None,
                    )
                })?;
                match &op {
                    Op::Measure { qubit, clbit } => {
                        nq = nq.max(qubit + 1);
                        nr = nr.max(clbit + 1);
                    }
                    Op::Gate(g) => {
                        nq = nq.max(
                            g.controls
                                .iter()
                                .chain(&g.targets)
                                .max()
                                .map_or(0, |m| m + 1),
                        )
                    }
                    Op::Reset { qubit } => nq = nq.max(qubit + 1),
                    _ => {}
                }
                if let Op::Gate(g) = &op {
                    let all: Vec<usize> = g.controls.iter().chain(&g.targets).copied().collect();
                    if (1..all.len()).any(|i| all[..i].contains(&all[i])) {
                        return Err(err(line_no, "a qubit appears twice in one gate".into()));
                    }
                }
                let reset_after = gate == "mresetz";
                let measured = if let Op::Measure { qubit, .. } = &op {
                    Some(*qubit)
                } else {
                    None
                };
                ops.push(op);
                if let (true, Some(qubit)) = (reset_after, measured) {
                    ops.push(Op::Reset { qubit });
                }
            }
        }
    }
    if !seen_entry {
        return Err(ProgramError::invalid(
            "no entry point: QIR text needs a `define` of the entry function",
            None,
        ));
    }
    let mut circuit = Circuit::default();
    circuit.add_qreg("q", nq.max(1));
    if nr > 0 {
        circuit.add_creg("r", nr);
    }
    circuit.ops = ops;
    Ok(QirProgram { circuit, records })
}

fn intrinsic_op(name: &str, p: Vec<f64>, q: &[usize]) -> Option<Op> {
    use GateKind::*;
    let gate = |kind, controls: usize, arity: usize, nparams: usize| -> Option<Op> {
        (q.len() == controls + arity && p.len() == nparams).then(|| {
            Op::Gate(Gate {
                kind,
                params: p.clone(),
                controls: q[..controls].to_vec(),
                targets: q[controls..].to_vec(),
            })
        })
    };
    match name {
        "h" => gate(H, 0, 1, 0),
        "x" => gate(X, 0, 1, 0),
        "y" => gate(Y, 0, 1, 0),
        "z" => gate(Z, 0, 1, 0),
        "s" => gate(S, 0, 1, 0),
        "s__adj" => gate(Sdg, 0, 1, 0),
        "t" => gate(T, 0, 1, 0),
        "t__adj" => gate(Tdg, 0, 1, 0),
        "sx" => gate(Sx, 0, 1, 0),
        "rx" => gate(Rx, 0, 1, 1),
        "ry" => gate(Ry, 0, 1, 1),
        "rz" => gate(Rz, 0, 1, 1),
        "rxx" => gate(Rxx, 0, 2, 1),
        "ryy" => gate(Ryy, 0, 2, 1),
        "rzz" => gate(Rzz, 0, 2, 1),
        "cnot" | "cx" => gate(X, 1, 1, 0),
        "cy" => gate(Y, 1, 1, 0),
        "cz" => gate(Z, 1, 1, 0),
        "ccx" => gate(X, 2, 1, 0),
        "swap" => gate(Swap, 0, 2, 0),
        "reset" if q.len() == 1 => Some(Op::Reset { qubit: q[0] }),
        "mz" | "m" | "mresetz" if q.len() == 2 => Some(Op::Measure {
            qubit: q[0],
            clbit: q[1],
        }),
        _ => None,
    }
}
