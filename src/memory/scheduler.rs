//! The cleanup scheduler: each task is a timer loop on the same executor. It waits for its next
//! run, runs, logs what it did and how long it took, and keeps its schedule whether the run
//! succeeded or failed. [`Schedule`] holds each task's interval, last and next run for `/memory`.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use futures_lite::future::FutureExt;

use crate::config::Timers;
use crate::shutdown::Shutdown;

/// A cleanup task's identity and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub name: &'static str,
    pub interval: Duration,
    /// Unix seconds of the last run's start.
    pub last_run: Option<u64>,
    /// Unix seconds of the next run.
    pub next_run: u64,
    pub runs: u64,
    pub failures: u64,
    /// What the last run reported, or why it failed.
    pub last_outcome: Option<Result<String, String>>,
}

/// When a task runs next: one interval after its last start, or one interval from now if the
/// run took longer than that (pure).
pub fn next_run(last_start: u64, interval: Duration, now: u64) -> u64 {
    let next = last_start + interval.as_secs().max(1);
    if next <= now { now + interval.as_secs().max(1) } else { next }
}

/// Every task's state; a fixed list made at start-up.
pub struct Schedule {
    tasks: RefCell<Vec<TaskState>>,
}

/// The cleanup tasks, by the name `/memory` and the log show.
pub const STREAMS: &str = "streams";
pub const LOG_CACHE: &str = "log cache";
pub const MEMORY: &str = "memory";
pub const STORE: &str = "store";
pub const BANDWIDTH: &str = "bandwidth flush";

impl Schedule {
    /// The schedule of every cleanup task at the intervals of `timers`, first runs one interval
    /// from `now`.
    pub fn for_timers(timers: &Timers, now: u64) -> Schedule {
        Schedule::new(
            &[
                (STREAMS, timers.streams),
                (LOG_CACHE, timers.log_cache),
                (MEMORY, timers.memory),
                (STORE, timers.store),
                (BANDWIDTH, timers.bandwidth_flush),
            ],
            now,
        )
    }

    /// One entry per `(name, interval)`, first runs one interval after `now`.
    pub fn new(tasks: &[(&'static str, Duration)], now: u64) -> Schedule {
        Schedule {
            tasks: RefCell::new(
                tasks
                    .iter()
                    .map(|&(name, interval)| TaskState {
                        name,
                        interval,
                        last_run: None,
                        next_run: now + interval.as_secs().max(1),
                        runs: 0,
                        failures: 0,
                        last_outcome: None,
                    })
                    .collect(),
            ),
        }
    }

    /// A copy of every task's state.
    pub fn tasks(&self) -> Vec<TaskState> {
        self.tasks.borrow().clone()
    }

    fn index(&self, name: &str) -> usize {
        self.tasks.borrow().iter().position(|t| t.name == name).expect("tasks are registered before they run")
    }
}

/// Runs the task `name` of `schedule` until `shutdown` fires. `job` returns what it did (for
/// the log) or why it failed; `clock` gives unix seconds.
pub async fn run(
    schedule: &Schedule,
    name: &'static str,
    quiet: bool,
    shutdown: &Shutdown,
    clock: impl Fn() -> u64,
    job: impl AsyncFn() -> Result<String, String>,
) {
    let idx = schedule.index(name);
    loop {
        let (next, interval) = {
            let t = &schedule.tasks.borrow()[idx];
            (t.next_run, t.interval)
        };
        let wait = Duration::from_secs(next.saturating_sub(clock()));
        let stop = async {
            shutdown.wait().await;
            true
        };
        let timer = async {
            async_io::Timer::after(wait).await;
            false
        };
        if timer.or(stop).await {
            return;
        }
        let start = clock();
        let began = Instant::now();
        let outcome = job().await;
        let ms = began.elapsed().as_millis();
        match &outcome {
            Ok(did) if quiet => log::debug!("cleanup {name}: {did} in {ms} ms"),
            Ok(did) => log::info!("cleanup {name}: {did} in {ms} ms"),
            Err(e) => log::error!("cleanup {name} failed after {ms} ms: {e}; next run in {}s", interval.as_secs()),
        }
        let outcome_word = if outcome.is_ok() { "ok" } else { "failed" };
        crate::event::emit(crate::event::Event::Cleanup { task: name, outcome: outcome_word });
        let mut tasks = schedule.tasks.borrow_mut();
        let t = &mut tasks[idx];
        t.runs += 1;
        t.failures += u64::from(outcome.is_err());
        t.last_run = Some(start);
        t.next_run = next_run(start, interval, clock());
        t.last_outcome = Some(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn next_run_keeps_the_cadence_unless_a_run_overran() {
        let hour = Duration::from_secs(3600);
        assert_eq!(next_run(1000, hour, 1005), 4600);
        assert_eq!(next_run(1000, hour, 9000), 12600);
        assert_eq!(next_run(1000, Duration::ZERO, 1000), 1001, "intervals are at least a second");
    }

    #[test]
    fn a_failing_run_is_recorded_and_the_task_keeps_running() {
        let start = Instant::now();
        let clock = || 1_000 + start.elapsed().as_secs();
        let schedule = Schedule::new(&[("flaky", Duration::from_secs(1))], clock());
        let (trigger, shutdown) = crate::shutdown::channel();
        let calls = Cell::new(0);
        smol::block_on(async {
            run(&schedule, "flaky", false, &shutdown, clock, async || {
                calls.set(calls.get() + 1);
                if calls.get() >= 3 {
                    trigger.fire();
                }
                if calls.get() == 1 { Err("disk on fire".to_owned()) } else { Ok("fine".to_owned()) }
            })
            .await;
        });
        let task = &schedule.tasks()[0];
        assert_eq!((task.runs, task.failures), (3, 1));
        assert_eq!(task.last_outcome, Some(Ok("fine".to_owned())));
        assert!(task.next_run > task.last_run.unwrap());
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn shutdown_stops_a_waiting_task() {
        let schedule = Schedule::new(&[("slow", Duration::from_secs(3600))], 0);
        let (trigger, shutdown) = crate::shutdown::channel();
        trigger.fire();
        smol::block_on(run(&schedule, "slow", false, &shutdown, || 0, async || Ok(String::new())));
        assert_eq!(schedule.tasks()[0].runs, 0);
    }
}
