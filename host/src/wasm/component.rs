//! [`BackendComponent`]: a compiled component validated against the contract, and the
//! factory of sandboxed [`WasmBackend`]s.

use std::path::Path;
use std::sync::Arc;

use super::backend::WasmBackend;
use super::bindings::exports::wasmcache::backend::{backend, handover};
use super::compile::{ComponentInfo, compile};
use super::engine::Engine;
use super::faults::{link_error, mismatch};
use super::instance::ComponentParts;
use super::names::{BACKEND_INTERFACE, HANDOVER_INTERFACE, HOST_INTERFACE, base_name};
use crate::backend::{Backend, BackendFactory, FactoryInfo, InitOptions, read_component_file};
use crate::clock::SharedClock;
use crate::error::{ConfigError, LoadError, Result};
use crate::sandbox::Limits;

/// A compiled component that passed validation against the contract. Cheap to clone.
///
/// It is a [`BackendFactory`]: each [`init`](BackendFactory::init) instantiates it into a
/// fresh sandboxed [`WasmBackend`].
///
/// ```no_run
/// use wasmcache::{BackendComponent, BackendFactory, Engine, EngineConfig, SystemClock};
///
/// let engine = Engine::new(EngineConfig::default())?;
/// let component = BackendComponent::from_file(&engine, "my-backend.wasm")?;
/// let backend = component.init(&vec![("max-entries".into(), "1000".into())], SystemClock::shared())?;
/// backend.put(b"key", b"value", Some(60_000))?;
/// # Ok::<(), wasmcache::Error>(())
/// ```
#[derive(Clone)]
pub struct BackendComponent {
    parts: Arc<ComponentParts>,
}

impl std::fmt::Debug for BackendComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendComponent")
            .field("info", &self.parts.info)
            .field("limits", &self.parts.limits)
            .finish_non_exhaustive()
    }
}

impl BackendComponent {
    /// Reads, compiles and validates the component at `path`.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let (name, bytes) = read_component_file(path.as_ref())?;
        Self::from_bytes(engine, &name, &bytes)
    }

    /// Compiles and validates `bytes`; `name` is used in messages and logs. Backends made
    /// from it get [`Limits::default`] until [`with_limits`](Self::with_limits).
    pub fn from_bytes(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self> {
        let (component, info) = compile(engine, name, bytes)?;
        let uses_wasi = info.uses_wasi();
        check_exports(&info)?;
        check_imports(&info, engine.linker(true).is_some())?;
        let linker = engine
            .linker(uses_wasi)
            .ok_or_else(|| unknown_wasi_import(&info))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| link_error(&e))?;
        let backend = backend::GuestIndices::new(&pre).map_err(mismatch(BACKEND_INTERFACE))?;
        let stats = component
            .get_export_index(None, BACKEND_INTERFACE)
            .and_then(|interface| component.get_export_index(Some(&interface), "stats"))
            .ok_or_else(|| LoadError::Mismatch {
                interface: BACKEND_INTERFACE.into(),
                reason: "no `stats` function".into(),
            })?;
        let handover = if info.exports.iter().any(|e| e.name == HANDOVER_INTERFACE) {
            Some(handover::GuestIndices::new(&pre).map_err(mismatch(HANDOVER_INTERFACE))?)
        } else {
            None
        };
        Ok(BackendComponent {
            parts: Arc::new(ComponentParts {
                engine: engine.clone(),
                pre,
                backend,
                stats,
                handover,
                uses_wasi,
                info,
                limits: Arc::default(),
            }),
        })
    }

    /// The same component, giving `limits` to backends created from now on.
    pub fn with_limits(self, limits: impl Into<Arc<Limits>>) -> Result<Self> {
        let limits = limits.into();
        let parts = &self.parts;
        check_memory_slot(&parts.engine, &limits)?;
        Ok(BackendComponent {
            parts: Arc::new(ComponentParts {
                engine: parts.engine.clone(),
                pre: parts.pre.clone(),
                backend: parts.backend.clone(),
                stats: parts.stats,
                handover: parts.handover.clone(),
                uses_wasi: parts.uses_wasi,
                info: parts.info.clone(),
                limits,
            }),
        })
    }

    /// What the component is.
    pub fn info(&self) -> &ComponentInfo {
        &self.parts.info
    }

    /// The limits given to backends created from it.
    pub fn limits(&self) -> &Limits {
        &self.parts.limits
    }

    /// Creates a backend and runs its `init(options)`, returning the concrete type.
    pub fn instantiate(&self, options: &InitOptions, clock: SharedClock) -> Result<WasmBackend> {
        WasmBackend::start(self.parts.clone(), options.clone(), clock)
    }
}

impl BackendFactory for BackendComponent {
    fn name(&self) -> &str {
        &self.parts.info.name
    }

    fn info(&self) -> FactoryInfo {
        let info = &self.parts.info;
        FactoryInfo {
            name: info.name.clone(),
            sha256: Some(info.sha256.clone()),
            from_cache: info.from_cache,
        }
    }

    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>> {
        Ok(Box::new(self.instantiate(options, clock)?))
    }
}

/// Fails when `limits` allow more memory than the engine's pooled memory slot holds.
pub(crate) fn check_memory_slot(engine: &Engine, limits: &Limits) -> Result<(), ConfigError> {
    match &engine.config().pooling {
        Some(pool) if limits.max_memory_bytes > pool.max_memory_bytes => {
            Err(ConfigError::MemoryOverSlot {
                requested: limits.max_memory_bytes,
                slot: pool.max_memory_bytes,
            })
        }
        _ => Ok(()),
    }
}

fn check_exports(info: &ComponentInfo) -> Result<(), LoadError> {
    if info.exports.iter().any(|e| e.name == BACKEND_INTERFACE) {
        return Ok(());
    }
    let wanted = base_name(BACKEND_INTERFACE);
    if let Some(other) = info.exports.iter().find(|e| base_name(&e.name) == wanted) {
        return Err(LoadError::WrongVersion {
            found: other.name.clone(),
            expected: BACKEND_INTERFACE.into(),
        });
    }
    let found = info
        .exports
        .iter()
        .map(|e| format!("`{}`", e.name))
        .collect::<Vec<_>>()
        .join(", ");
    Err(LoadError::MissingExport {
        expected: BACKEND_INTERFACE.into(),
        found,
    })
}

fn check_imports(info: &ComponentInfo, wasi_available: bool) -> Result<(), LoadError> {
    for import in &info.imports {
        let name = import.name.as_str();
        if name == HOST_INTERFACE {
            continue;
        }
        if base_name(name) == base_name(HOST_INTERFACE) {
            return Err(LoadError::WrongVersion {
                found: name.into(),
                expected: HOST_INTERFACE.into(),
            });
        }
        if name.starts_with("wasi:") {
            if !wasi_available {
                return Err(unknown_wasi_import(info));
            }
            continue;
        }
        return Err(LoadError::UnknownImport {
            name: name.into(),
            hint: format!(
                "; a backend may import only `{HOST_INTERFACE}` (and WASI 0.2, linked with nothing granted)"
            ),
        });
    }
    Ok(())
}

fn unknown_wasi_import(info: &ComponentInfo) -> LoadError {
    let name = info
        .imports
        .iter()
        .find(|i| i.name.starts_with("wasi:"))
        .map_or("wasi:*", |i| &i.name);
    LoadError::UnknownImport {
        name: name.into(),
        hint: "; WASI is switched off on this host (WasiPolicy::Unavailable): build a WASI-free \
               component, e.g. for wasm32-unknown-unknown"
            .into(),
    }
}
