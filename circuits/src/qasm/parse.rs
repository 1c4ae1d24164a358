//! The OpenQASM 2.0 parser: nom recognises tokens, a recursive descent builds the tree.
//! Every failure names what was expected and where; nothing here panics, and nesting is
//! bounded so hostile input cannot exhaust the stack.

use nom::{
    IResult, Parser,
    bytes::complete::{take_while, take_while1},
    character::complete::satisfy,
    combinator::recognize,
    number::complete::recognize_float,
};

use super::ast::*;
use crate::error::ProgramError;

/// Expressions nested deeper than this are refused.
const MAX_DEPTH: usize = 64;

type Res<'a, T> = Result<(&'a str, T), ProgramError>;

struct P<'a> {
    src: &'a str,
}

fn ident_token(i: &str) -> IResult<&str, &str> {
    recognize((
        satisfy(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

fn uint_token(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_digit()).parse(i)
}

/// Parses a whole program.
pub fn parse(src: &str) -> Result<Program, ProgramError> {
    P { src }.program().map_err(|e| e.locate(src))
}

impl<'a> P<'a> {
    fn at(&self, rest: &str) -> usize {
        self.src.len() - rest.len()
    }

    fn err<T>(&self, rest: &str, expected: &str) -> Res<'a, T> {
        Err(ProgramError::syntax(expected, self.at(rest)))
    }

    /// Skips whitespace and comments.
    fn ws(&self, mut i: &'a str) -> Result<&'a str, ProgramError> {
        loop {
            let t = i.trim_start();
            if let Some(r) = t.strip_prefix("//") {
                i = r.find('\n').map_or("", |n| &r[n..]);
            } else if let Some(r) = t.strip_prefix("/*") {
                match r.find("*/") {
                    Some(n) => i = &r[n + 2..],
                    None => {
                        return Err(ProgramError::syntax(
                            "`*/` to close the comment",
                            self.src.len(),
                        ));
                    }
                }
            } else {
                return Ok(t);
            }
        }
    }

    fn tok(&self, i: &'a str, t: &str, expected: &str) -> Res<'a, ()> {
        let i = self.ws(i)?;
        match i.strip_prefix(t) {
            Some(r) => Ok((r, ())),
            None => self.err(i, expected),
        }
    }

    fn peek(&self, i: &'a str, t: &str) -> Result<bool, ProgramError> {
        Ok(self.ws(i)?.starts_with(t))
    }

    fn keyword(&self, i: &'a str, word: &str) -> Result<Option<&'a str>, ProgramError> {
        let i = self.ws(i)?;
        Ok(match ident_token(i) {
            Ok((rest, w)) if w == word => Some(rest),
            _ => None,
        })
    }

    fn ident(&self, i: &'a str, expected: &str) -> Res<'a, Ident> {
        let i = self.ws(i)?;
        match ident_token(i) {
            Ok((rest, name)) => Ok((
                rest,
                Ident {
                    name: name.to_owned(),
                    span: self.at(i)..self.at(rest),
                },
            )),
            Err(_) => self.err(i, expected),
        }
    }

    fn uint(&self, i: &'a str, expected: &str) -> Res<'a, u64> {
        let i = self.ws(i)?;
        match uint_token(i) {
            Ok((rest, digits)) => match digits.parse::<u64>() {
                Ok(n) => Ok((rest, n)),
                Err(_) => Err(ProgramError::invalid(
                    format!("{digits} is too large"),
                    Some(self.at(i)..self.at(rest)),
                )),
            },
            Err(_) => self.err(i, expected),
        }
    }

    fn program(&self) -> Result<Program, ProgramError> {
        let mut i = self.src;
        i = self.keyword(i, "OPENQASM")?.ok_or_else(|| {
            ProgramError::syntax(
                "`OPENQASM 2.0;` at the start",
                self.at(self.ws(self.src).unwrap_or(self.src)),
            )
        })?;
        let v = self.ws(i)?;
        let (rest, version) = recognize_float::<&str, nom::error::Error<&str>>(v)
            .map_err(|_| ProgramError::syntax("a version number such as 2.0", self.at(v)))?;
        if !version.starts_with('2') {
            return Err(ProgramError::unsupported(
                format!("OpenQASM {version} is not supported; azq reads OpenQASM 2.0"),
                Some(self.at(v)..self.at(rest)),
            ));
        }
        (i, ()) = self.tok(rest, ";", "`;` after the version")?;
        let mut stmts = Vec::new();
        loop {
            let t = self.ws(i)?;
            if t.is_empty() {
                return Ok(Program { stmts });
            }
            let (rest, stmt) = self.statement(t)?;
            stmts.push(stmt);
            i = rest;
        }
    }

    fn statement(&self, i: &'a str) -> Res<'a, Stmt> {
        let start = self.at(i);
        if let Some(r) = self.keyword(i, "include")? {
            let r = self.ws(r)?;
            let Some(body) = r.strip_prefix('"') else {
                return self.err(r, "a quoted file name after `include`");
            };
            let Some(end) = body.find('"') else {
                return self.err(body, "a closing `\"`");
            };
            let (r, ()) = self.tok(&body[end + 1..], ";", "`;` after the include")?;
            return Ok((
                r,
                Stmt::Include {
                    path: body[..end].to_owned(),
                    span: start..self.at(r),
                },
            ));
        }
        for (word, quantum) in [("qreg", true), ("creg", false)] {
            if let Some(r) = self.keyword(i, word)? {
                let (r, name) = self.ident(r, "a register name")?;
                let (r, ()) = self.tok(r, "[", "`[` and the register size")?;
                let (r, size) = self.uint(r, "the register size (a whole number)")?;
                let (r, ()) = self.tok(r, "]", "`]`")?;
                let (r, ()) = self.tok(r, ";", "`;`")?;
                let span = start..self.at(r);
                return Ok((
                    r,
                    if quantum {
                        Stmt::QReg { name, size, span }
                    } else {
                        Stmt::CReg { name, size, span }
                    },
                ));
            }
        }
        for (word, opaque) in [("gate", false), ("opaque", true)] {
            if let Some(r) = self.keyword(i, word)? {
                return self.gate_def(r, start, opaque);
            }
        }
        if let Some(r) = self.keyword(i, "if")? {
            let (r, ()) = self.tok(r, "(", "`(` after `if`")?;
            let (r, creg) = self.ident(r, "a classical register name")?;
            let (r, ()) = self.tok(r, "==", "`==`")?;
            let (r, value) = self.uint(r, "a whole number to compare with")?;
            let (r, ()) = self.tok(r, ")", "`)`")?;
            let (r, op) = self.qop(self.ws(r)?)?;
            return Ok((
                r,
                Stmt::If {
                    creg,
                    value,
                    op,
                    span: start..self.at(r),
                },
            ));
        }
        if let Some(r) = self.keyword(i, "barrier")? {
            let (r, args) = self.args(r)?;
            let (r, ()) = self.tok(r, ";", "`;` after the barrier's qubits")?;
            return Ok((
                r,
                Stmt::Barrier {
                    args,
                    span: start..self.at(r),
                },
            ));
        }
        let (r, op) = self.qop(i)?;
        Ok((r, Stmt::Qop(op)))
    }

    fn gate_def(&self, r: &'a str, start: usize, opaque: bool) -> Res<'a, Stmt> {
        let (r, name) = self.ident(r, "a gate name")?;
        let (mut r, mut params) = (r, Vec::new());
        if self.peek(r, "(")? {
            (r, ()) = self.tok(r, "(", "`(`")?;
            if !self.peek(r, ")")? {
                (r, params) = self.idents(r, "a parameter name")?;
            }
            (r, ()) = self.tok(r, ")", "`)` after the parameters")?;
        }
        let (r, qubits) = self.idents(r, "a qubit name")?;
        if opaque {
            let (r, ()) = self.tok(r, ";", "`;` after an opaque declaration")?;
            return Ok((
                r,
                Stmt::Gate(GateDef {
                    name,
                    params,
                    qubits,
                    body: None,
                    span: start..self.at(r),
                }),
            ));
        }
        let (mut r, ()) = self.tok(r, "{", "`{` to start the gate body")?;
        let mut body = Vec::new();
        loop {
            if self.peek(r, "}")? {
                (r, ()) = self.tok(r, "}", "`}`")?;
                break;
            }
            let t = self.ws(r)?;
            if t.is_empty() {
                return self.err(t, "`}` to close the gate body");
            }
            if let Some(b) = self.keyword(t, "barrier")? {
                let (b, args) = self.args(b)?;
                let (b, ()) = self.tok(b, ";", "`;`")?;
                body.push(BodyOp::Barrier(args));
                r = b;
                continue;
            }
            let (b, call) = self.call(t)?;
            body.push(BodyOp::Gate(call));
            r = b;
        }
        Ok((
            r,
            Stmt::Gate(GateDef {
                name,
                params,
                qubits,
                body: Some(body),
                span: start..self.at(r),
            }),
        ))
    }

    fn idents(&self, mut r: &'a str, expected: &str) -> Res<'a, Vec<Ident>> {
        let mut out = Vec::new();
        loop {
            let (rest, id) = self.ident(r, expected)?;
            out.push(id);
            r = rest;
            if !self.peek(r, ",")? {
                return Ok((r, out));
            }
            (r, ()) = self.tok(r, ",", "`,`")?;
        }
    }

    fn qop(&self, i: &'a str) -> Res<'a, Qop> {
        let start = self.at(i);
        if let Some(r) = self.keyword(i, "measure")? {
            let (r, qubit) = self.arg(r)?;
            let (r, ()) = self.tok(r, "->", "`->` between the qubit and the bit")?;
            let (r, clbit) = self.arg(r)?;
            let (r, ()) = self.tok(r, ";", "`;`")?;
            return Ok((
                r,
                Qop::Measure {
                    qubit,
                    clbit,
                    span: start..self.at(r),
                },
            ));
        }
        if let Some(r) = self.keyword(i, "reset")? {
            let (r, qubit) = self.arg(r)?;
            let (r, ()) = self.tok(r, ";", "`;`")?;
            return Ok((
                r,
                Qop::Reset {
                    qubit,
                    span: start..self.at(r),
                },
            ));
        }
        let (r, call) = self.call(i)?;
        Ok((r, Qop::Gate(call)))
    }

    fn call(&self, i: &'a str) -> Res<'a, Call> {
        let start = self.at(self.ws(i)?);
        let (mut r, name) = self.ident(
            i,
            "a statement (a gate, measure, reset, barrier, if, qreg, creg, gate or include)",
        )?;
        let mut params = Vec::new();
        if self.peek(r, "(")? {
            (r, ()) = self.tok(r, "(", "`(`")?;
            if !self.peek(r, ")")? {
                loop {
                    let (rest, e) = self.expr(r, 0)?;
                    params.push(e);
                    r = rest;
                    if !self.peek(r, ",")? {
                        break;
                    }
                    (r, ()) = self.tok(r, ",", "`,`")?;
                }
            }
            (r, ()) = self.tok(r, ")", "`)` or `,` in the parameter list")?;
        }
        let (r, args) = self.args(r)?;
        let (r, ()) = self.tok(r, ";", "`;` after the gate's qubits")?;
        Ok((
            r,
            Call {
                name,
                params,
                args,
                span: start..self.at(r),
            },
        ))
    }

    fn args(&self, mut r: &'a str) -> Res<'a, Vec<Arg>> {
        let mut out = Vec::new();
        loop {
            let (rest, a) = self.arg(r)?;
            out.push(a);
            r = rest;
            if !self.peek(r, ",")? {
                return Ok((r, out));
            }
            (r, ()) = self.tok(r, ",", "`,`")?;
        }
    }

    fn arg(&self, i: &'a str) -> Res<'a, Arg> {
        let start = self.at(self.ws(i)?);
        let (r, reg) = self.ident(i, "a register or qubit such as q or q[0]")?;
        if !self.peek(r, "[")? {
            return Ok((
                r,
                Arg {
                    reg,
                    index: None,
                    span: start..self.at(r),
                },
            ));
        }
        let (r, ()) = self.tok(r, "[", "`[`")?;
        let (r, index) = self.uint(r, "an index (a whole number)")?;
        let (r, ()) = self.tok(r, "]", "`]`")?;
        Ok((
            r,
            Arg {
                reg,
                index: Some(index),
                span: start..self.at(r),
            },
        ))
    }

    /// Precedence climbing: + - < * / < unary - < ^ (right associative).
    fn expr(&self, i: &'a str, depth: usize) -> Res<'a, Expr> {
        if depth > MAX_DEPTH {
            return Err(ProgramError::too_large(format!(
                "expression nested more than {MAX_DEPTH} levels deep"
            ))
            .with_span(self.at(i)));
        }
        let (mut r, mut lhs) = self.term(i, depth)?;
        loop {
            let t = self.ws(r)?;
            let op = match t.chars().next() {
                Some('+') => BinOp::Add,
                Some('-') => BinOp::Sub,
                _ => return Ok((r, lhs)),
            };
            let (rest, rhs) = self.term(&t[1..], depth + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
            r = rest;
        }
    }

    fn term(&self, i: &'a str, depth: usize) -> Res<'a, Expr> {
        let (mut r, mut lhs) = self.unary(i, depth)?;
        loop {
            let t = self.ws(r)?;
            let op = match t.chars().next() {
                Some('*') => BinOp::Mul,
                Some('/') if !t.starts_with("//") => BinOp::Div,
                _ => return Ok((r, lhs)),
            };
            let (rest, rhs) = self.unary(&t[1..], depth + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
            r = rest;
        }
    }

    fn unary(&self, i: &'a str, depth: usize) -> Res<'a, Expr> {
        let t = self.ws(i)?;
        if depth > MAX_DEPTH {
            return Err(ProgramError::too_large(format!(
                "expression nested more than {MAX_DEPTH} levels deep"
            ))
            .with_span(self.at(t)));
        }
        if let Some(r) = t.strip_prefix('-') {
            let (r, e) = self.unary(r, depth + 1)?;
            return Ok((r, Expr::Neg(Box::new(e))));
        }
        if let Some(r) = t.strip_prefix('+') {
            return self.unary(r, depth + 1);
        }
        let (r, base) = self.atom(t, depth)?;
        let after = self.ws(r)?;
        if let Some(p) = after.strip_prefix('^') {
            let (r, exp) = self.unary(p, depth + 1)?;
            return Ok((r, Expr::Bin(BinOp::Pow, Box::new(base), Box::new(exp))));
        }
        Ok((r, base))
    }

    fn atom(&self, t: &'a str, depth: usize) -> Res<'a, Expr> {
        if let Some(r) = t.strip_prefix('(') {
            let (r, e) = self.expr(r, depth + 1)?;
            let (r, ()) = self.tok(r, ")", "`)` to close the parenthesis")?;
            return Ok((r, e));
        }
        if t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let (r, text) = recognize_float::<&str, nom::error::Error<&str>>(t)
                .map_err(|_| ProgramError::syntax("a number", self.at(t)))?;
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok((r, Expr::Num(v))),
                _ => Err(ProgramError::invalid(
                    format!("{text} is not a usable number"),
                    Some(self.at(t)..self.at(r)),
                )),
            };
        }
        let (r, id) = self.ident(t, "a number, `pi`, a parameter name, or `(`")?;
        let func = match id.name.as_str() {
            "pi" => return Ok((r, Expr::Pi)),
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "exp" => Func::Exp,
            "ln" => Func::Ln,
            "sqrt" => Func::Sqrt,
            _ => return Ok((r, Expr::Var(id))),
        };
        let (r, ()) = self.tok(r, "(", "`(` after the function name")?;
        let (r, e) = self.expr(r, depth + 1)?;
        let (r, ()) = self.tok(r, ")", "`)` to close the function call")?;
        Ok((r, Expr::Call(func, Box::new(e))))
    }
}

impl ProgramError {
    fn with_span(mut self, at: usize) -> Self {
        self.span = Some(at..at + 1);
        self
    }
}
