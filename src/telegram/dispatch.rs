//! Runs updates side by side on the one executor: each in its chat's lane (in order within a
//! chat), at most `MAX_IN_FLIGHT` at once, each journaled before Telegram is told to forget it.
//! Finished updates move the stored watermark; one cut off at shutdown stays in the journal and
//! runs again at the next start. What a handler does is not this module's business.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frankenstein::updates::Update;
use futures_lite::future::{BoxedLocal, FutureExt};
use serde_json::Value;
use smol::LocalExecutor;
use smol::channel::{Receiver, RecvError, Sender, bounded};

use super::lanes::{Lane, Lanes, lane_of};
use super::watermark::{MAX_IN_FLIGHT, WINDOW, Window};
use crate::shutdown::Shutdown;
use crate::store::{JournalRow, Store};

/// Handles one update (catching its panics); the dispatcher spawns one call per update.
pub type Handler = Rc<dyn Fn(Update) -> BoxedLocal<()>>;

/// An update waiting for, or holding, its lane.
struct Job {
    id: i64,
    update: Update,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The handler returned (or panicked, which costs that update only): never run again.
    Finished,
    /// Shutdown's grace period ran out first: journaled still, so the next start runs it again.
    Cut,
}

/// A job's report to the dispatcher.
struct Done {
    lane: Lane,
    id: i64,
    outcome: Outcome,
}

struct State {
    lanes: Lanes<Job>,
    window: Window,
}

/// The dispatcher: one per poller, owned by its task; jobs report back through a channel.
pub struct Dispatcher<'a> {
    store: &'a Store,
    ex: Rc<LocalExecutor<'static>>,
    handler: Handler,
    shutdown: Shutdown,
    grace: Duration,
    state: RefCell<State>,
    /// Capacity `MAX_IN_FLIGHT`: each running job sends one report, so a send never waits.
    done: (Sender<Done>, Receiver<Done>),
    /// Wakes the poller when room opened.
    room: (Sender<()>, Receiver<()>),
}

