//! The linkers every component is instantiated with: the contract's `host` interface,
//! and, when the policy allows it, deny-all WASI 0.2 beside it.

use wasmtime::component::Linker;

use super::imports::{host, wasi_io, wasi_random};
use super::store::StoreData;
use crate::error::ConfigError;
use crate::sandbox::WasiPolicy;

/// The two linkers of an engine.
pub(crate) struct Linkers {
    /// The contract's `host` interface only.
    plain: Linker<StoreData>,
    /// The `host` interface plus deny-all WASI, when the policy allows WASI.
    wasi: Option<Linker<StoreData>>,
}

impl Linkers {
    pub(crate) fn new(engine: &wasmtime::Engine, policy: WasiPolicy) -> Result<Self, ConfigError> {
        let wasi = match policy {
            WasiPolicy::DenyAll => Some(wasi_linker(engine)?),
            WasiPolicy::Unavailable => None,
        };
        Ok(Linkers {
            plain: host_linker(engine)?,
            wasi,
        })
    }

    /// The linker for a component that imports WASI (`with_wasi`) or not; `None` when it
    /// imports WASI and the policy forbids it.
    pub(crate) fn get(&self, with_wasi: bool) -> Option<&Linker<StoreData>> {
        if with_wasi {
            self.wasi.as_ref()
        } else {
            Some(&self.plain)
        }
    }
}

fn host_linker(engine: &wasmtime::Engine) -> Result<Linker<StoreData>, ConfigError> {
    let mut linker = Linker::new(engine);
    host::add_to_linker(&mut linker, |data: &StoreData| &data.host)
        .map_err(|e| engine_error("cannot link the host interface", &e))?;
    Ok(linker)
}

fn wasi_linker(engine: &wasmtime::Engine) -> Result<Linker<StoreData>, ConfigError> {
    let mut linker = host_linker(engine)?;
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .and_then(|()| {
            // Our replacements for some of wasmtime-wasi's functions, defined over them.
            linker.allow_shadowing(true);
            wasi_io::add_to_linker(&mut linker)?;
            wasi_random::add_to_linker(&mut linker)?;
            linker.allow_shadowing(false);
            Ok(())
        })
        .map_err(|e| engine_error("cannot link WASI", &e))?;
    Ok(linker)
}

pub(crate) fn engine_error(what: &str, error: &wasmtime::Error) -> ConfigError {
    ConfigError::Engine {
        reason: format!("{what}: {error:#}"),
    }
}
