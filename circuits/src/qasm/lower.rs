//! Lowering: the syntax tree becomes a circuit. Registers are flattened, gate calls are
//! checked (names, arities, distinct qubits, sizes), broadcast over registers, and user
//! gates are expanded with their parameters evaluated.

use std::collections::HashMap;

use super::ast::*;
use super::{parse::parse, qelib1};
use crate::circuit::{Circuit, Gate, Op};
use crate::error::ProgramError;

/// The most qubits (or bits) a program may declare. The simulator has a lower cap.
pub const MAX_REGISTER_BITS: u64 = 1 << 16;
/// The most operations a program may expand to.
pub const MAX_OPS: usize = 5_000_000;

enum GateEntry {
    /// `U` and `CX`, and every qelib1 gate the model has directly.
    Library {
        params: usize,
        qubits: usize,
    },
    Defined(GateDef),
    Opaque {
        params: usize,
        qubits: usize,
    },
}

struct Lowerer {
    gates: HashMap<String, GateEntry>,
    qregs: HashMap<String, (usize, usize)>,
    cregs: HashMap<String, (usize, usize)>,
    circuit: Circuit,
    included: bool,
}

fn invalid(message: String, span: &Span) -> ProgramError {
    ProgramError::invalid(message, Some(span.clone()))
}

/// Parses and lowers an OpenQASM 2 program.
pub fn load(src: &str) -> Result<Circuit, ProgramError> {
    let program = parse(src)?;
    let mut l = Lowerer {
        gates: HashMap::new(),
        qregs: HashMap::new(),
        cregs: HashMap::new(),
        circuit: Circuit::default(),
        included: false,
    };
    l.gates.insert(
        "U".into(),
        GateEntry::Library {
            params: 3,
            qubits: 1,
        },
    );
    l.gates.insert(
        "CX".into(),
        GateEntry::Library {
            params: 0,
            qubits: 2,
        },
    );
    for stmt in &program.stmts {
        l.stmt(stmt).map_err(|e| e.locate(src))?;
    }
    Ok(l.circuit)
}

