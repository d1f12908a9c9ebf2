//! What the threaded fakes (the Bot API, the MTProto DC) share: their state behind one lock with
//! a condition variable for waiters, a stop flag, an accept loop with a thread per connection,
//! and the open connections, which stopping shuts down.

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A fake server's state `S` and its threads' meeting point.
pub struct Hub<S> {
    state: Mutex<S>,
    changed: Condvar,
    stop: AtomicBool,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
}

impl<S: Send + 'static> Hub<S> {
    pub fn new(state: S) -> Hub<S> {
        Hub {
            state: Mutex::new(state),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
        }
    }

    /// The state (a thread that panicked holding the lock leaves it usable).
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a change (or `dur`) with the lock released meanwhile.
    pub fn wait<'a>(&self, guard: MutexGuard<'a, S>, dur: Duration) -> MutexGuard<'a, S> {
        match self.changed.wait_timeout(guard, dur) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        }
    }

    /// Wakes every waiter: the state changed.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps for `dur` in small steps, returning early when the server stops.
    pub fn sleep(&self, dur: Duration) {
        let deadline = Instant::now() + dur;
        while !self.stopping() && Instant::now() < deadline {
            thread::sleep((deadline - Instant::now()).min(Duration::from_millis(10)));
        }
    }

    /// Waits until `pred` holds on the state, or `timeout` passes (then false).
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&S) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if pred(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self.wait(st, deadline - now);
        }
    }

    /// Accepts connections on `listener` until stopped, serving each on its own thread named
    /// `<name>-<n>`; each open connection is registered so that [`Hub::stop`] can shut it.
    pub fn accept_loop(
        self: &Arc<Self>,
        listener: TcpListener,
        name: &str,
        serve: impl Fn(&Arc<Self>, TcpStream) + Clone + Send + 'static,
    ) {
        for stream in listener.incoming() {
            if self.stopping() {
                break;
            }
            let Ok(stream) = stream else {
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            let id = self.next_conn.fetch_add(1, Ordering::SeqCst);
            if let Ok(clone) = stream.try_clone() {
                self.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(id, clone);
            }
            let (hub, serve) = (Arc::clone(self), serve.clone());
            let spawned = thread::Builder::new().name(format!("{name}-{id}")).spawn(move || {
                serve(&hub, stream);
                hub.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            });
            if spawned.is_err() {
                self.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            }
        }
    }

    /// Stops the server: wakes waiters, wakes each accept loop with a connection to `addrs`, joins
    /// the loops that woke, and shuts every open connection.
    pub fn stop(&self, addrs: &[SocketAddr], accepts: Vec<JoinHandle<()>>) {
        self.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.lock();
            self.notify();
        }
        let woke = addrs.iter().all(|addr| TcpStream::connect_timeout(addr, Duration::from_secs(1)).is_ok());
        if woke {
            for handle in accepts {
                let _ = handle.join();
            }
        }
        let conns: Vec<TcpStream> =
            self.conns.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(_, c)| c).collect();
        for conn in conns {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}
