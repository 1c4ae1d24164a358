//! How much memory a state takes, how much the machine can give, and allocation that fails
//! with a clear error instead of aborting the process.

use num_complex::Complex;

use super::Precision;
use super::kernel::Real;
use crate::error::ProgramError;

/// Bytes of amplitudes in an `n`-qubit state.
pub fn state_bytes(n: usize, precision: Precision) -> u64 {
    precision.bytes() << n
}

/// Memory this process may still take: the least of the kernel's `MemAvailable`, what the
/// cgroup (a container's or a JupyterHub user's limit) has left, and what the address-space
/// limit (`ulimit -v`) leaves beside what the process maps already. `None` where none can
/// be read.
pub fn available_bytes() -> Option<u64> {
    let meminfo = kib_field("/proc/meminfo", "MemAvailable:");
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let cgroup = match (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(current)) => Some(max.saturating_sub(current)),
        _ => None,
    };
    [meminfo, cgroup, address_space_left()]
        .into_iter()
        .flatten()
        .min()
}

/// A `Name:   1234 kB` line of a /proc file, in bytes.
fn kib_field(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let value = text.lines().find_map(|l| l.strip_prefix(name))?;
    let kib = value
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

/// What `RLIMIT_AS` leaves: the limit less the process's current size (`VmSize`).
fn address_space_left() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct it is given and nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
        {
            return None;
        }
        let used = kib_field("/proc/self/status", "VmSize:")?;
        Some(limit.rlim_cur.saturating_sub(used))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// A byte count for people: "1.0 GiB", "256 MiB".
pub fn show(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

/// Refuses a run whose `copies` states of `n` qubits do not fit in the memory left.
pub fn check(n: usize, precision: Precision, copies: u64) -> Result<(), ProgramError> {
    let need = state_bytes(n, precision).saturating_mul(copies);
    match available_bytes() {
        Some(free) if need > free => Err(too_large(n, precision, copies, need, Some(free))),
        _ => Ok(()),
    }
}

fn too_large(
    n: usize,
    precision: Precision,
    copies: u64,
    need: u64,
    free: Option<u64>,
) -> ProgramError {
    let copies = if copies > 1 {
        format!(" ({copies} copies: one per branch of a mid-circuit measurement)")
    } else {
        String::new()
    };
    let free = free.map_or("cannot be had".to_owned(), |f| {
        format!("{} is available", show(f))
    });
    let hint = match precision {
        Precision::Double => "use single precision (half the memory) or fewer qubits",
        Precision::Single => "use fewer qubits",
    };
    ProgramError::too_large(format!(
        "a {n}-qubit state in {} precision needs {}{copies} and {free}: {hint}",
        precision.name(),
        show(need)
    ))
}

/// |0…0⟩ of `n` qubits, or a clear error when the memory cannot be had.
pub fn allocate<F: Real>(n: usize, precision: Precision) -> Result<Vec<Complex<F>>, ProgramError> {
    let mut amps = reserve::<F>(n, precision, true)?;
    amps[0] = Complex::new(F::one(), F::zero());
    Ok(amps)
}

/// A copy of a state in memory of its own (one shot's working copy).
pub fn copy_of<F: Real>(
    amps: &[Complex<F>],
    precision: Precision,
) -> Result<Vec<Complex<F>>, ProgramError> {
    let mut copy = reserve::<F>(amps.len().trailing_zeros() as usize, precision, false)?;
    copy.extend_from_slice(amps);
    Ok(copy)
}

/// Room for an `n`-qubit state (`zeroed`: 2^n zero amplitudes, else empty with that
/// capacity), asked to be backed by huge pages: a state is written end to end at once, and
/// faulting it in 4 KiB pages costs more than the first gate (in a virtual machine, 15 ms
/// of a 20-qubit run's 17 went on page faults). Zeroed memory comes from the allocator's
/// zeroed path, so fresh pages from the kernel are not cleared a second time.
fn reserve<F: Real>(
    n: usize,
    precision: Precision,
    zeroed: bool,
) -> Result<Vec<Complex<F>>, ProgramError> {
    let len = 1usize << n;
    let refuse = || {
        too_large(
            n,
            precision,
            1,
            state_bytes(n, precision),
            available_bytes(),
        )
    };
    let layout = std::alloc::Layout::array::<Complex<F>>(len).map_err(|_| refuse())?;
    // SAFETY: the layout has a non-zero size (len ≥ 1, Complex<F> is 8 or 16 bytes).
    let ptr = unsafe {
        if zeroed {
            std::alloc::alloc_zeroed(layout)
        } else {
            std::alloc::alloc(layout)
        }
    };
    if ptr.is_null() {
        return Err(refuse());
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = ptr as usize;
        let (from, to) = (
            start.next_multiple_of(HUGE),
            (start + layout.size()) / HUGE * HUGE,
        );
        if to > from {
            // SAFETY: the range lies inside the allocation just made; the advice changes
            // only how the kernel backs it, and a refusal is harmless.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
        }
    }
    // SAFETY: allocated by the global allocator with exactly `Vec<Complex<F>>`'s layout for
    // `len` elements; all-zero bits are a valid Complex<F> (0.0 + 0.0i) when `zeroed`.
    Ok(unsafe { Vec::from_raw_parts(ptr.cast(), if zeroed { len } else { 0 }, len) })
}