impl Lowerer {
    fn include_qelib1(&mut self, span: &Span) -> Result<(), ProgramError> {
        if self.included {
            return Ok(());
        }
        self.included = true;
        for &(name, params, qubits) in qelib1::SIGNATURES {
            if self.gates.contains_key(name) {
                return Err(invalid(
                    format!(
                        "gate `{name}` is defined before `include \"qelib1.inc\"`; include it first"
                    ),
                    span,
                ));
            }
            self.gates
                .insert(name.into(), GateEntry::Library { params, qubits });
        }
        let defined = parse(&format!("OPENQASM 2.0;{}", qelib1::DEFINED))
            .expect("the built-in library parses");
        for stmt in defined.stmts {
            if let Stmt::Gate(def) = stmt {
                self.gates
                    .insert(def.name.name.clone(), GateEntry::Defined(def));
            }
        }
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<(), ProgramError> {
        match stmt {
            Stmt::Include { path, span } => match path.as_str() {
                "qelib1.inc" => self.include_qelib1(span),
                other => Err(ProgramError::unsupported(
                    format!(
                        "cannot include `{other}`: only \"qelib1.inc\" is built in; paste the file's gates into the program"
                    ),
                    Some(span.clone()),
                )),
            },
            Stmt::QReg { name, size, span } | Stmt::CReg { name, size, span } => {
                let quantum = matches!(stmt, Stmt::QReg { .. });
                if *size == 0 {
                    return Err(invalid(
                        format!("register `{}` must have at least one bit", name.name),
                        span,
                    ));
                }
                let used = (self.circuit.num_qubits() + self.circuit.num_clbits()) as u64;
                if used + size > MAX_REGISTER_BITS {
                    return Err(ProgramError::too_large(format!(
                        "register `{}` of {size} bits takes the program past {MAX_REGISTER_BITS} bits",
                        name.name
                    ))
                    .at(span));
                }
                if self.qregs.contains_key(&name.name) || self.cregs.contains_key(&name.name) {
                    return Err(invalid(
                        format!("register `{}` is declared twice", name.name),
                        &name.span,
                    ));
                }
                let size = *size as usize;
                if quantum {
                    let offset = self.circuit.add_qreg(&name.name, size);
                    self.qregs.insert(name.name.clone(), (offset, size));
                } else {
                    let offset = self.circuit.add_creg(&name.name, size);
                    self.cregs.insert(name.name.clone(), (offset, size));
                }
                Ok(())
            }
            Stmt::Gate(def) => self.define(def),
            Stmt::Qop(op) => {
                let ops = self.qop(op)?;
                self.push(ops)
            }
            Stmt::If {
                creg,
                value,
                op,
                span,
            } => {
                let index = self
                    .circuit
                    .cregs
                    .iter()
                    .position(|r| r.name == creg.name)
                    .ok_or_else(|| {
                        invalid(
                            format!("`{}` is not a classical register", creg.name),
                            &creg.span,
                        )
                    })?;
                let len = self.circuit.cregs[index].len;
                if len < 64 && *value >= 1u64 << len {
                    return Err(invalid(
                        format!("`{}` has {len} bits, so it never equals {value}", creg.name),
                        span,
                    ));
                }
                let ops = self.qop(op)?;
                self.push(
                    ops.into_iter()
                        .map(|op| Op::If {
                            creg: index,
                            value: *value,
                            op: Box::new(op),
                        })
                        .collect(),
                )
            }
            Stmt::Barrier { args, .. } => {
                let mut qubits = Vec::new();
                for a in args {
                    qubits.extend(self.qubits(a)?);
                }
                self.push(vec![Op::Barrier { qubits }])
            }
        }
    }

    fn push(&mut self, ops: Vec<Op>) -> Result<(), ProgramError> {
        if self.circuit.ops.len() + ops.len() > MAX_OPS {
            return Err(ProgramError::too_large(format!(
                "the program expands to more than {MAX_OPS} operations"
            )));
        }
        self.circuit.ops.extend(ops);
        Ok(())
    }

    fn define(&mut self, def: &GateDef) -> Result<(), ProgramError> {
        let name = &def.name;
        if self.gates.contains_key(&name.name) {
            let by = if qelib1::SIGNATURES.iter().any(|s| s.0 == name.name) {
                " (by qelib1.inc)"
            } else {
                ""
            };
            return Err(invalid(
                format!("gate `{}` is already defined{by}", name.name),
                &name.span,
            ));
        }
        for (i, p) in def.params.iter().enumerate() {
            if def.params[..i].iter().any(|o| o.name == p.name) {
                return Err(invalid(
                    format!("parameter `{}` is named twice", p.name),
                    &p.span,
                ));
            }
        }
        for (i, q) in def.qubits.iter().enumerate() {
            if def.qubits[..i].iter().any(|o| o.name == q.name) {
                return Err(invalid(
                    format!("qubit `{}` is named twice", q.name),
                    &q.span,
                ));
            }
        }
        let Some(body) = &def.body else {
            self.gates.insert(
                name.name.clone(),
                GateEntry::Opaque {
                    params: def.params.len(),
                    qubits: def.qubits.len(),
                },
            );
            return Ok(());
        };
        for op in body {
            let args = match op {
                BodyOp::Gate(call) => {
                    self.check_call(call)?;
                    for e in &call.params {
                        check_vars(e, &def.params)?;
                    }
                    &call.args
                }
                BodyOp::Barrier(args) => args,
            };
            for a in args {
                if a.index.is_some() {
                    return Err(invalid(
                        "inside a gate, qubits are named without an index".into(),
                        &a.span,
                    ));
                }
                if !def.qubits.iter().any(|q| q.name == a.reg.name) {
                    return Err(invalid(
                        format!("`{}` is not one of this gate's qubits", a.reg.name),
                        &a.reg.span,
                    ));
                }
            }
        }
        self.gates
            .insert(name.name.clone(), GateEntry::Defined(def.clone()));
        Ok(())
    }

    /// Checks a call's name and arity; returns (params, qubits) the gate takes.
    fn check_call(&self, call: &Call) -> Result<(usize, usize), ProgramError> {
        let (params, qubits) = match self.gates.get(&call.name.name) {
            Some(GateEntry::Library { params, qubits } | GateEntry::Opaque { params, qubits }) => {
                (*params, *qubits)
            }
            Some(GateEntry::Defined(d)) => (d.params.len(), d.qubits.len()),
            None => {
                let hint =
                    if !self.included && qelib1::SIGNATURES.iter().any(|s| s.0 == call.name.name) {
                        "; add `include \"qelib1.inc\";` after the OPENQASM line".to_owned()
                    } else {
                        self.nearest(&call.name.name)
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default()
                    };
                return Err(invalid(
                    format!("unknown gate `{}`{hint}", call.name.name),
                    &call.name.span,
                ));
            }
        };
        if call.params.len() != params {
            return Err(invalid(
                format!(
                    "gate `{}` takes {params} parameter(s), not {}",
                    call.name.name,
                    call.params.len()
                ),
                &call.span,
            ));
        }
        if call.args.len() != qubits {
            return Err(invalid(
                format!(
                    "gate `{}` acts on {qubits} qubit(s), not {}",
                    call.name.name,
                    call.args.len()
                ),
                &call.span,
            ));
        }
        Ok((params, qubits))
    }

    fn nearest(&self, name: &str) -> Option<String> {
        let mut best: Option<(usize, &str)> = None;
        for candidate in self.gates.keys() {
            let d = edit_distance(name, candidate);
            if d <= 2 && best.is_none_or(|(b, _)| d < b) {
                best = Some((d, candidate));
            }
        }
        best.map(|(_, n)| n.to_owned())
    }

    fn qubits(&self, a: &Arg) -> Result<Vec<usize>, ProgramError> {
        resolve(&self.qregs, &self.cregs, a, "quantum")
    }

    fn clbits(&self, a: &Arg) -> Result<Vec<usize>, ProgramError> {
        resolve(&self.cregs, &self.qregs, a, "classical")
    }

    fn qop(&self, op: &Qop) -> Result<Vec<Op>, ProgramError> {
        match op {
            Qop::Measure { qubit, clbit, span } => {
                let qs = self.qubits(qubit)?;
                let cs = self.clbits(clbit)?;
                if qs.len() != cs.len() {
                    return Err(invalid(
                        format!(
                            "measure maps {} qubit(s) onto {} bit(s); sizes must match",
                            qs.len(),
                            cs.len()
                        ),
                        span,
                    ));
                }
                Ok(qs
                    .into_iter()
                    .zip(cs)
                    .map(|(qubit, clbit)| Op::Measure { qubit, clbit })
                    .collect())
            }
            Qop::Reset { qubit, .. } => Ok(self
                .qubits(qubit)?
                .into_iter()
                .map(|qubit| Op::Reset { qubit })
                .collect()),
            Qop::Gate(call) => {
                self.check_call(call)?;
                let params = call
                    .params
                    .iter()
                    .map(|e| eval(e, &HashMap::new()))
                    .collect::<Result<Vec<_>, _>>()?;
                let lists = call
                    .args
                    .iter()
                    .map(|a| self.qubits(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let width = call
                    .args
                    .iter()
                    .zip(&lists)
                    .filter(|(a, _)| a.index.is_none())
                    .map(|(_, l)| l.len())
                    .max()
                    .unwrap_or(1);
                let mut ops = Vec::new();
                for (l, a) in lists.iter().zip(&call.args) {
                    if a.index.is_none() && l.len() != width {
                        return Err(invalid(
                            format!(
                                "registers in one call must have the same size ({} has {}, another has {width})",
                                a.reg.name,
                                l.len()
                            ),
                            &a.span,
                        ));
                    }
                }
                for k in 0..width {
                    let qs: Vec<usize> = lists
                        .iter()
                        .zip(&call.args)
                        .map(|(l, a)| if a.index.is_some() { l[0] } else { l[k] })
                        .collect();
                    for (i, q) in qs.iter().enumerate() {
                        if qs[..i].contains(q) {
                            return Err(invalid(
                                format!("gate `{}` is given the same qubit twice", call.name.name),
                                &call.span,
                            ));
                        }
                    }
                    self.expand(&call.name.name, &params, &qs, &mut ops, 0)?;
                    if ops.len() > MAX_OPS {
                        return Err(ProgramError::too_large(format!(
                            "the program expands to more than {MAX_OPS} operations"
                        )));
                    }
                }
                Ok(ops)
            }
        }
    }

    fn expand(
        &self,
        name: &str,
        params: &[f64],
        qubits: &[usize],
        out: &mut Vec<Op>,
        depth: usize,
    ) -> Result<(), ProgramError> {
        if out.len() > MAX_OPS || depth > 1000 {
            return Err(ProgramError::too_large(format!(
                "the program expands to more than {MAX_OPS} operations"
            )));
        }
        match self.gates.get(name) {
            Some(GateEntry::Library { .. }) => {
                let gates = qelib1::lower(name, params, qubits).expect("every library gate lowers");
                out.extend(gates.into_iter().map(Op::Gate));
                Ok(())
            }
            Some(GateEntry::Opaque { .. }) => Err(ProgramError::unsupported(
                format!(
                    "opaque gate `{name}` has no definition, so it cannot be run or translated"
                ),
                None,
            )),
            Some(GateEntry::Defined(def)) => {
                let env: HashMap<&str, f64> = def
                    .params
                    .iter()
                    .map(|p| p.name.as_str())
                    .zip(params.iter().copied())
                    .collect();
                let map: HashMap<&str, usize> = def
                    .qubits
                    .iter()
                    .map(|q| q.name.as_str())
                    .zip(qubits.iter().copied())
                    .collect();
                for op in def.body.iter().flatten() {
                    if let BodyOp::Gate(call) = op {
                        let p = call
                            .params
                            .iter()
                            .map(|e| eval(e, &env))
                            .collect::<Result<Vec<_>, _>>()?;
                        let q: Vec<usize> =
                            call.args.iter().map(|a| map[a.reg.name.as_str()]).collect();
                        self.expand(&call.name.name, &p, &q, out, depth + 1)?;
                    }
                }
                Ok(())
            }
            None => Err(ProgramError::invalid(
                format!("unknown gate `{name}`"),
                None,
            )),
        }
    }
}

fn resolve(
    regs: &HashMap<String, (usize, usize)>,
    other: &HashMap<String, (usize, usize)>,
    a: &Arg,
    kind: &str,
) -> Result<Vec<usize>, ProgramError> {
    let Some(&(offset, len)) = regs.get(&a.reg.name) else {
        let why = if other.contains_key(&a.reg.name) {
            format!("`{}` is not a {kind} register", a.reg.name)
        } else {
            format!("register `{}` is not declared", a.reg.name)
        };
        return Err(invalid(why, &a.reg.span));
    };
    match a.index {
        None => Ok((offset..offset + len).collect()),
        Some(i) if i < len as u64 => Ok(vec![offset + i as usize]),
        Some(i) => Err(invalid(
            format!(
                "index {i} is out of range: `{}` has {len} bit(s)",
                a.reg.name
            ),
            &a.span,
        )),
    }
}

fn check_vars(e: &Expr, params: &[Ident]) -> Result<(), ProgramError> {
    match e {
        Expr::Var(id) if !params.iter().any(|p| p.name == id.name) => Err(invalid(
            format!("`{}` is not a parameter of this gate", id.name),
            &id.span,
        )),
        Expr::Neg(x) | Expr::Call(_, x) => check_vars(x, params),
        Expr::Bin(_, a, b) => check_vars(a, params).and(check_vars(b, params)),
        _ => Ok(()),
    }
}

fn eval(e: &Expr, env: &HashMap<&str, f64>) -> Result<f64, ProgramError> {
    let v = match e {
        Expr::Num(v) => *v,
        Expr::Pi => std::f64::consts::PI,
        Expr::Var(id) => *env.get(id.name.as_str()).ok_or_else(|| {
            invalid(
                format!(
                    "`{}` is not defined here; only gate definitions have parameters",
                    id.name
                ),
                &id.span,
            )
        })?,
        Expr::Neg(x) => -eval(x, env)?,
        Expr::Bin(op, a, b) => {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Pow => a.powf(b),
            }
        }
        Expr::Call(f, x) => {
            let x = eval(x, env)?;
            match f {
                Func::Sin => x.sin(),
                Func::Cos => x.cos(),
                Func::Tan => x.tan(),
                Func::Exp => x.exp(),
                Func::Ln => x.ln(),
                Func::Sqrt => x.sqrt(),
            }
        }
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ProgramError::invalid(
            "a parameter evaluates to infinity or NaN (division by zero, ln of 0, …)",
            None,
        ))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

impl ProgramError {
    fn at(mut self, span: &Span) -> Self {
        self.span = Some(span.clone());
        self
    }
}

/// A gate in the model form, for callers that build circuits by hand.
pub fn library_gate(name: &str, params: &[f64], qubits: &[usize]) -> Option<Vec<Gate>> {
    qelib1::lower(name, params, qubits)
}
