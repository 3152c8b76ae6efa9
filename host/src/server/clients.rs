//! Who is connected: one entry per open connection, kept from accept to close, for
//! `CLIENT LIST` and `CLIENT INFO`. A connection touches its own entry with relaxed atomic
//! stores (when it reads and which command it ran); the registry's lock is taken only when
//! a connection opens or closes, names itself, or a client lists them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Every open connection, by id.
#[derive(Debug)]
pub(crate) struct Clients {
    open: Mutex<BTreeMap<u64, Arc<Client>>>,
    /// What activity times count from.
    epoch: Instant,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            open: Mutex::default(),
            epoch: Instant::now(),
        }
    }
}

/// One open connection as others may see it.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) addr: SocketAddr,
    pub(crate) local: SocketAddr,
    connected: Instant,
    name: Mutex<Option<Vec<u8>>>,
    /// Milliseconds from the registry's epoch to the connection's last request.
    active_ms: AtomicU64,
    resp3: AtomicBool,
    /// The last command run, as its index in the command table plus one (0: none yet).
    last_command: AtomicUsize,
}

/// A connection's entry, removed from the registry when this is dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: Arc<Clients>,
    pub(crate) client: Arc<Client>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.client.id);
    }
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Client>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection; it stays listed until the returned entry is dropped.
    pub(crate) fn register(
        self: &Arc<Self>,
        id: u64,
        addr: SocketAddr,
        local: SocketAddr,
    ) -> Registered {
        let client = Arc::new(Client {
            id,
            addr,
            local,
            connected: Instant::now(),
            name: Mutex::new(None),
            active_ms: AtomicU64::new(self.now_ms()),
            resp3: AtomicBool::new(false),
            last_command: AtomicUsize::new(0),
        });
        self.lock().insert(id, client.clone());
        Registered {
            registry: self.clone(),
            client,
        }
    }

    /// Every open connection, oldest first.
    pub(crate) fn list(&self) -> Vec<Arc<Client>> {
        self.lock().values().cloned().collect()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Notes that `client` just made a request.
    pub(crate) fn touch(&self, client: &Client) {
        client.active_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Time since `client`'s last request (to the millisecond).
    pub(crate) fn idle(&self, client: &Client) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.now_ms()
                .saturating_sub(client.active_ms.load(Ordering::Relaxed)),
        )
    }

    /// Seconds since `client`'s last request.
    pub(crate) fn idle_secs(&self, client: &Client) -> u64 {
        self.now_ms()
            .saturating_sub(client.active_ms.load(Ordering::Relaxed))
            / 1000
    }
}

impl Client {
    pub(crate) fn name(&self) -> Option<Vec<u8>> {
        self.name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Names the connection; `None` or an empty name clears it.
    pub(crate) fn set_name(&self, name: Option<Vec<u8>>) {
        *self.name.lock().unwrap_or_else(PoisonError::into_inner) = name.filter(|n| !n.is_empty());
    }

    pub(crate) fn age_secs(&self) -> u64 {
        self.connected.elapsed().as_secs()
    }

    pub(crate) fn resp3(&self) -> bool {
        self.resp3.load(Ordering::Relaxed)
    }

    pub(crate) fn set_resp3(&self, on: bool) {
        self.resp3.store(on, Ordering::Relaxed);
    }

    /// The last command's index in the command table, if it ran one.
    pub(crate) fn last_command(&self) -> Option<usize> {
        self.last_command.load(Ordering::Relaxed).checked_sub(1)
    }

    pub(crate) fn set_last_command(&self, index: usize) {
        self.last_command.store(index + 1, Ordering::Relaxed);
    }
}
