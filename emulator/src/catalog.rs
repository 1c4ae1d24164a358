//! The emulated workspace's catalogue: providers and their targets with varied availability
//! and queue times (the quotas are `usage.rs`'s, summed from the jobs run).

use serde_json::{Value, json};

/// How a target runs jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// IonQ's simulator: exact probabilities, shots ignored.
    IonqSimulator,
    /// IonQ hardware: sampled frequencies.
    IonqQpu,
    /// Quantinuum syntax checker: all-zero shots.
    QuantinuumChecker,
    /// Quantinuum emulator or hardware: sampled shots per register.
    Quantinuum,
    Rigetti,
    Pasqal,
    /// Resource estimation: accepted, not emulated (the job fails and says so).
    Estimator,
    /// Microsoft's first-party test targets: QIR in, results echoed by simulation.
    Echo,
}

pub struct Target {
    pub id: &'static str,
    pub provider: &'static str,
    pub availability: &'static str,
    pub queue_seconds: i64,
    pub qubits: i64,
    pub kind: Kind,
    /// The input format a plain submission uses, and its output format.
    pub formats: (&'static str, &'static str),
    pub default_shots: u64,
}

pub const TARGETS: &[Target] = &[
    Target {
        id: "ionq.simulator",
        provider: "ionq",
        availability: "Available",
        queue_seconds: 3,
        qubits: 29,
        kind: Kind::IonqSimulator,
        formats: ("ionq.circuit.v1", "ionq.quantum-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "ionq.qpu",
        provider: "ionq",
        availability: "Available",
        queue_seconds: 1679,
        qubits: 11,
        kind: Kind::IonqQpu,
        formats: ("ionq.circuit.v1", "ionq.quantum-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "ionq.qpu.aria-1",
        provider: "ionq",
        availability: "Available",
        queue_seconds: 14_400,
        qubits: 25,
        kind: Kind::IonqQpu,
        formats: ("ionq.circuit.v1", "ionq.quantum-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "ionq.qpu.forte-1",
        provider: "ionq",
        availability: "Degraded",
        queue_seconds: 86_400,
        qubits: 36,
        kind: Kind::IonqQpu,
        formats: ("ionq.circuit.v1", "ionq.quantum-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "quantinuum.sim.h2-1sc",
        provider: "quantinuum",
        availability: "Available",
        queue_seconds: 1,
        qubits: 56,
        kind: Kind::QuantinuumChecker,
        formats: ("honeywell.openqasm.v1", "honeywell.quantum-results.v1"),
        default_shots: 1,
    },
    Target {
        id: "quantinuum.sim.h2-1e",
        provider: "quantinuum",
        availability: "Available",
        queue_seconds: 13_608,
        qubits: 56,
        kind: Kind::Quantinuum,
        formats: ("honeywell.openqasm.v1", "honeywell.quantum-results.v1"),
        default_shots: 1,
    },
    Target {
        id: "quantinuum.qpu.h2-1",
        provider: "quantinuum",
        availability: "Unavailable",
        queue_seconds: 172_800,
        qubits: 56,
        kind: Kind::Quantinuum,
        formats: ("honeywell.openqasm.v1", "honeywell.quantum-results.v1"),
        default_shots: 1,
    },
    Target {
        id: "rigetti.sim.qvm",
        provider: "rigetti",
        availability: "Available",
        queue_seconds: 5,
        qubits: 20,
        kind: Kind::Rigetti,
        formats: ("rigetti.quil.v1", "rigetti.quil-results.v1"),
        default_shots: 1,
    },
    Target {
        id: "rigetti.qpu.ankaa-3",
        provider: "rigetti",
        availability: "Degraded",
        queue_seconds: 7_200,
        qubits: 84,
        kind: Kind::Rigetti,
        formats: ("rigetti.quil.v1", "rigetti.quil-results.v1"),
        default_shots: 1,
    },
    Target {
        id: "pasqal.sim.emu-tn",
        provider: "pasqal",
        availability: "Available",
        queue_seconds: 60,
        qubits: 100,
        kind: Kind::Pasqal,
        formats: ("pasqal.pulser.v1", "pasqal.pulser-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "pasqal.qpu.fresnel",
        provider: "pasqal",
        availability: "Unavailable",
        queue_seconds: 259_200,
        qubits: 100,
        kind: Kind::Pasqal,
        formats: ("pasqal.pulser.v1", "pasqal.pulser-results.v1"),
        default_shots: 100,
    },
    Target {
        id: "microsoft.estimator",
        provider: "microsoft-qc",
        availability: "Available",
        queue_seconds: 0,
        qubits: 100_000,
        kind: Kind::Estimator,
        formats: ("qir.v1", "microsoft.resource-estimates.v1"),
        default_shots: 1,
    },
    Target {
        id: "echo-output",
        provider: "microsoft.test.firstparty",
        availability: "Available",
        queue_seconds: 0,
        qubits: 100,
        kind: Kind::Echo,
        formats: ("qir.v1", "microsoft.quantum-results.v2"),
        default_shots: 100,
    },
    Target {
        id: "echo-quantinuum",
        provider: "microsoft.test.firstparty",
        availability: "Available",
        queue_seconds: 0,
        qubits: 100,
        kind: Kind::Echo,
        formats: ("qir.v1", "microsoft.quantum-results.v2"),
        default_shots: 100,
    },
];

pub fn target(id: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.id.eq_ignore_ascii_case(id))
}

/// The `providerStatus` items, one per provider, targets in catalogue order.
pub fn provider_status() -> Vec<Value> {
    let mut providers: Vec<&str> = TARGETS.iter().map(|t| t.provider).collect();
    providers.dedup();
    providers
        .into_iter()
        .map(|p| {
            let targets: Vec<Value> = TARGETS
                .iter()
                .filter(|t| t.provider == p)
                .map(|t| {
                    json!({
                        "id": t.id,
                        "currentAvailability": t.availability,
                        "averageQueueTime": t.queue_seconds,
                        "statusPage": format!("https://status.example.invalid/{p}"),
                        "numQubits": t.qubits,
                        "targetProfile": if t.kind == Kind::Pasqal { Value::Null } else { json!("Base") },
                        "metadata": {},
                    })
                })
                .collect();
            let any_available = TARGETS.iter().any(|t| t.provider == p && t.availability == "Available");
            json!({
                "id": p,
                "currentAvailability": if any_available { "Available" } else { "Degraded" },
                "targets": targets,
            })
        })
        .collect()
}
