//! A component's exports, for the version of the contract it targets, behind one set of
//! calls. Everything version-specific about calling a guest is here: the rest of `wasm/`
//! calls [`Exports`] and learns from an `Ok(None)` that the version (or the component)
//! lacks a function.

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::bindings::exports::wasmcache::backend0_1_0 as v01;
use super::bindings::exports::wasmcache::backend0_2_0 as v02;
use super::faults::mismatch;
use super::names::ContractVersion;
use super::store::StoreData;
use crate::backend::{EntryPage, Expiry, HandoverEntry, KeyPage, PutItem};
use crate::error::{LoadError, Refusal};

/// What a call returns to the host: the guest's answer, or a wasmtime error (a trap, a
/// timeout) that the caller turns into a fault.
type Call<T> = wasmtime::Result<T>;

/// The export indices of one component, resolved once when it is loaded.
#[derive(Clone)]
pub(crate) enum ExportIndices {
    V01 {
        backend: v01::backend::GuestIndices,
        handover: Option<v01::handover::GuestIndices>,
    },
    V02 {
        backend: v02::backend::GuestIndices,
        listing: Option<v02::listing::GuestIndices>,
        batch: Option<v02::batch::GuestIndices>,
    },
}

impl ExportIndices {
    /// Resolves the exports of a component targeting `version`; `exports` names what it
    /// exports, so optional interfaces are looked up only when present.
    pub(crate) fn new(
        version: ContractVersion,
        pre: &InstancePre<StoreData>,
        exports: &[&str],
    ) -> Result<Self, LoadError> {
        let has = |name: &str| exports.contains(&name);
        let optional = |name: &str| has(name).then_some(());
        Ok(match version {
            ContractVersion::V0_1 => ExportIndices::V01 {
                backend: v01::backend::GuestIndices::new(pre)
                    .map_err(mismatch(version.backend_interface()))?,
                handover: optional(version.listing_interface())
                    .map(|()| v01::handover::GuestIndices::new(pre))
                    .transpose()
                    .map_err(mismatch(version.listing_interface()))?,
            },
            ContractVersion::V0_2 => ExportIndices::V02 {
                backend: v02::backend::GuestIndices::new(pre)
                    .map_err(mismatch(version.backend_interface()))?,
                listing: optional(version.listing_interface())
                    .map(|()| v02::listing::GuestIndices::new(pre))
                    .transpose()
                    .map_err(mismatch(version.listing_interface()))?,
                batch: optional(super::names::BATCH_INTERFACE)
                    .map(|()| v02::batch::GuestIndices::new(pre))
                    .transpose()
                    .map_err(mismatch(super::names::BATCH_INTERFACE))?,
            },
        })
    }

    /// Whether the component can list its entries (for a handover or a compaction).
    pub(crate) fn can_list(&self) -> bool {
        match self {
            ExportIndices::V01 { handover, .. } => handover.is_some(),
            ExportIndices::V02 { listing, .. } => listing.is_some(),
        }
    }

    /// Loads the exports of one instance, checking each signature against the contract.
    pub(crate) fn load(
        &self,
        store: &mut Store<StoreData>,
        instance: &Instance,
    ) -> Result<Exports, LoadError> {
        Ok(match self {
            ExportIndices::V01 { backend, handover } => {
                let version = ContractVersion::V0_1;
                Exports::V01 {
                    backend: backend
                        .load(&mut *store, instance)
                        .map_err(mismatch(version.backend_interface()))?,
                    handover: handover
                        .as_ref()
                        .map(|h| h.load(&mut *store, instance))
                        .transpose()
                        .map_err(mismatch(version.listing_interface()))?,
                }
            }
            ExportIndices::V02 {
                backend,
                listing,
                batch,
            } => {
                let version = ContractVersion::V0_2;
                Exports::V02 {
                    backend: backend
                        .load(&mut *store, instance)
                        .map_err(mismatch(version.backend_interface()))?,
                    listing: listing
                        .as_ref()
                        .map(|l| l.load(&mut *store, instance))
                        .transpose()
                        .map_err(mismatch(version.listing_interface()))?,
                    batch: batch
                        .as_ref()
                        .map(|b| b.load(&mut *store, instance))
                        .transpose()
                        .map_err(mismatch(super::names::BATCH_INTERFACE))?,
                }
            }
        })
    }
}