impl<'a> Dispatcher<'a> {
    /// Restores the watermark and journal from `store` and starts the updates a previous run
    /// left unfinished. `grace`: how long a running update may go on after `shutdown` fires.
    pub fn start(
        store: &'a Store,
        ex: Rc<LocalExecutor<'static>>,
        handler: Handler,
        shutdown: Shutdown,
        grace: Duration,
    ) -> Dispatcher<'a> {
        let stored = store.poll_offset().unwrap_or_else(|e| {
            log::error!("cannot read the stored update offset, starting from Telegram's: {e}");
            None
        });
        let journal = store.journal(WINDOW).unwrap_or_else(|e| {
            log::error!("cannot read the update journal; updates cut off last time are lost: {e}");
            Vec::new()
        });
        let rows: Vec<(i64, bool)> = journal.iter().map(|r| (r.update_id, r.body.is_none())).collect();
        let dispatcher = Dispatcher {
            store,
            ex,
            handler,
            shutdown,
            grace,
            state: RefCell::new(State { lanes: Lanes::new(MAX_IN_FLIGHT), window: Window::restore(stored, &rows) }),
            done: bounded(MAX_IN_FLIGHT),
            room: bounded(1),
        };
        dispatcher.replay(journal);
        dispatcher
    }

    /// The offset for the next `getUpdates`: past every update dispatched.
    pub fn next_offset(&self) -> Option<i64> {
        self.state.borrow().window.next_offset()
    }

    /// Waits until more updates may be dispatched, and says how many; 0 once shutdown fired.
    pub async fn room(&self) -> usize {
        loop {
            if self.shutdown.is_fired() {
                return 0;
            }
            let room = self.state.borrow().window.room();
            if room > 0 {
                return room;
            }
            let stop = async {
                self.shutdown.wait().await;
                Ok(())
            };
            let _ = self.room.1.recv().or(stop).await;
        }
    }

    /// Takes a `getUpdates` batch: journals the new updates, then starts or queues each in its
    /// lane. Updates seen before are dropped; one that cannot be decoded is logged and skipped.
    pub fn take(&self, batch: Vec<Value>) {
        let mut st = self.state.borrow_mut();
        let mut fresh = Vec::with_capacity(batch.len().min(MAX_IN_FLIGHT));
        let mut journal = Vec::with_capacity(fresh.capacity());
        for value in batch {
            let Some(id) = value.get("update_id").and_then(Value::as_i64) else {
                log::warn!("skipping an update without update_id");
                continue;
            };
            if !st.window.is_new(id) {
                continue;
            }
            if st.window.room() == 0 {
                // More than asked for: not dispatched, so the next poll's offset asks for it again.
                break;
            }
            let body = value.to_string();
            match serde_json::from_value::<Update>(value) {
                Ok(update) => {
                    st.window.dispatch(id);
                    journal.push((id, body));
                    fresh.push(Job { id, update });
                }
                Err(e) => {
                    log::warn!("skipping update {id}: cannot decode it: {e}");
                    st.window.skip(id);
                }
            }
        }
        if let Err(e) = self.store.journal_updates(&journal) {
            log::error!("cannot journal {} updates; a crash now would lose them: {e}", journal.len());
        }
        drop(journal);
        for job in fresh {
            log::debug!("update {}", job.id);
            self.queue(&mut st, job);
        }
        self.commit_offset(&mut st.window);
    }

    /// Collects finished jobs until shutdown, then until none runs: moves the watermark and
    /// starts each lane's next job.
    pub async fn collect(&self) {
        loop {
            let done = if self.shutdown.is_fired() {
                let dropped = self.state.borrow_mut().lanes.drop_waiting();
                if dropped > 0 {
                    log::info!("shutdown: {dropped} queued updates stay in the journal for the next start");
                }
                if self.state.borrow().lanes.running() == 0 {
                    return;
                }
                self.done.1.recv().await.ok()
            } else {
                let stop = async {
                    self.shutdown.wait().await;
                    Err(RecvError)
                };
                self.done.1.recv().or(stop).await.ok()
            };
            if let Some(done) = done {
                self.on_done(done);
            }
        }
    }

    fn on_done(&self, done: Done) {
        let mut st = self.state.borrow_mut();
        if done.outcome == Outcome::Finished {
            st.window.finish(done.id);
            let watermark = st.window.commit();
            if let Err(e) = self.store.finish_update(done.id, watermark) {
                log::error!("cannot record update {} as finished; a restart handles it again: {e}", done.id);
            }
        }
        if self.shutdown.is_fired() {
            st.lanes.drop_waiting();
        }
        if let Some(next) = st.lanes.finish(done.lane) {
            self.spawn(done.lane, next);
        }
        drop(st);
        // Full means a wake-up is pending already.
        let _ = self.room.0.try_send(());
    }

    /// Runs the unfinished updates of the journal again, in update order per lane.
    fn replay(&self, journal: Vec<JournalRow>) {
        let mut st = self.state.borrow_mut();
        for row in journal {
            let (id, Some(body)) = (row.update_id, row.body) else { continue };
            if st.window.watermark().is_some_and(|w| id < w) {
                continue;
            }
            match serde_json::from_str::<Update>(&body) {
                Ok(update) => {
                    log::info!("update {id} did not finish before the last stop: handling it again");
                    self.queue(&mut st, Job { id, update });
                }
                Err(e) => {
                    log::warn!("skipping journaled update {id}: cannot decode it: {e}");
                    st.window.finish(id);
                    let _ = self.store.finish_update(id, None);
                }
            }
        }
        self.commit_offset(&mut st.window);
    }

    /// Puts `job` in its lane, starting it if the lane is idle.
    fn queue(&self, st: &mut State, job: Job) {
        let lane = lane_of(&job.update);
        match st.lanes.push(lane, job) {
            Ok(Some(job)) => self.spawn(lane, job),
            Ok(None) => {}
            // The window's room bounds the jobs held, and the lanes hold as many.
            Err(job) => {
                log::error!("update {} found no room; dropping it", job.id);
                st.window.finish(job.id);
            }
        }
    }

    /// Stores the watermark if it moved.
    fn commit_offset(&self, window: &mut Window) {
        if let Some(w) = window.commit()
            && let Err(e) = self.store.set_watermark(w)
        {
            log::error!("cannot store the update offset {w}: {e}");
        }
    }

    /// Starts `job` as its own task; it reports to [`Dispatcher::collect`] when it ends.
    fn spawn(&self, lane: Lane, job: Job) {
        let handler = self.handler.clone();
        let report = self.done.0.clone();
        let shutdown = self.shutdown.clone();
        let grace = self.grace;
        let Job { id, update } = job;
        self.ex
            .spawn(async move {
                // A running update gets the grace period at shutdown, not the minutes that
                // Telegram timeouts and retry_after waits could add up to.
                let cut = async {
                    shutdown.wait().await;
                    async_io::Timer::after(grace).await;
                    Outcome::Cut
                };
                let outcome = async {
                    handler(update).await;
                    Outcome::Finished
                }
                .or(cut)
                .await;
                if outcome == Outcome::Cut {
                    log::warn!("shutdown: gave up on update {id} still being handled; the next start handles it again");
                }
                let _ = report.try_send(Done { lane, id, outcome });
            })
            .detach();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panics::{Domain, Panics};
    use frankenstein::updates::UpdateContent;

    fn message(id: i64, chat: i64, text: &str) -> Value {
        serde_json::json!({"update_id": id, "message": {
            "message_id": id, "date": 0, "chat": {"id": chat, "type": "private"}, "text": text}})
    }

    /// `(chat, update_id)` of each update a [`recorder`] handled.
    type Seen = Rc<RefCell<Vec<(i64, u32)>>>;

    /// Records each update handled; "boom" panics, "hang" never ends while `hang` is set, and the
    /// `stop_after`-th recorded update fires the shutdown.
    fn recorder(
        seen: &Seen,
        panics: &Rc<Panics>,
        hang: bool,
        stop: crate::shutdown::Trigger,
        stop_after: usize,
    ) -> Handler {
        let (seen, panics) = (seen.clone(), panics.clone());
        Rc::new(move |update: Update| {
            let (seen, panics, stop) = (seen.clone(), panics.clone(), stop.clone());
            Box::pin(async move {
                let handled = async {
                    let text = match &update.content {
                        UpdateContent::Message(m) => m.text.clone().unwrap_or_default(),
                        _ => String::new(),
                    };
                    match text.as_str() {
                        "boom" => panic!("boom"),
                        "hang" if hang => std::future::pending::<()>().await,
                        _ => {}
                    }
                    seen.borrow_mut().push((lane_of(&update).unwrap_or_default(), update.update_id));
                    if seen.borrow().len() == stop_after {
                        stop.fire();
                    }
                };
                panics.catch(Domain::Update, "test", handled).await;
            })
        })
    }

    /// Runs the dispatcher until its shutdown and every job ended, or fails after 10 s.
    fn collect_all(ex: &LocalExecutor<'static>, d: &Dispatcher<'_>) {
        let deadline = async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            panic!("the dispatcher did not stop within 10 s");
        };
        smol::block_on(ex.run(d.collect().or(deadline)));
    }

    #[test]
    fn chats_keep_their_order_a_panic_costs_one_update_and_the_watermark_passes_all() {
        let store = Store::open_in_memory().unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let (trigger, shutdown) = crate::shutdown::channel();
        let (seen, panics) = (Seen::default(), Rc::new(Panics::default()));
        let handler = recorder(&seen, &panics, true, trigger, 4);
        let d = Dispatcher::start(&store, ex.clone(), handler, shutdown, Duration::from_secs(60));
        d.take(vec![
            message(1, 5, "a"),
            message(2, 5, "boom"),
            message(3, 5, "b"),
            message(4, 6, "c"),
            message(5, 5, "d"),
        ]);
        assert_eq!(d.next_offset(), Some(6));
        collect_all(&ex, &d);
        let seen = seen.borrow();
        let chat = |c| seen.iter().filter(|(chat, _)| *chat == c).map(|(_, id)| *id).collect::<Vec<_>>();
        assert_eq!((chat(5), chat(6)), (vec![1, 3, 5], vec![4]));
        assert_eq!(panics.count(Domain::Update), 1);
        assert_eq!(store.poll_offset().unwrap(), Some(6));
        assert!(store.journal(10).unwrap().is_empty());
    }

    #[test]
    fn an_update_cut_off_at_shutdown_runs_again_at_the_next_start_and_finished_ones_do_not() {
        let store = Store::open_in_memory().unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let panics = Rc::new(Panics::default());
        let (trigger, shutdown) = crate::shutdown::channel();
        let seen = Seen::default();
        let d =
            Dispatcher::start(&store, ex.clone(), recorder(&seen, &panics, true, trigger, 2), shutdown, Duration::ZERO);
        d.take(vec![message(1, 5, "hang"), message(2, 5, "queued"), message(3, 6, "x"), message(4, 7, "y")]);
        collect_all(&ex, &d);
        assert_eq!(*seen.borrow(), [(6, 3), (7, 4)]);
        assert_eq!(store.poll_offset().unwrap(), Some(1), "update 1 never finished");
        drop(d);

        let (trigger, shutdown) = crate::shutdown::channel();
        let seen = Seen::default();
        let d = Dispatcher::start(
            &store,
            ex.clone(),
            recorder(&seen, &panics, false, trigger, 2),
            shutdown,
            Duration::ZERO,
        );
        assert_eq!(d.next_offset(), Some(5), "polling goes on past what was dispatched");
        // Telegram sends 3 and 4 again (not confirmed before the stop): they do not run twice.
        d.take(vec![message(3, 6, "x"), message(4, 7, "y")]);
        collect_all(&ex, &d);
        assert_eq!(*seen.borrow(), [(5, 1), (5, 2)], "the cut-off update ran again, then the one queued behind it");
        assert_eq!(store.poll_offset().unwrap(), Some(5));
        assert!(store.journal(10).unwrap().is_empty());
    }
}
