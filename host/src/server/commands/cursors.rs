//! [`ScanCursors`]: the positions of recent SCANs, by the number handed to the client.
//!
//! A backend's cursor is bytes of its own choosing; Redis clients expect a number. The
//! server keeps the positions of recent scans in a bounded table and hands out their keys
//! as cursors; a cursor that has fallen out of the table (more than [`MAX_CURSORS`] scans
//! started since) answers "invalid cursor", and the client starts again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Scans remembered at once.
const MAX_CURSORS: usize = 4096;

/// Where a scan stands: a shard and that shard's cursor.
#[derive(Debug, Clone)]
pub(super) struct Position {
    pub(super) shard: usize,
    pub(super) cursor: Option<Vec<u8>>,
}

/// The positions of recent scans, by the number handed to the client.
#[derive(Debug, Default)]
pub(crate) struct ScanCursors {
    inner: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    positions: HashMap<u64, Position>,
    order: VecDeque<u64>,
    next: u64,
}

impl ScanCursors {
    pub(super) fn take(&self, cursor: u64) -> Option<Position> {
        if cursor == 0 {
            return Some(Position {
                shard: 0,
                cursor: None,
            });
        }
        let table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        table.positions.get(&cursor).cloned()
    }

    pub(super) fn remember(&self, position: Position) -> u64 {
        let mut table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // Numbers are not reused soon, so a stale cursor is unknown rather than another's.
        table.next = table.next.wrapping_add(1).max(1);
        let id = table.next;
        table.positions.insert(id, position);
        table.order.push_back(id);
        while table.order.len() > MAX_CURSORS {
            if let Some(old) = table.order.pop_front() {
                table.positions.remove(&old);
            }
        }
        id
    }
}
