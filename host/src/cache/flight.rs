//! Single-flight: concurrent misses on one key share one load.
//!
//! The first caller to miss becomes the *leader* and runs its loader; later callers for
//! the same key *wait* on a watch channel for the leader's outcome. If the leader's future
//! is dropped before finishing (its task was cancelled, or the loader panicked and the
//! panic unwound through it), its guard publishes [`Landing::Abandoned`] and the waiters
//! race to become the next leader, so a key is never wedged.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// What a waiter receives.
#[derive(Clone)]
pub(crate) enum Landing {
    /// The leader's result, type-erased (`Result<V, Arc<E>>` of the leader's types).
    Done(Arc<dyn Any + Send + Sync>),
    /// The leader went away without a result; try again.
    Abandoned,
}

type Receiver = watch::Receiver<Option<Landing>>;

#[derive(Default)]
pub(crate) struct Flights {
    in_flight: Mutex<HashMap<Vec<u8>, Receiver>>,
}

/// A caller's part in a flight.
pub(crate) enum Role<'a> {
    Leader(Leader<'a>),
    Waiter(Receiver),
}

impl Flights {
    /// Joins the flight for `key`, or starts one.
    pub(crate) fn join(&self, key: &[u8]) -> Role<'_> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = in_flight.get(key) {
            return Role::Waiter(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        in_flight.insert(key.to_vec(), rx);
        Role::Leader(Leader {
            flights: self,
            key: key.to_vec(),
            tx,
            landed: false,
        })
    }

    /// Keys with a load in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Waits for the flight's outcome; a vanished leader counts as abandoned.
pub(crate) async fn wait(mut rx: Receiver) -> Landing {
    match rx.wait_for(Option::is_some).await {
        Ok(landing) => landing.clone().unwrap_or(Landing::Abandoned),
        Err(_) => Landing::Abandoned,
    }
}

/// The leader's guard: it must [`land`](Leader::land); dropping it unlanded abandons the
/// flight.
pub(crate) struct Leader<'a> {
    flights: &'a Flights,
    key: Vec<u8>,
    tx: watch::Sender<Option<Landing>>,
    landed: bool,
}

impl Leader<'_> {
    /// Publishes the outcome to the waiters and ends the flight.
    pub(crate) fn land(mut self, outcome: Arc<dyn Any + Send + Sync>) {
        self.finish(Landing::Done(outcome));
        self.landed = true;
    }

    fn finish(&self, landing: Landing) {
        // End the flight first, so a caller arriving after the outcome is published
        // starts afresh instead of waiting on a finished flight. Only the leader removes
        // its key's entry, so the entry is this flight's.
        self.flights
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.tx.send_replace(Some(landing));
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.landed {
            self.finish(Landing::Abandoned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_the_leaders_outcome() {
        let flights = Flights::default();
        let Role::Leader(leader) = flights.join(b"k") else {
            panic!("first caller leads")
        };
        let Role::Waiter(rx) = flights.join(b"k") else {
            panic!("second caller waits")
        };
        assert_eq!(flights.len(), 1);
        leader.land(Arc::new(7_u32));
        assert_eq!(flights.len(), 0);
        match wait(rx).await {
            Landing::Done(any) => assert_eq!(any.downcast_ref::<u32>(), Some(&7)),
            Landing::Abandoned => panic!("the leader landed"),
        }
        assert!(
            matches!(flights.join(b"k"), Role::Leader(_)),
            "a finished flight is not joined"
        );
    }

    #[tokio::test]
    async fn a_dropped_leader_abandons_the_flight() {
        let flights = Flights::default();
        let leader = flights.join(b"k");
        let Role::Waiter(rx) = flights.join(b"k") else {
            panic!("second caller waits")
        };
        drop(leader);
        assert!(matches!(wait(rx).await, Landing::Abandoned));
        assert_eq!(flights.len(), 0);
    }
}