/// The exports of one instance.
pub(crate) enum Exports {
    V01 {
        backend: v01::backend::Guest,
        handover: Option<v01::handover::Guest>,
    },
    V02 {
        backend: v02::backend::Guest,
        listing: Option<v02::listing::Guest>,
        batch: Option<v02::batch::Guest>,
    },
}

impl Exports {
    pub(crate) fn init(
        &self,
        store: &mut Store<StoreData>,
        options: &[(&str, &str)],
    ) -> Call<Result<(), Refusal>> {
        Ok(match self {
            Exports::V01 { backend, .. } => backend.call_init(store, options)?.map_err(v01_refusal),
            Exports::V02 { backend, .. } => backend.call_init(store, options)?.map_err(v02_refusal),
        })
    }

    pub(crate) fn get(&self, store: &mut Store<StoreData>, key: &[u8]) -> Call<Option<Vec<u8>>> {
        match self {
            Exports::V01 { backend, .. } => backend.call_get(store, key),
            Exports::V02 { backend, .. } => backend.call_get(store, key),
        }
    }

    pub(crate) fn put(
        &self,
        store: &mut Store<StoreData>,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
    ) -> Call<Result<(), Refusal>> {
        Ok(match self {
            Exports::V01 { backend, .. } => backend
                .call_put(store, key, value, ttl_ms)?
                .map_err(v01_refusal),
            Exports::V02 { backend, .. } => backend
                .call_put(store, key, value, ttl_ms)?
                .map_err(v02_refusal),
        })
    }

    pub(crate) fn invalidate(&self, store: &mut Store<StoreData>, key: Option<&[u8]>) -> Call<()> {
        match self {
            Exports::V01 { backend, .. } => backend.call_invalidate(store, key),
            Exports::V02 { backend, .. } => backend.call_invalidate(store, key),
        }
    }

    /// `None`: 0.1 has no `remove`.
    pub(crate) fn remove(&self, store: &mut Store<StoreData>, key: &[u8]) -> Call<Option<bool>> {
        match self {
            Exports::V01 { .. } => Ok(None),
            Exports::V02 { backend, .. } => backend.call_remove(store, key).map(Some),
        }
    }

    /// `None`: 0.1 has no `ttl`.
    pub(crate) fn ttl(
        &self,
        store: &mut Store<StoreData>,
        key: &[u8],
    ) -> Call<Option<Option<Expiry>>> {
        match self {
            Exports::V01 { .. } => Ok(None),
            Exports::V02 { backend, .. } => {
                Ok(Some(backend.call_ttl(store, key)?.map(
                    |expiry| match expiry {
                        v02::backend::Expiry::Persistent => Expiry::Persistent,
                        v02::backend::Expiry::ExpiresIn(ms) => Expiry::InMs(ms),
                    },
                )))
            }
        }
    }

    /// `None`: 0.1 has no `set-ttl`.
    pub(crate) fn set_ttl(
        &self,
        store: &mut Store<StoreData>,
        key: &[u8],
        ttl_ms: Option<u64>,
    ) -> Call<Option<bool>> {
        match self {
            Exports::V01 { .. } => Ok(None),
            Exports::V02 { backend, .. } => backend.call_set_ttl(store, key, ttl_ms).map(Some),
        }
    }

    /// `None`: the component cannot list its entries. A 0.1 cursor (a `u64`) travels as
    /// its 8 little-endian bytes.
    pub(crate) fn entries(
        &self,
        store: &mut Store<StoreData>,
        cursor: Option<&[u8]>,
        limit: u32,
    ) -> Call<Option<EntryPage>> {
        match self {
            Exports::V01 {
                handover: Some(handover),
                ..
            } => {
                let cursor = cursor.map(decode_u64_cursor);
                let page = handover.call_entries(store, cursor, limit)?;
                Ok(Some(EntryPage {
                    entries: page.entries.into_iter().map(from_v01_entry).collect(),
                    next: page.next.map(|next| next.to_le_bytes().to_vec()),
                }))
            }
            Exports::V02 {
                listing: Some(listing),
                ..
            } => {
                let page = listing.call_entries(store, cursor, limit)?;
                Ok(Some(EntryPage {
                    entries: page.entries.into_iter().map(from_v02_entry).collect(),
                    next: page.next,
                }))
            }
            _ => Ok(None),
        }
    }

