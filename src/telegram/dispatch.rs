//! Runs updates side by side on the one executor. Each update is journaled in the store as it
//! arrives, so the next `getUpdates` confirms it to Telegram and polling never waits for a busy
//! chat. The journal is worked through chat by chat, round robin: one update per chat at a time,
//! in order, at most [`MAX_RUNNING`] at once, and only those held in memory. An update cut off at
//! shutdown stays in the journal and runs again at the next start. What a handler does is not
//! this module's business.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frankenstein::updates::Update;
use futures_lite::future::{BoxedLocal, FutureExt};
use serde_json::Value;
use smol::LocalExecutor;
use smol::channel::{Receiver, RecvError, Sender, bounded};

use super::lanes::{Lane, lane_of};
use crate::shutdown::Shutdown;
use crate::store::{JournalRow, NewUpdate, Store};

/// Updates running at once, at most (one per chat): what intake holds in memory.
pub const MAX_RUNNING: usize = 64;
/// Updates one chat may have waiting in the journal. Past it, that chat is told once to slow
/// down and what it sends is dropped until its queue drains: at Telegram's one message a second
/// per chat, 500 updates are over eight minutes of replies.
pub const MAX_WAITING_PER_CHAT: usize = 500;
/// Updates the journal holds in all; polling pauses while it is full (Telegram keeps updates
/// for 24 hours). A row is the update's JSON, about 1 KiB, so this bounds the file too.
pub const MAX_JOURNAL: usize = 20_000;

/// Handles one update (catching its panics); the dispatcher spawns one call per update.
pub type Handler = Rc<dyn Fn(Update) -> BoxedLocal<()>>;
/// Tells a chat whose queue is full to slow down: `(chat, updates waiting)`.
pub type Overflow = Rc<dyn Fn(i64, usize) -> BoxedLocal<()>>;

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
    /// Updates running now (each reports once when it ends); at most [`MAX_RUNNING`].
    running: usize,
    /// The offset for the next `getUpdates`: past every update seen. `None` before the first.
    next_offset: Option<i64>,
    /// Rows in the journal.
    journaled: usize,
    /// The last turn handed to a lane (round robin order).
    turn: u64,
}

/// Whether update `id` is new: ids below the offset were journaled or skipped before (pure).
pub fn is_new(id: i64, next_offset: Option<i64>) -> bool {
    next_offset.is_none_or(|next| id >= next)
}

/// The dispatcher: one per poller, owned by its task; jobs report back through a channel.
pub struct Dispatcher<'a> {
    store: &'a Store,
    ex: Rc<LocalExecutor<'static>>,
    handler: Handler,
    overflow: Overflow,
    shutdown: Shutdown,
    grace: Duration,
    state: RefCell<State>,
    /// Capacity `MAX_RUNNING`: each running job sends one report, so a send never waits.
    done: (Sender<Done>, Receiver<Done>),
    /// Wakes the poller when the journal has room again.
    room: (Sender<()>, Receiver<()>),
}

