//! What the HTTP side shares between connections: the per-client limiter, the connection slots,
//! the refusals in flight and the streaming load. One thread: `Cell` and `RefCell`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::egress::relay::Load;
use super::slots::Slots;
use crate::config::Config;
use crate::limits::ClientLimiter;

/// State the HTTP side shares between connections (one thread: `Cell`/`RefCell`).
pub struct HttpState {
    /// Requests and invalid tokens per client address.
    pub limiter: RefCell<ClientLimiter>,
    pub(crate) slots: Rc<RefCell<Slots>>,
    pub(crate) rejecting: Rc<Cell<usize>>,
    /// File bodies streaming now (buffer sizes follow it).
    pub load: Load,
}

impl HttpState {
    pub fn new(config: &Config) -> HttpState {
        let http = &config.http;
        HttpState {
            limiter: RefCell::new(ClientLimiter::new(http.requests_per_minute, http.bad_tokens_per_minute)),
            slots: Rc::new(RefCell::new(Slots::new(config.max_connections, http.connections_per_ip))),
            rejecting: Rc::default(),
            load: Load::default(),
        }
    }
}
