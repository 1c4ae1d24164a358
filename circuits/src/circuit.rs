//! The circuit model every reader produces and every emitter and the simulator consume:
//! flat qubit and clbit indices, named registers, and operations from a closed gate set.

use std::fmt;

/// A named register: `len` consecutive indices from `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    pub offset: usize,
    pub len: usize,
}

/// The gates the simulator and the emitters know. Parameters are in radians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateKind {
    Id,
    X,
    Y,
    Z,
    H,
    S,
    Sdg,
    T,
    Tdg,
    Sx,
    Sxdg,
    /// rx(θ)
    Rx,
    Ry,
    Rz,
    /// p(λ) = u1(λ) = diag(1, e^{iλ})
    P,
    /// U(θ, φ, λ) = u3 = u
    U,
    /// swap a, b
    Swap,
    /// rxx(θ) = exp(-iθ/2 X⊗X)
    Rxx,
    Ryy,
    Rzz,
}

impl GateKind {
    /// How many parameters and target qubits the gate takes.
    pub fn shape(self) -> (usize, usize) {
        use GateKind::*;
        match self {
            Id | X | Y | Z | H | S | Sdg | T | Tdg | Sx | Sxdg => (0, 1),
            Rx | Ry | Rz | P => (1, 1),
            U => (3, 1),
            Swap => (0, 2),
            Rxx | Ryy | Rzz => (1, 2),
        }
    }

    pub fn name(self) -> &'static str {
        use GateKind::*;
        match self {
            Id => "id",
            X => "x",
            Y => "y",
            Z => "z",
            H => "h",
            S => "s",
            Sdg => "sdg",
            T => "t",
            Tdg => "tdg",
            Sx => "sx",
            Sxdg => "sxdg",
            Rx => "rx",
            Ry => "ry",
            Rz => "rz",
            P => "p",
            U => "u",
            Swap => "swap",
            Rxx => "rxx",
            Ryy => "ryy",
            Rzz => "rzz",
        }
    }
}

/// A gate applied to `targets`, active when every qubit in `controls` is 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub kind: GateKind,
    pub params: Vec<f64>,
    pub controls: Vec<usize>,
    pub targets: Vec<usize>,
}

/// One step of a circuit.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Gate(Gate),
    Measure {
        qubit: usize,
        clbit: usize,
    },
    Reset {
        qubit: usize,
    },
    Barrier {
        qubits: Vec<usize>,
    },
    /// `if (creg == value) op`
    If {
        creg: usize,
        value: u64,
        op: Box<Op>,
    },
}

impl Op {
    /// Whether the op makes the state depend on a shot (measurement, reset, condition).
    pub fn is_nonunitary(&self) -> bool {
        !matches!(self, Op::Gate(_) | Op::Barrier { .. })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Circuit {
    pub qregs: Vec<Register>,
    pub cregs: Vec<Register>,
    pub ops: Vec<Op>,
}

impl Circuit {
    pub fn num_qubits(&self) -> usize {
        self.qregs.iter().map(|r| r.len).sum()
    }

    pub fn num_clbits(&self) -> usize {
        self.cregs.iter().map(|r| r.len).sum()
    }

    /// Adds a register and returns its offset.
    pub fn add_qreg(&mut self, name: &str, len: usize) -> usize {
        let offset = self.num_qubits();
        self.qregs.push(Register {
            name: name.to_owned(),
            offset,
            len,
        });
        offset
    }

    pub fn add_creg(&mut self, name: &str, len: usize) -> usize {
        let offset = self.num_clbits();
        self.cregs.push(Register {
            name: name.to_owned(),
            offset,
            len,
        });
        offset
    }

    /// Whether some measurement, reset or condition comes before a gate (so shots must be
    /// simulated one by one from there).
    pub fn has_midcircuit_ops(&self) -> bool {
        let mut seen_nonunitary = false;
        for op in &self.ops {
            match op {
                Op::Measure { .. } => seen_nonunitary = true,
                Op::Gate(_) if seen_nonunitary => return true,
                Op::Reset { .. } | Op::If { .. } => return true,
                _ => {}
            }
        }
        false
    }
}

impl fmt::Display for GateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