impl<'a> Dispatcher<'a> {
    /// Restores the offset and journal from `store` and starts the updates a previous run left
    /// unfinished. `grace`: how long a running update may go on after `shutdown` fires.
    pub fn start(
        store: &'a Store,
        ex: Rc<LocalExecutor<'static>>,
        handler: Handler,
        overflow: Overflow,
        shutdown: Shutdown,
        grace: Duration,
    ) -> Dispatcher<'a> {
        let lane_of_body = |body: &str| serde_json::from_str::<Update>(body).ok().and_then(|u| lane_of(&u));
        if let Err(e) = store.journal_restart(lane_of_body) {
            log::error!("cannot prepare the update journal: {e}");
        }
        let stored = store.poll_offset().unwrap_or_else(|e| {
            log::error!("cannot read the stored update offset, starting from Telegram's: {e}");
            None
        });
        let last = store.journal_last_id().unwrap_or_else(|e| {
            log::error!("cannot read the update journal; updates cut off last time are lost: {e}");
            None
        });
        let state = State {
            running: 0,
            next_offset: stored.max(last.map(|id| id + 1)),
            journaled: store.journal_len().unwrap_or(0),
            turn: store.journal_last_turn().unwrap_or(0),
        };
        if state.journaled > 0 {
            log::info!("{} updates did not finish before the last stop: handling them now", state.journaled);
        }
        let dispatcher = Dispatcher {
            store,
            ex,
            handler,
            overflow,
            shutdown,
            grace,
            state: RefCell::new(state),
            done: bounded(MAX_RUNNING),
            room: bounded(1),
        };
        dispatcher.fill(&mut dispatcher.state.borrow_mut());
        dispatcher
    }

    /// The offset for the next `getUpdates`: past every update journaled or skipped.
    pub fn next_offset(&self) -> Option<i64> {
        self.state.borrow().next_offset
    }

    /// Waits until the journal has room, and says how much; 0 once shutdown fired.
    pub async fn room(&self) -> usize {
        loop {
            if self.shutdown.is_fired() {
                return 0;
            }
            let room = MAX_JOURNAL.saturating_sub(self.state.borrow().journaled);
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

    /// Takes a `getUpdates` batch: journals the new updates (and the offset past them) in one
    /// transaction, then starts what may start. Updates seen before are dropped; one that cannot
    /// be decoded is logged and skipped. If the journal cannot be written, the offset stays,
    /// Telegram sends the batch again, and this returns `false` (the poller pauses first).
    pub fn take(&self, batch: Vec<Value>) -> bool {
        let mut st = self.state.borrow_mut();
        let mut next = st.next_offset;
        let mut fresh = Vec::with_capacity(batch.len());
        for value in batch {
            let Some(id) = value.get("update_id").and_then(Value::as_i64) else {
                log::warn!("skipping an update without update_id");
                continue;
            };
            if !is_new(id, next) {
                continue;
            }
            next = Some(id + 1);
            let body = value.to_string();
            match serde_json::from_value::<Update>(value) {
                Ok(update) => fresh.push(NewUpdate { update_id: id, lane: lane_of(&update), body }),
                Err(e) => log::warn!("skipping update {id}: cannot decode it: {e}"),
            }
        }
        let Some(offset) = next.filter(|_| next != st.next_offset) else { return true };
        match self.store.journal_batch(&fresh, offset, MAX_WAITING_PER_CHAT) {
            Ok(journaled) => {
                st.next_offset = next;
                st.journaled += journaled.added;
                if journaled.dropped > 0 {
                    log::warn!("dropped {} updates of chats with {MAX_WAITING_PER_CHAT} waiting", journaled.dropped);
                }
                for (chat, waiting) in journaled.overflowed {
                    self.ex.spawn((self.overflow)(chat, waiting)).detach();
                }
            }
            Err(e) => {
                log::error!("cannot journal {} updates; polling them again: {e}", fresh.len());
                return false;
            }
        }
        drop(fresh);
        self.fill(&mut st);
        true
    }

    /// Collects finished jobs until shutdown, then until none runs.
    pub async fn collect(&self) {
        loop {
            let done = if self.shutdown.is_fired() {
                if self.state.borrow().running == 0 {
                    let st = self.state.borrow();
                    if st.journaled > 0 {
                        log::info!("shutdown: {} updates stay in the journal for the next start", st.journaled);
                    }
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
        st.running = st.running.saturating_sub(1);
        if done.outcome == Outcome::Finished {
            match self.store.journal_finish(done.id, done.lane) {
                Ok(()) => st.journaled = st.journaled.saturating_sub(1),
                Err(e) => log::error!("cannot record update {} as finished; a restart handles it again: {e}", done.id),
            }
        }
        self.fill(&mut st);
        drop(st);
        // Full means a wake-up is pending already.
        let _ = self.room.0.try_send(());
    }

    /// Starts journaled updates while fewer than [`MAX_RUNNING`] run (none after shutdown).
    fn fill(&self, st: &mut State) {
        while !self.shutdown.is_fired() && st.running < MAX_RUNNING {
            let rows = match self.store.journal_next(MAX_RUNNING - st.running) {
                Ok(rows) if !rows.is_empty() => rows,
                Ok(_) => return,
                Err(e) => {
                    log::error!("cannot read the update journal: {e}");
                    return;
                }
            };
            for row in rows {
                if !self.start_row(st, row) {
                    return;
                }
            }
        }
    }

    /// Starts one journaled update; `false` if the store failed (the row stays for later).
    fn start_row(&self, st: &mut State, row: JournalRow) -> bool {
        let JournalRow { update_id: id, lane, body } = row;
        let update = match serde_json::from_str::<Update>(&body) {
            Ok(update) => update,
            Err(e) => {
                log::warn!("skipping journaled update {id}: cannot decode it: {e}");
                if self.store.journal_finish(id, lane).is_ok() {
                    st.journaled = st.journaled.saturating_sub(1);
                }
                return true;
            }
        };
        drop(body);
        st.turn += 1;
        if let Err(e) = self.store.journal_start(id, lane, st.turn) {
            log::error!("cannot start update {id}: {e}");
            return false;
        }
        log::debug!("update {id}");
        st.running += 1;
        self.spawn(lane, id, update);
        true
    }

    /// Starts update `id` as its own task; it reports to [`Dispatcher::collect`] when it ends.
    fn spawn(&self, lane: Lane, id: i64, update: Update) {
        let handler = self.handler.clone();
        let report = self.done.0.clone();
        let shutdown = self.shutdown.clone();
        let grace = self.grace;
        self.ex
            .spawn(async move {
                // A running update gets the grace period at shutdown, not the minutes that
                // Telegram timeouts and retries could add up to.
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

    /// An overflow callback that tells no one.
    fn quiet() -> Overflow {
        Rc::new(|_, _| Box::pin(async {}))
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
    fn chats_keep_their_order_a_panic_costs_one_update_and_the_journal_empties() {
        let store = Store::open_in_memory().unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let (trigger, shutdown) = crate::shutdown::channel();
        let (seen, panics) = (Seen::default(), Rc::new(Panics::default()));
        let handler = recorder(&seen, &panics, true, trigger, 4);
        let d = Dispatcher::start(&store, ex.clone(), handler, quiet(), shutdown, Duration::from_secs(60));
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
        assert_eq!(store.journal_len().unwrap(), 0);
    }

    #[test]
    fn an_update_cut_off_at_shutdown_runs_again_at_the_next_start_and_finished_ones_do_not() {
        let store = Store::open_in_memory().unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let panics = Rc::new(Panics::default());
        let (trigger, shutdown) = crate::shutdown::channel();
        let seen = Seen::default();
        let d = Dispatcher::start(
            &store,
            ex.clone(),
            recorder(&seen, &panics, true, trigger, 2),
            quiet(),
            shutdown,
            Duration::ZERO,
        );
        d.take(vec![message(1, 5, "hang"), message(2, 5, "queued"), message(3, 6, "x"), message(4, 7, "y")]);
        collect_all(&ex, &d);
        assert_eq!(*seen.borrow(), [(6, 3), (7, 4)]);
        assert_eq!(store.poll_offset().unwrap(), Some(5), "Telegram may forget all four: they are journaled");
        assert_eq!(store.journal_len().unwrap(), 2, "update 1 never finished and 2 waits behind it");
        drop(d);

        let (trigger, shutdown) = crate::shutdown::channel();
        let seen = Seen::default();
        let d = Dispatcher::start(
            &store,
            ex.clone(),
            recorder(&seen, &panics, false, trigger, 2),
            quiet(),
            shutdown,
            Duration::ZERO,
        );
        assert_eq!(d.next_offset(), Some(5), "polling goes on past what was dispatched");
        // Telegram sends 3 and 4 again (not confirmed before the stop): they do not run twice.
        d.take(vec![message(3, 6, "x"), message(4, 7, "y")]);
        collect_all(&ex, &d);
        assert_eq!(*seen.borrow(), [(5, 1), (5, 2)], "the cut-off update ran again, then the one queued behind it");
        assert_eq!(store.poll_offset().unwrap(), Some(5));
        assert_eq!(store.journal_len().unwrap(), 0);
    }

    #[test]
    fn a_chat_that_never_finishes_holds_up_neither_polling_nor_other_chats() {
        let store = Store::open_in_memory().unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let (trigger, shutdown) = crate::shutdown::channel();
        let (seen, panics) = (Seen::default(), Rc::new(Panics::default()));
        let told = Rc::new(RefCell::new(Vec::new()));
        let overflow: Overflow = {
            let told = told.clone();
            Rc::new(move |chat, waiting| {
                told.borrow_mut().push((chat, waiting));
                Box::pin(async {})
            })
        };
        let handler = recorder(&seen, &panics, true, trigger, 1);
        let d = Dispatcher::start(&store, ex.clone(), handler, overflow, shutdown, Duration::ZERO);
        let first = MAX_WAITING_PER_CHAT as i64 + 10;
        d.take((1..=first).map(|id| message(id, 5, "hang")).collect());
        assert_eq!(smol::block_on(d.room()), MAX_JOURNAL - MAX_WAITING_PER_CHAT, "polling goes on");
        assert_eq!(d.next_offset(), Some(first + 1), "Telegram may forget every one of them");
        d.take(vec![message(first + 1, 6, "x")]);
        collect_all(&ex, &d);
        assert_eq!(*seen.borrow(), [(6, first as u32 + 1)], "chat 6 ran while chat 5 hung");
        assert_eq!(*told.borrow(), [(5, MAX_WAITING_PER_CHAT)], "chat 5 was told once");
        assert_eq!(store.journal_len().unwrap(), MAX_WAITING_PER_CHAT, "the rest was dropped");
    }
}
