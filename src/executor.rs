//! Drives the one executor on this thread: runs ready tasks, and after every [`BATCH`] of them
//! looks at the reactor without blocking, so sockets that became ready are found here.
//!
//! `smol::block_on(ex.run(f))` looks at the reactor only when no task is ready or after 200 of
//! them. Under load that is rarely, and async-io's fallback thread (named `async-io`) polls epoll
//! instead and wakes tasks from across threads: 36 CPU ticks of that thread against 995 of the
//! main one over a round of 4 KiB GETs from 64 connections, 2 with batches of 32 (same rate
//! within the spread; `/proc/<pid>/task/*/stat`, `bench/small.sh`). With 1 task per batch the
//! extra `epoll_wait` per request cost a quarter of the rate.

use std::future::Future;

use futures_lite::future::{self, FutureExt};
use smol::LocalExecutor;

/// Tasks run between two looks at the reactor.
const BATCH: usize = 32;

/// Runs `future` to its end on `ex`, with every task it spawns.
pub fn block_on<T>(ex: &LocalExecutor<'_>, future: impl Future<Output = T>) -> T {
    let tasks = async {
        loop {
            // Waits (in the reactor) until a task is ready, and runs it.
            ex.tick().await;
            for _ in 1..BATCH {
                if !ex.try_tick() {
                    break;
                }
            }
            // Ready again at once: `async_io::block_on` polls the reactor without blocking, then
            // polls this again.
            future::yield_now().await;
        }
    };
    async_io::block_on(future.or(tasks))
}
