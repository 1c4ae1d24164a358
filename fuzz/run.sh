#!/usr/bin/env bash
# Runs azq's fuzz targets (libFuzzer through cargo fuzz, stable Rust, no sanitizer) one after
# another, seeded from the corpora in the repo (read only); new inputs and any crash go to a
# scratch directory, never into the tree. Prints each target's final stats; exits non-zero if
# any target crashed, hung, ran out of memory or failed to start.
#
#   fuzz/run.sh [TARGET…]                 short: FUZZ_SECONDS (default 30) per target
#   AZQ_SOAK=1 fuzz/run.sh [TARGET…]      long: FUZZ_RUNS (default 10000000) executions each
#
# Targets: parse magic wire connstr emulator (all by default). FUZZ_LOG_DIR keeps each
# target's full libFuzzer log there; FUZZ_BIN_DIR runs binaries built elsewhere (no build).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse magic wire connstr emulator)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/azq/target}/fuzz

if [ -z "${FUZZ_BIN_DIR:-}" ]; then
    command -v cargo-fuzz >/dev/null || { echo "run.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked --version 0.13.2)" >&2; exit 2; }
    (cd "$here" && cargo fuzz build --sanitizer none) || { echo "run.sh: the fuzz build failed" >&2; exit 2; }
    FUZZ_BIN_DIR=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release
fi

if [ "${AZQ_SOAK:-0}" = 1 ]; then
    limit=(-runs="${FUZZ_RUNS:-10000000}")
else
    limit=(-max_total_time="${FUZZ_SECONDS:-30}")
fi

# Per-target libFuzzer options: connstr's inputs are short (see its MAX_LEN).
options() {
    case $1 in
        connstr) echo -max_len=1024 ;;
    esac
}

seeds() {
    case $1 in
        parse) echo "$here/../circuits/tests/corpus" ;;
        *) echo "$here/corpus/$1" ;;
    esac
}

failed=()
for t in "${targets[@]}"; do
    bin=$FUZZ_BIN_DIR/$t
    [ -x "$bin" ] || { echo "run.sh: no fuzz target $t ($bin)" >&2; failed+=("$t"); continue; }
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/azq-fuzz-$t.XXXXXX")
    log=${FUZZ_LOG_DIR:+$FUZZ_LOG_DIR/fuzz-$t.log}
    log=${log:-$scratch/log}
    echo "== $t ($(date -u +%FT%TZ)): ${limit[*]}, seeds $(seeds "$t"), scratch $scratch"
    start=$(date +%s)
    "$bin" "$scratch" "$(seeds "$t")" "${limit[@]}" $(options "$t") -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$scratch/" >"$log" 2>&1
    status=$?
    end=$(date +%s)
    grep -E '^(Done|stat::)' "$log"
    echo "wall: $((end - start)) s, exit status $status"
    if [ $status -ne 0 ]; then
        echo "!! $t failed; the log and the input are kept in $scratch:" >&2
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -n 20 >&2
        failed+=("$t")
    else
        rm -rf "$scratch"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing: ${targets[*]}: no crash"
