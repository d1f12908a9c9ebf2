//! The cleanup scheduler: each task is a timer loop on the same executor. It waits for its next
//! run, runs, logs what it did and how long it took, and keeps its schedule whether the run
//! succeeded or failed. [`Schedule`] holds each task's interval, last and next run for `/memory`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::future::FutureExt;

use crate::config::Timers;
use crate::shutdown::Shutdown;
use crate::store::StoreError;

/// The cleanup tasks. [`Job::name`] is how `/memory` and the log show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Ends downloads that made no progress for `STREAM_IDLE_SECS`.
    Streams,
    /// Frees the log rate-limiter's stale slots.
    LogCache,
    /// Drops idle connections and cached paths, shrinks SQLite's and the heap's memory.
    Memory,
    /// Removes expired links and old bandwidth months.
    Store,
    /// Writes the counted bytes to the store.
    BandwidthFlush,
}

impl Job {
    /// Every task, in the order `/memory` lists them.
    pub const ALL: [Job; 5] = [Job::Streams, Job::LogCache, Job::Memory, Job::Store, Job::BandwidthFlush];

    /// The name `/memory` and the log show.
    pub fn name(self) -> &'static str {
        match self {
            Job::Streams => "streams",
            Job::LogCache => "log cache",
            Job::Memory => "memory",
            Job::Store => "store",
            Job::BandwidthFlush => "bandwidth flush",
        }
    }

    /// How often the task runs, from `timers`.
    pub fn interval(self, timers: &Timers) -> Duration {
        match self {
            Job::Streams => timers.streams,
            Job::LogCache => timers.log_cache,
            Job::Memory => timers.memory,
            Job::Store => timers.store,
            Job::BandwidthFlush => timers.bandwidth_flush,
        }
    }

    /// Whether a successful run logs at debug rather than info (it runs every few seconds).
    pub fn quiet(self) -> bool {
        matches!(self, Job::BandwidthFlush)
    }
}

/// Why a cleanup run failed.
#[derive(Debug)]
pub enum JobError {
    /// The store refused a query.
    Store(StoreError),
    /// This system gives no memory figures (no `/proc`).
    NoMemoryFigures,
    /// The process's memory could not be read this time.
    NoSample,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Store(e) => write!(f, "{e}"),
            JobError::NoMemoryFigures => write!(f, "memory figures are not available on this system"),
            JobError::NoSample => write!(f, "cannot read this process's memory"),
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobError::Store(e) => Some(e),
            JobError::NoMemoryFigures | JobError::NoSample => None,
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Store(e)
    }
}

/// A cleanup task's identity and timing.
#[derive(Debug, Clone)]
pub struct TaskState {
    pub job: Job,
    pub interval: Duration,
    /// Unix seconds of the last run's start.
    pub last_run: Option<u64>,
    /// Unix seconds of the next run.
    pub next_run: u64,
    pub runs: u64,
    pub failures: u64,
    /// What the last run reported, or why it failed (shared: `/memory` copies the states).
    pub last_outcome: Option<Result<String, Rc<JobError>>>,
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

impl Schedule {
    /// The schedule of every cleanup task at the intervals of `timers`, first runs one interval
    /// from `now`.
    pub fn for_timers(timers: &Timers, now: u64) -> Schedule {
        Schedule::new(&Job::ALL.map(|job| (job, job.interval(timers))), now)
    }

    /// One entry per `(job, interval)`, first runs one interval after `now`.
    pub fn new(tasks: &[(Job, Duration)], now: u64) -> Schedule {
        Schedule {
            tasks: RefCell::new(
                tasks
                    .iter()
                    .map(|&(job, interval)| TaskState {
                        job,
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

    fn index(&self, job: Job) -> usize {
        self.tasks.borrow().iter().position(|t| t.job == job).expect("tasks are registered before they run")
    }
}

/// Runs the task `job` of `schedule` until `shutdown` fires. `work` returns what it did (for
/// the log) or why it failed; `clock` gives unix seconds.
pub async fn run(
    schedule: &Schedule,
    job: Job,
    shutdown: &Shutdown,
    clock: impl Fn() -> u64,
    work: impl AsyncFn() -> Result<String, JobError>,
) {
    let idx = schedule.index(job);
    let name = job.name();
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
        let outcome = work().await.map_err(Rc::new);
        let ms = began.elapsed().as_millis();
        match &outcome {
            Ok(did) if job.quiet() => log::debug!("cleanup {name}: {did} in {ms} ms"),
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
        let schedule = Schedule::new(&[(Job::Store, Duration::from_secs(1))], clock());
        let (trigger, shutdown) = crate::shutdown::channel();
        let calls = Cell::new(0);
        smol::block_on(async {
            run(&schedule, Job::Store, &shutdown, clock, async || {
                calls.set(calls.get() + 1);
                if calls.get() >= 3 {
                    trigger.fire();
                }
                if calls.get() == 1 { Err(JobError::NoSample) } else { Ok("fine".to_owned()) }
            })
            .await;
        });
        let task = &schedule.tasks()[0];
        assert_eq!((task.runs, task.failures), (3, 1));
        assert!(matches!(&task.last_outcome, Some(Ok(did)) if did == "fine"), "{:?}", task.last_outcome);
        assert!(task.next_run > task.last_run.unwrap());
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn shutdown_stops_a_waiting_task() {
        let schedule = Schedule::new(&[(Job::Memory, Duration::from_secs(3600))], 0);
        let (trigger, shutdown) = crate::shutdown::channel();
        trigger.fire();
        smol::block_on(run(&schedule, Job::Memory, &shutdown, || 0, async || Ok(String::new())));
        assert_eq!(schedule.tasks()[0].runs, 0);
    }

    #[test]
    fn every_job_has_its_printed_name_and_its_timer() {
        let names: Vec<&str> = Job::ALL.iter().map(|j| j.name()).collect();
        assert_eq!(names, ["streams", "log cache", "memory", "store", "bandwidth flush"]);
        let vars = |name: &str| match name {
            "BOT_TOKEN" => Some("123456:unit-test".to_owned()),
            "CLEANUP_STORE_SECS" => Some("77".to_owned()),
            _ => None,
        };
        let timers = crate::config::Config::from_lookup(vars).unwrap().timers;
        assert_eq!(Job::Store.interval(&timers), Duration::from_secs(77));
        assert!(Job::BandwidthFlush.quiet() && !Job::Store.quiet());
    }

    #[test]
    fn a_store_failure_keeps_the_store_error_as_its_source() {
        use std::error::Error;
        let inner = rusqlite::Connection::open_in_memory().unwrap().execute_batch("NOT SQL").unwrap_err();
        let err = JobError::from(StoreError::from(inner));
        assert!(err.source().is_some_and(|s| s.to_string().starts_with("store: ")), "{err}");
        assert!(JobError::NoSample.source().is_none());
    }
}
