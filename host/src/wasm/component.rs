//! [`BackendComponent`]: a compiled component validated against the contract, and the
//! factory of sandboxed [`WasmBackend`]s.

use std::path::Path;
use std::sync::Arc;

use super::backend::WasmBackend;
use super::compile::{ComponentInfo, compile};
use super::engine::Engine;
use super::exports::ExportIndices;
use super::faults::link_error;
use super::instance::ComponentParts;
use super::names::{BACKEND_INTERFACE, ContractVersion, base_name};
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
        let version = check_exports(&info)?;
        check_imports(&info, version, engine.linker(true).is_some())?;
        let linker = engine
            .linker(uses_wasi)
            .ok_or_else(|| unknown_wasi_import(&info))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| link_error(&e))?;
        let exported: Vec<&str> = info.exports.iter().map(|e| e.name.as_str()).collect();
        let exports = ExportIndices::new(version, &pre, &exported)?;
        let backend = version.backend_interface();
        let stats = component
            .get_export_index(None, backend)
            .and_then(|interface| component.get_export_index(Some(&interface), "stats"))
            .ok_or_else(|| LoadError::Mismatch {
                interface: backend.into(),
                reason: "no `stats` function".into(),
            })?;
        Ok(BackendComponent {
            parts: Arc::new(ComponentParts {
                engine: engine.clone(),
                pre,
                version,
                exports,
                stats,
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
                version: parts.version,
                exports: parts.exports.clone(),
                stats: parts.stats,
                info: parts.info.clone(),
                limits,
            }),
        })
    }

    /// What the component is.
    pub fn info(&self) -> &ComponentInfo {
        &self.parts.info
    }

    /// The version of the contract it targets.
    pub fn contract_version(&self) -> ContractVersion {
        self.parts.version
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

/// The version of the contract the component targets: the one whose `backend` interface
/// it exports.
fn check_exports(info: &ComponentInfo) -> Result<ContractVersion, LoadError> {
    if let Some(version) = info
        .exports
        .iter()
        .find_map(|e| ContractVersion::of_backend_interface(&e.name))
    {
        return Ok(version);
    }
    let wanted = base_name(BACKEND_INTERFACE);
    if let Some(other) = info.exports.iter().find(|e| base_name(&e.name) == wanted) {
        return Err(LoadError::WrongVersion {
            found: other.name.clone(),
            expected: served_backends(),
        });
    }
    let found = info
        .exports
        .iter()
        .map(|e| format!("`{}`", e.name))
        .collect::<Vec<_>>()
        .join(", ");
    Err(LoadError::MissingExport {
        expected: served_backends(),
        found,
    })
}

/// The `backend` interfaces the host serves, for messages.
fn served_backends() -> String {
    ContractVersion::ALL
        .map(|version| format!("`{}`", version.backend_interface()))
        .join(" or ")
}

fn check_imports(
    info: &ComponentInfo,
    version: ContractVersion,
    wasi_available: bool,
) -> Result<(), LoadError> {
    let host = version.host_interface();
    for import in &info.imports {
        let name = import.name.as_str();
        if name == host {
            continue;
        }
        if base_name(name) == base_name(host) {
            return Err(LoadError::WrongVersion {
                found: name.into(),
                expected: format!("`{host}`"),
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
                "; a backend of contract {version} may import only `{host}` (and WASI 0.2, linked with nothing granted)"
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
