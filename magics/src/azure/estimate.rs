//! `%azure.estimate PROGRAM|file=PATH [target=ID] [shots=N] [jobParams={…}]`: the estimated
//! cost of running a program on a target, without submitting anything.

use async_trait::async_trait;

use super::submission;
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param};

pub struct Estimate;

static PARAMS: [Param; 5] = [
    submission::PARAMS[0],
    submission::PARAMS[1],
    submission::PARAMS[2],
    submission::PARAMS[3],
    submission::PARAMS[5],
];

static SPEC: MagicSpec = MagicSpec {
    name: "azure.estimate",
    form: Form::Line,
    summary: "Shows what running a program on a target would cost, without submitting it.",
    usage: "%azure.estimate PROGRAM|file=PATH [target=ID] [shots=N] [jobParams={…}] [key=value …]",
    description: "Translates the program as `%azure.submit` would and counts what the target \
        bills: IonQ QPUs in USD per gate-shot with a minimum per program (a gate on n ≥ 3 \
        qubits counts 6 (n − 2) two-qubit gates; Aria's minimum depends on error mitigation), \
        Quantinuum in HQC (EHQC on its emulators, 0 on syntax checkers). Targets billed by QPU \
        time (Rigetti, Pasqal) cannot be estimated before the run; simulators are free. Every \
        figure is an estimate from the published rates, dated; providers bill the circuit \
        they compile. `AZQ_PRICING_FILE` may name a JSON file of the workspace's own IonQ rates \
        (`{\"checked\": DATE, \"targets\": {ID: {\"one_qubit\": USD, \"two_qubit\": USD, \
        \"minimum\": USD}}}`). Nothing is sent to the service.",
    params: &PARAMS,
    rules: &[],
    extra: true,
    examples: &[
        Example {
            code: "%azure.estimate bell target=ionq.qpu.aria-1 shots=1000",
            says: "The gate-shots, unit prices, minimum and total of 1000 shots of `bell` on Aria.",
        },
        Example {
            code: "%azure.estimate bell target=quantinuum.qpu.h2-1 shots=100",
            says: "The HQCs 100 shots of `bell` would use on Quantinuum's H2-1.",
        },
    ],
    errors: &[
        "NotConnected",
        "NoTarget",
        "InvalidTarget",
        "UnknownProgram",
        "InvalidProgram",
        "ProgramTooLarge",
        "InvalidJobParams",
        "InvalidPricingFile",
        "InvalidArgument",
        "ConflictingArguments",
        "UnknownArgument",
        "SyntaxError",
    ],
};

#[async_trait]
impl Magic for Estimate {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let prepared = submission::prepare(ctx, &bound, "azure.estimate")?;
        Ok(Some(prepared.estimate(ctx.vars)?.bundle()))
    }
}
