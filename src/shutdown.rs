//! A one-shot broadcast signal: the trigger closes a channel, every clone of [`Shutdown`] sees it
//! at once, whether it is waiting or only checks between steps. Used for the process shutdown and
//! to end one connection (the stream tracker holds that connection's trigger).

use smol::channel::{Receiver, Sender, bounded};

/// Fires the shutdown once; later calls do nothing. Clones fire the same signal.
#[derive(Clone)]
pub struct Trigger(Sender<()>);

/// A task's view of the shutdown.
#[derive(Clone)]
pub struct Shutdown(Receiver<()>);

/// A connected trigger and signal.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = bounded(1);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    pub fn fire(&self) {
        self.0.close();
    }

    /// Whether it has fired, or every [`Shutdown`] of it is gone (nobody left to stop).
    pub fn is_fired(&self) -> bool {
        self.0.is_closed()
    }

    /// Whether `other` fires the same signal (a clone of this trigger).
    pub fn same(&self, other: &Trigger) -> bool {
        self.0.same_channel(&other.0)
    }
}

impl Shutdown {
    /// Resolves once the shutdown has fired (at once if it already has).
    pub async fn wait(&self) {
        // Nothing is ever sent: recv returns Err when the trigger closes the channel.
        let _ = self.0.recv().await;
    }

    pub fn is_fired(&self) -> bool {
        self.0.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_the_trigger() {
        let (trigger, shutdown) = channel();
        let other = shutdown.clone();
        assert!(!other.is_fired());
        trigger.fire();
        trigger.fire();
        assert!(shutdown.is_fired());
        smol::block_on(other.wait());
    }

    #[test]
    fn a_trigger_knows_its_clones_and_when_it_fired() {
        let (a, _a) = channel();
        let (b, _b) = channel();
        assert!(a.same(&a.clone()) && !a.same(&b));
        assert!(!a.is_fired());
        a.clone().fire();
        assert!(a.is_fired() && !b.is_fired());
    }
}
