//! The OpenQASM 2 syntax tree, with byte spans into the source for error messages.

use std::ops::Range;

pub type Span = Range<usize>;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `name` or `name[index]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub reg: Ident,
    pub index: Option<u64>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Pi,
    Var(Ident),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Box<Expr>),
}

/// A gate call: `name(params) args;`
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub params: Vec<Expr>,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Qop {
    Gate(Call),
    Measure { qubit: Arg, clbit: Arg, span: Span },
    Reset { qubit: Arg, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub qubits: Vec<Ident>,
    /// `None` for an `opaque` declaration.
    pub body: Option<Vec<BodyOp>>,
    pub span: Span,
}

/// What a gate body may hold: calls on the gate's own qubit names, and barriers.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyOp {
    Gate(Call),
    Barrier(Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Include {
        path: String,
        span: Span,
    },
    QReg {
        name: Ident,
        size: u64,
        span: Span,
    },
    CReg {
        name: Ident,
        size: u64,
        span: Span,
    },
    Gate(GateDef),
    Qop(Qop),
    If {
        creg: Ident,
        value: u64,
        op: Qop,
        span: Span,
    },
    Barrier {
        args: Vec<Arg>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}
