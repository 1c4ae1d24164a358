//! When the watcher checks each job: a pause per job that grows while nothing changes (seconds
//! for simulators, minutes for QPUs), and one gate that lets at most one request a second
//! through, whichever job it is for.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The least time between two requests of the watcher, whatever they are for.
pub const PACE: Duration = Duration::from_secs(1);
/// "Not before this far ahead": a check in flight is never picked again.
pub const FAR: Duration = Duration::from_secs(365 * 86_400);

/// How a target's jobs are paced: simulators answer in seconds, QPU queues take minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Simulator,
    Hardware,
}

impl Kind {
    /// Simulators by their ids' conventions (`.sim`, `simulator`, `echo-`); the rest are QPUs.
    pub fn of(target: &str) -> Kind {
        let t = target.to_ascii_lowercase();
        if t.contains(".sim") || t.contains("simulator") || t.contains("echo-") {
            Kind::Simulator
        } else {
            Kind::Hardware
        }
    }

    /// The pause before the first check, and after a change.
    pub fn first(self) -> Duration {
        match self {
            Kind::Simulator => Duration::from_secs(1),
            Kind::Hardware => Duration::from_secs(10),
        }
    }

    /// The longest pause between two checks.
    pub fn longest(self) -> Duration {
        match self {
            Kind::Simulator => Duration::from_secs(30),
            Kind::Hardware => Duration::from_secs(300),
        }
    }
}

/// The pause before the first check: the kind's, or a tenth of the target's average queue
/// time when the workspace says it (within the kind's bounds).
pub fn first_pause(kind: Kind, queue_time: Option<Duration>) -> Duration {
    queue_time
        .map(|q| q / 10)
        .unwrap_or_default()
        .clamp(kind.first(), kind.longest())
}

/// The pause after a check: back to the first when something changed, else half as long
/// again, up to the kind's longest; a job with `queue` jobs ahead waits at least that many
/// first pauses (up to the longest).
pub fn next_pause(kind: Kind, pause: Duration, changed: bool, queue: Option<i64>) -> Duration {
    let mut next = if changed {
        kind.first()
    } else {
        (pause * 3 / 2).clamp(kind.first(), kind.longest())
    };
    if let Some(ahead) = queue.filter(|q| *q > 0) {
        let ahead = u32::try_from(ahead.min(10_000)).unwrap_or(10_000);
        next = next.max(kind.first().saturating_mul(ahead).min(kind.longest()));
    }
    next
}

#[derive(Debug)]
struct Slot {
    due: Instant,
    pause: Duration,
    kind: Kind,
}

/// When each watched job is next checked, and the one gate all checks pass through.
#[derive(Debug)]
pub struct Schedule {
    slots: HashMap<String, Slot>,
    /// No request starts before this.
    gate: Instant,
}

impl Schedule {
    pub fn new(now: Instant) -> Schedule {
        Schedule {
            slots: HashMap::new(),
            gate: now,
        }
    }

    /// Plans the first check of `id` one pause (`first`) from `now`.
    pub fn add(&mut self, id: &str, kind: Kind, first: Duration, now: Instant) {
        let pause = first;
        self.slots.insert(
            id.to_owned(),
            Slot {
                due: now + pause,
                pause,
                kind,
            },
        );
    }

    pub fn remove(&mut self, id: &str) {
        self.slots.remove(id);
    }

    /// When `id` is next checked (far ahead while a check is in flight).
    pub fn due(&self, id: &str) -> Option<Instant> {
        self.slots.get(id).map(|s| s.due)
    }

    /// When the poller has something to do: the earliest check, not before the gate.
    pub fn wake_at(&self) -> Option<Instant> {
        self.slots
            .values()
            .map(|s| s.due)
            .min()
            .map(|due| due.max(self.gate))
    }

    /// The most overdue check, if one is due and the gate is open; the gate then closes for
    /// [`PACE`] and the job is not picked again until [`Schedule::checked`] or
    /// [`Schedule::asap`].
    pub fn take(&mut self, now: Instant) -> Option<String> {
        if now < self.gate {
            return None;
        }
        let (id, slot) = self
            .slots
            .iter_mut()
            .filter(|(_, s)| s.due <= now)
            .min_by(|a, b| a.1.due.cmp(&b.1.due).then_with(|| a.0.cmp(b.0)))?;
        slot.due = now + FAR;
        self.gate = now + PACE;
        Some(id.clone())
    }