    /// `None`: the component cannot list its keys without their values (0.1, or no
    /// `listing`).
    pub(crate) fn keys(
        &self,
        store: &mut Store<StoreData>,
        cursor: Option<&[u8]>,
        limit: u32,
    ) -> Call<Option<KeyPage>> {
        match self {
            Exports::V02 {
                listing: Some(listing),
                ..
            } => {
                let page = listing.call_keys(store, cursor, limit)?;
                Ok(Some(KeyPage {
                    keys: page.keys,
                    next: page.next,
                }))
            }
            _ => Ok(None),
        }
    }

    /// `None`: no `batch`.
    pub(crate) fn get_many(
        &self,
        store: &mut Store<StoreData>,
        keys: &[&[u8]],
    ) -> Call<Option<Vec<Option<Vec<u8>>>>> {
        match self {
            Exports::V02 {
                batch: Some(batch), ..
            } => batch.call_get_many(store, keys).map(Some),
            _ => Ok(None),
        }
    }

    /// `None`: no `batch`.
    pub(crate) fn put_many(
        &self,
        store: &mut Store<StoreData>,
        items: &[PutItem<'_>],
    ) -> Call<Option<Vec<Result<(), Refusal>>>> {
        match self {
            Exports::V02 {
                batch: Some(batch), ..
            } => {
                let items: Vec<v02::batch::PutItem<'_>> = items
                    .iter()
                    .map(|item| v02::batch::PutItem {
                        key: item.key,
                        value: item.value,
                        ttl_ms: item.ttl_ms,
                    })
                    .collect();
                let results = batch.call_put_many(store, &items)?;
                Ok(Some(
                    results
                        .into_iter()
                        .map(|result| result.map_err(v02_refusal))
                        .collect(),
                ))
            }
            _ => Ok(None),
        }
    }

    /// `None`: no `batch`.
    pub(crate) fn remove_many(
        &self,
        store: &mut Store<StoreData>,
        keys: &[&[u8]],
    ) -> Call<Option<Vec<bool>>> {
        match self {
            Exports::V02 {
                batch: Some(batch), ..
            } => batch.call_remove_many(store, keys).map(Some),
            _ => Ok(None),
        }
    }
}

/// A 0.1 cursor is a `u64`; the host only hands back what the backend gave.
fn decode_u64_cursor(cursor: &[u8]) -> u64 {
    cursor.try_into().map_or(u64::MAX, u64::from_le_bytes)
}

fn from_v01_entry(entry: v01::handover::Entry) -> HandoverEntry {
    HandoverEntry {
        key: entry.key,
        value: entry.value,
        ttl_remaining_ms: entry.ttl_remaining_ms,
    }
}

fn from_v02_entry(entry: v02::listing::Entry) -> HandoverEntry {
    HandoverEntry {
        key: entry.key,
        value: entry.value,
        ttl_remaining_ms: entry.ttl_remaining_ms,
    }
}

fn v01_refusal(error: v01::backend::BackendError) -> Refusal {
    use v01::backend::BackendError as E;
    match error {
        E::InvalidConfig(message) => Refusal::InvalidConfig(message),
        E::TooLarge(max_bytes) => Refusal::TooLarge { max_bytes },
        E::Full => Refusal::Full,
        E::Internal(message) => Refusal::Internal(message),
    }
}

fn v02_refusal(error: v02::backend::BackendError) -> Refusal {
    use v02::backend::BackendError as E;
    match error {
        E::InvalidConfig(message) => Refusal::InvalidConfig(message),
        E::TooLarge(max_bytes) => Refusal::TooLarge { max_bytes },
        E::Full => Refusal::Full,
        E::Internal(message) => Refusal::Internal(message),
    }
}
