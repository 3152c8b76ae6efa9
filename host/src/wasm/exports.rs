//! A component's exports, for the version of the contract it targets, behind one set of
//! calls. Everything version-specific about calling a guest is here: the rest of `wasm/`
//! calls [`Exports`] and learns from an `Ok(None)` that the version (or the component)
//! lacks a function.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Store;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Func, Instance, InstancePre, Lift, Lower, TypedFunc,
};

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

/// The functions of one exported interface: where each is in the component (resolved
/// once, when it is loaded) and, per instance, the function itself with a typed call.
///
/// The types of a component's exports are the component's, the same in every instance,
/// so each function's signature is checked against the contract on the first instance
/// only; later instances look their functions up without the check (which cost a tenth
/// of an instantiation) and call them through `TypedFunc::new_unchecked`.
macro_rules! interface {
    ($(#[$doc:meta])* $funcs:ident, $indices:ident {
        $($field:ident = $name:literal: ($($arg:ident: $arg_ty:ty),*) -> $results:ty;)*
    }) => {
        #[derive(Clone)]
        pub(crate) struct $indices {
            $($field: ComponentExportIndex,)*
        }

        $(#[$doc])*
        pub(crate) struct $funcs {
            $($field: Func,)*
        }

        impl $indices {
            fn new(pre: &InstancePre<StoreData>, interface: &str) -> wasmtime::Result<Self> {
                let component = pre.component();
                let instance = component.get_export_index(None, interface).ok_or_else(|| {
                    wasmtime::format_err!("no exported instance named `{interface}`")
                })?;
                Ok($indices {
                    $($field: component
                        .get_export_index(Some(&instance), $name)
                        .ok_or_else(|| wasmtime::format_err!("no function `{}`", $name))?,)*
                })
            }

            /// `check`: check each function's signature (the component's first instance).
            fn load(
                &self,
                store: &mut Store<StoreData>,
                instance: &Instance,
                check: bool,
            ) -> wasmtime::Result<$funcs> {
                Ok($funcs {
                    $($field: export_func::<($($arg_ty,)*), $results>(
                        store, instance, self.$field, $name, check,
                    )?,)*
                })
            }
        }

        impl $funcs {
            $(fn $field(
                &self,
                store: &mut Store<StoreData>,
                $($arg: $arg_ty),*
            ) -> wasmtime::Result<$results> {
                // SAFETY: the signature was checked on the component's first instance
                // (`load`), and every instance of a component has the same types.
                let func = unsafe {
                    TypedFunc::<($($arg_ty,)*), $results>::new_unchecked(self.$field)
                };
                func.call(store, ($($arg,)*))
            })*
        }
    };
}

/// The function at `index` in `instance`; with `check` (the component's first instance),
/// its signature checked against `Params` and `Results`.
pub(crate) fn export_func<Params, Results>(
    store: &mut Store<StoreData>,
    instance: &Instance,
    index: ComponentExportIndex,
    name: &str,
    check: bool,
) -> wasmtime::Result<Func>
where
    Params: ComponentNamedList + Lower,
    Results: ComponentNamedList + Lift,
{
    let func = instance
        .get_func(&mut *store, index)
        .ok_or_else(|| wasmtime::format_err!("no function `{name}`"))?;
    if check {
        func.typed::<Params, Results>(&*store)?;
    }
    Ok(func)
}

interface!(
    /// `backend@0.1.0`.
    BackendV01, BackendV01Indices {
        init = "init": (options: &[(&str, &str)]) -> (Result<(), v01::backend::BackendError>,);
        get = "get": (key: &[u8]) -> (Option<Vec<u8>>,);
        put = "put": (key: &[u8], value: &[u8], ttl_ms: Option<u64>)
            -> (Result<(), v01::backend::BackendError>,);
        invalidate = "invalidate": (key: Option<&[u8]>) -> ();
    }
);

interface!(
    /// `handover@0.1.0`.
    HandoverV01, HandoverV01Indices {
        entries = "entries": (cursor: Option<u64>, limit: u32) -> (v01::handover::Page,);
    }
);

interface!(
    /// `backend@0.2.0`.
    BackendV02, BackendV02Indices {
        init = "init": (options: &[(&str, &str)]) -> (Result<(), v02::backend::BackendError>,);
        get = "get": (key: &[u8]) -> (Option<Vec<u8>>,);
        put = "put": (key: &[u8], value: &[u8], ttl_ms: Option<u64>)
            -> (Result<(), v02::backend::BackendError>,);
        invalidate = "invalidate": (key: Option<&[u8]>) -> ();
        remove = "remove": (key: &[u8]) -> (bool,);
        ttl = "ttl": (key: &[u8]) -> (Option<v02::backend::Expiry>,);
        set_ttl = "set-ttl": (key: &[u8], ttl_ms: Option<u64>) -> (bool,);
    }
);

interface!(
    /// `listing@0.2.0`.
    ListingV02, ListingV02Indices {
        entries = "entries": (cursor: Option<&[u8]>, limit: u32) -> (v02::listing::EntryPage,);
        keys = "keys": (cursor: Option<&[u8]>, limit: u32) -> (v02::listing::KeyPage,);
    }
);

interface!(
    /// `batch@0.2.0`.
    BatchV02, BatchV02Indices {
        get_many = "get-many": (keys: &[&[u8]]) -> (Vec<Option<Vec<u8>>>,);
        put_many = "put-many": (items: &[v02::batch::PutItem<'_>])
            -> (Vec<Result<(), v02::backend::BackendError>>,);
        remove_many = "remove-many": (keys: &[&[u8]]) -> (Vec<bool>,);
    }
);

/// The export indices of one component, resolved once when it is loaded.
#[derive(Clone)]
pub(crate) struct ExportIndices {
    interfaces: Interfaces,
    /// Whether an instance's exports have been checked against the contract.
    checked: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Interfaces {
    V01 {
        backend: BackendV01Indices,
        handover: Option<HandoverV01Indices>,
    },
    V02 {
        backend: BackendV02Indices,
        listing: Option<ListingV02Indices>,
        batch: Option<BatchV02Indices>,
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
        let backend = version.backend_interface();
        let listing = version.listing_interface();
        let batch = super::names::BATCH_INTERFACE;
        let interfaces = match version {
            ContractVersion::V0_1 => Interfaces::V01 {
                backend: BackendV01Indices::new(pre, backend).map_err(mismatch(backend))?,
                handover: has(listing)
                    .then(|| HandoverV01Indices::new(pre, listing))
                    .transpose()
                    .map_err(mismatch(listing))?,
            },
            ContractVersion::V0_2 => Interfaces::V02 {
                backend: BackendV02Indices::new(pre, backend).map_err(mismatch(backend))?,
                listing: has(listing)
                    .then(|| ListingV02Indices::new(pre, listing))
                    .transpose()
                    .map_err(mismatch(listing))?,
                batch: has(batch)
                    .then(|| BatchV02Indices::new(pre, batch))
                    .transpose()
                    .map_err(mismatch(batch))?,
            },
        };
        Ok(ExportIndices {
            interfaces,
            checked: Arc::default(),
        })
    }

    /// Whether the component can list its entries (for a handover or a compaction).
    pub(crate) fn can_list(&self) -> bool {
        match &self.interfaces {
            Interfaces::V01 { handover, .. } => handover.is_some(),
            Interfaces::V02 { listing, .. } => listing.is_some(),
        }
    }

    /// Whether the signatures still need checking: until one instance's exports passed.
    pub(crate) fn unchecked(&self) -> bool {
        !self.checked.load(Ordering::Acquire)
    }

    /// Marks the signatures checked (after `load` and `resolve` passed on one instance).
    pub(crate) fn mark_checked(&self) {
        self.checked.store(true, Ordering::Release);
    }

    /// Loads the exports of one instance; with `check`, checking each signature against
    /// the contract.
    pub(crate) fn load(
        &self,
        store: &mut Store<StoreData>,
        instance: &Instance,
        check: bool,
    ) -> Result<Exports, LoadError> {
        Ok(match &self.interfaces {
            Interfaces::V01 { backend, handover } => {
                let version = ContractVersion::V0_1;
                Exports::V01 {
                    backend: backend
                        .load(&mut *store, instance, check)
                        .map_err(mismatch(version.backend_interface()))?,
                    handover: handover
                        .as_ref()
                        .map(|h| h.load(&mut *store, instance, check))
                        .transpose()
                        .map_err(mismatch(version.listing_interface()))?,
                }
            }
            Interfaces::V02 {
                backend,
                listing,
                batch,
            } => {
                let version = ContractVersion::V0_2;
                Exports::V02 {
                    backend: backend
                        .load(&mut *store, instance, check)
                        .map_err(mismatch(version.backend_interface()))?,
                    listing: listing
                        .as_ref()
                        .map(|l| l.load(&mut *store, instance, check))
                        .transpose()
                        .map_err(mismatch(version.listing_interface()))?,
                    batch: batch
                        .as_ref()
                        .map(|b| b.load(&mut *store, instance, check))
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
        backend: BackendV01,
        handover: Option<HandoverV01>,
    },
    V02 {
        backend: BackendV02,
        listing: Option<ListingV02>,
        batch: Option<BatchV02>,
    },
}

impl Exports {
    pub(crate) fn init(
        &self,
        store: &mut Store<StoreData>,
        options: &[(&str, &str)],
    ) -> Call<Result<(), Refusal>> {
        Ok(match self {
            Exports::V01 { backend, .. } => backend.init(store, options)?.0.map_err(v01_refusal),
            Exports::V02 { backend, .. } => backend.init(store, options)?.0.map_err(v02_refusal),
        })
    }

    pub(crate) fn get(&self, store: &mut Store<StoreData>, key: &[u8]) -> Call<Option<Vec<u8>>> {
        match self {
            Exports::V01 { backend, .. } => Ok(backend.get(store, key)?.0),
            Exports::V02 { backend, .. } => Ok(backend.get(store, key)?.0),
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
                .put(store, key, value, ttl_ms)?
                .0
                .map_err(v01_refusal),
            Exports::V02 { backend, .. } => backend
                .put(store, key, value, ttl_ms)?
                .0
                .map_err(v02_refusal),
        })
    }

    pub(crate) fn invalidate(&self, store: &mut Store<StoreData>, key: Option<&[u8]>) -> Call<()> {
        match self {
            Exports::V01 { backend, .. } => backend.invalidate(store, key),
            Exports::V02 { backend, .. } => backend.invalidate(store, key),
        }
    }

    /// `None`: 0.1 has no `remove`.
    pub(crate) fn remove(&self, store: &mut Store<StoreData>, key: &[u8]) -> Call<Option<bool>> {
        match self {
            Exports::V01 { .. } => Ok(None),
            Exports::V02 { backend, .. } => Ok(Some(backend.remove(store, key)?.0)),
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
                Ok(Some(backend.ttl(store, key)?.0.map(
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
            Exports::V02 { backend, .. } => Ok(Some(backend.set_ttl(store, key, ttl_ms)?.0)),
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
                let (page,) = handover.entries(store, cursor, limit)?;
                Ok(Some(EntryPage {
                    entries: page.entries.into_iter().map(from_v01_entry).collect(),
                    next: page.next.map(|next| next.to_le_bytes().to_vec()),
                }))
            }
            Exports::V02 {
                listing: Some(listing),
                ..
            } => {
                let (page,) = listing.entries(store, cursor, limit)?;
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
                let (page,) = listing.keys(store, cursor, limit)?;
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
            } => Ok(Some(batch.get_many(store, keys)?.0)),
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
                let (results,) = batch.put_many(store, &items)?;
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
            } => Ok(Some(batch.remove_many(store, keys)?.0)),
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