    /// After a check of `id`: the next one after its new pause.
    pub fn checked(&mut self, id: &str, changed: bool, queue: Option<i64>, now: Instant) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.pause = next_pause(slot.kind, slot.pause, changed, queue);
            slot.due = now + slot.pause;
        }
    }

    /// The next request for `id` (its results) goes as soon as the gate allows.
    pub fn asap(&mut self, id: &str, now: Instant) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.due = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_paced_by_kind() {
        for sim in [
            "ionq.simulator",
            "quantinuum.sim.h2-1e",
            "rigetti.sim.qvm",
            "microsoft.echo-output",
        ] {
            assert_eq!(Kind::of(sim), Kind::Simulator, "{sim}");
        }
        for qpu in [
            "ionq.qpu.aria-1",
            "quantinuum.qpu.h2-1",
            "rigetti.qpu.ankaa-3",
        ] {
            assert_eq!(Kind::of(qpu), Kind::Hardware, "{qpu}");
        }
    }

    #[test]
    fn pauses_grow_by_half_reset_on_change_and_respect_the_queue() {
        let s = Kind::Simulator;
        let mut p = s.first();
        let mut seen = vec![p];
        for _ in 0..12 {
            p = next_pause(s, p, false, None);
            seen.push(p);
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert_eq!(seen[2], Duration::from_millis(2250));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(30));
        // A change brings the first pause back.
        assert_eq!(next_pause(s, p, true, None), Duration::from_secs(1));
        // A QPU starts at 10 s and never waits more than five minutes.
        let h = Kind::Hardware;
        assert_eq!(
            next_pause(h, h.first(), true, None),
            Duration::from_secs(10)
        );
        assert_eq!(
            next_pause(h, Duration::from_secs(290), false, None),
            Duration::from_secs(300)
        );
        // Seven jobs ahead: at least seven first pauses; a huge queue is capped.
        assert_eq!(
            next_pause(h, h.first(), true, Some(7)),
            Duration::from_secs(70)
        );
        assert_eq!(
            next_pause(h, h.first(), true, Some(i64::MAX)),
            Duration::from_secs(300)
        );
        assert_eq!(next_pause(s, s.first(), true, Some(-3)), s.first());
        // A QPU whose queue takes an hour on average is first checked after six minutes'
        // worth, capped at five; one with no queue time at ten seconds.
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(first_pause(h, hour), Duration::from_secs(300));
        assert_eq!(
            first_pause(h, Some(Duration::from_secs(1200))),
            Duration::from_secs(120)
        );
        assert_eq!(first_pause(h, None), Duration::from_secs(10));
        assert_eq!(first_pause(s, Some(Duration::ZERO)), Duration::from_secs(1));
    }

    /// Runs the schedule as the poller does for `run_for`, every check answering at once
    /// with "no change"; returns the times requests started.
    async fn drive(schedule: &mut Schedule, run_for: Duration) -> Vec<Instant> {
        let start = Instant::now();
        let mut starts = Vec::new();
        while let Some(at) = schedule.wake_at() {
            if at > start + run_for {
                break;
            }
            tokio::time::sleep_until(at).await;
            let now = Instant::now();
            if let Some(id) = schedule.take(now) {
                starts.push(now);
                schedule.checked(&id, false, None, now);
            }
        }
        starts
    }

    #[tokio::test(start_paused = true)]
    async fn fifty_jobs_share_one_request_a_second() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        for i in 0..50 {
            schedule.add(
                &format!("job-{i:02}"),
                Kind::Simulator,
                Kind::Simulator.first(),
                now,
            );
        }
        let starts = drive(&mut schedule, Duration::from_secs(120)).await;
        // Never two requests within a second, so any window of T seconds holds at most T + 1.
        assert!(starts.windows(2).all(|w| w[1] - w[0] >= PACE));
        for (i, a) in starts.iter().enumerate() {
            let in_10s = starts[i..]
                .iter()
                .take_while(|b| **b - *a <= Duration::from_secs(10))
                .count();
            assert!(in_10s <= 11, "{in_10s} requests in 10 s");
        }
        // The gate is used, not wasted: about one a second over two minutes.
        assert!(starts.len() >= 115, "{}", starts.len());
    }

    #[tokio::test(start_paused = true)]
    async fn every_job_gets_its_turn_most_overdue_first() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        for i in 0..5 {
            schedule.add(
                &format!("job-{i}"),
                Kind::Simulator,
                Kind::Simulator.first(),
                now,
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut order = Vec::new();
        for _ in 0..5 {
            let at = schedule.wake_at().unwrap();
            tokio::time::sleep_until(at).await;
            let id = schedule.take(Instant::now()).unwrap();
            // Not taken again while its request is under way.
            assert!(schedule.due(&id).unwrap() > Instant::now() + Duration::from_secs(3600));
            order.push(id);
        }
        assert_eq!(order, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
        // Nothing is due now: every check is in flight.
        assert_eq!(schedule.take(Instant::now() + PACE), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_job_backs_off_and_a_fetch_goes_at_the_next_free_second() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        schedule.add("qpu", Kind::Hardware, Kind::Hardware.first(), now);
        assert_eq!(schedule.take(now), None, "not due before its first pause");
        let starts = drive(&mut schedule, Duration::from_secs(1200)).await;
        let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(starts[0] - now, Duration::from_secs(10));
        assert_eq!(&gaps[..4], [15, 22, 33, 50]);
        assert!(gaps.iter().all(|g| *g <= 300));
        assert_eq!(*gaps.last().unwrap(), 300);
        // The results are asked for as soon as the gate allows, not after a pause.
        let t = Instant::now();
        let id = schedule.take(t + Duration::from_secs(400)).unwrap();
        schedule.asap(&id, t + Duration::from_secs(400));
        assert_eq!(schedule.take(t + Duration::from_secs(400)), None, "gate");
        assert_eq!(
            schedule.take(t + Duration::from_secs(401)).as_deref(),
            Some("qpu")
        );
        schedule.remove("qpu");
        assert_eq!(schedule.wake_at(), None);
    }
}
