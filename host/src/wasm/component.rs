//! Loading: read, classify, compile and validate a component against the contract.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre};

use super::bindings::exports::wasmcache::backend::{backend, handover};
use super::{BACKEND_INTERFACE, HANDOVER_INTERFACE, HOST_INTERFACE, HostState, WasmBackend};
use crate::backend::{Backend, BackendFactory, InitOptions};
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::error::{Error, LoadError, Result};
use crate::sandbox::Limits;

/// What a component is: its name, size, digest, compile time and interfaces. Produced for
/// any component that compiles, whether or not it is a valid backend (`wasmcache inspect`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentInfo {
    /// The file name, or the name the bytes were given.
    pub name: String,
    /// Size of the binary in bytes.
    pub size_bytes: usize,
    /// SHA-256 of the binary, lower-case hex.
    pub sha256: String,
    /// How long compiling it took (or loading it from the compile cache).
    #[serde(serialize_with = "as_millis")]
    pub compile_time: Duration,
    /// Whether the compiled code came from the engine's compile cache.
    pub from_cache: bool,
    /// Imported interfaces (and loose functions), with their functions.
    pub imports: Vec<InterfaceInfo>,
    /// Exported interfaces (and loose functions), with their functions.
    pub exports: Vec<InterfaceInfo>,
}

/// One imported or exported item of a component.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InterfaceInfo {
    /// Its full name, such as `wasmcache:backend/backend@0.1.0`.
    pub name: String,
    /// Functions it holds (for an instance) or `[name]` for a loose function.
    pub functions: Vec<String>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

impl ComponentInfo {
    /// Compiles `bytes` and describes the component, without checking it against the
    /// contract (use [`BackendComponent::from_bytes`] for that).
    pub fn inspect(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self> {
        Ok(compile(engine, name, bytes)?.1)
    }

    /// Whether the component imports any WASI interface.
    pub fn uses_wasi(&self) -> bool {
        self.imports.iter().any(|i| i.name.starts_with("wasi:"))
    }

    /// The world the component appears to target, judged from its exports.
    pub fn world(&self) -> Option<String> {
        let export = self
            .exports
            .iter()
            .find(|e| e.name.starts_with("wasmcache:backend/backend"))?;
        Some(export.name.replace("/backend", "/cache-backend"))
    }
}

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
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) backend: backend::GuestIndices,
    /// Present when the component exports the optional `handover` interface.
    pub(crate) handover: Option<handover::GuestIndices>,
    pub(crate) uses_wasi: bool,
    pub(crate) info: ComponentInfo,
    pub(crate) limits: Limits,
}

impl std::fmt::Debug for BackendComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendComponent")
            .field("info", &self.inner.info)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl BackendComponent {
    /// Reads, compiles and validates the component at `path`.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let (name, bytes) = read_file(path.as_ref())?;
        Self::from_bytes(engine, &name, &bytes)
    }

    /// Compiles and validates `bytes`; `name` is used in messages and logs.
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
        let handover = if info.exports.iter().any(|e| e.name == HANDOVER_INTERFACE) {
            Some(handover::GuestIndices::new(&pre).map_err(mismatch(HANDOVER_INTERFACE))?)
        } else {
            None
        };
        Ok(BackendComponent {
            inner: Arc::new(Inner {
                engine: engine.clone(),
                pre,
                backend,
                handover,
                uses_wasi,
                info,
                limits: Limits::default(),
            }),
        })
    }

    /// The same component, giving `limits` to backends created from now on.
    pub fn with_limits(self, limits: Limits) -> Result<Self> {
        if let Some(pool) = &self.inner.engine.config().pooling
            && limits.max_memory_bytes > pool.max_memory_bytes
        {
            return Err(Error::Config(format!(
                "max_memory_bytes ({}) exceeds the engine's pooled memory slot ({} bytes)",
                limits.max_memory_bytes, pool.max_memory_bytes
            )));
        }
        let inner = &self.inner;
        Ok(BackendComponent {
            inner: Arc::new(Inner {
                engine: inner.engine.clone(),
                pre: inner.pre.clone(),
                backend: inner.backend.clone(),
                handover: inner.handover.clone(),
                uses_wasi: inner.uses_wasi,
                info: inner.info.clone(),
                limits,
            }),
        })
    }

    /// What the component is.
    pub fn info(&self) -> &ComponentInfo {
        &self.inner.info
    }

    /// The limits given to backends created from it.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Creates a backend and runs its `init(options)`, returning the concrete type.
    pub fn instantiate(&self, options: &InitOptions, clock: SharedClock) -> Result<WasmBackend> {
        WasmBackend::start(self.inner.clone(), options.clone(), clock)
    }
}

impl BackendFactory for BackendComponent {
    fn name(&self) -> &str {
        &self.inner.info.name
    }

    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>> {
        Ok(Box::new(self.instantiate(options, clock)?))
    }
}

/// Reads the component at `path`, returning its file name and bytes.
pub(crate) fn read_file(path: &Path) -> Result<(String, Vec<u8>), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, bytes))
}

/// Classifies the bytes, compiles them and lists their interfaces.
pub(crate) fn compile(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
) -> Result<(Component, ComponentInfo), LoadError> {
    classify(bytes)?;
    let sha256 = hex(&Sha256::digest(bytes));
    let started = Instant::now();
    let compiled = match engine.compile_cache() {
        Some(cache) => cache.load(engine.wasmtime(), &sha256, bytes),
        None => Component::new(engine.wasmtime(), bytes).map(|c| (c, false)),
    };
    let (component, from_cache) = compiled.map_err(|e| LoadError::Invalid {
        reason: format!("{e:#}"),
    })?;
    let compile_time = started.elapsed();
    let ty = component.component_type();
    let wasm = engine.wasmtime();
    let list = |items: &mut dyn Iterator<Item = (&str, ComponentItem)>| -> Vec<InterfaceInfo> {
        items
            .map(|(name, item)| InterfaceInfo {
                name: name.to_string(),
                functions: match item {
                    ComponentItem::ComponentInstance(instance) => instance
                        .exports(wasm)
                        .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                        .map(|(f, _)| f.to_string())
                        .collect(),
                    ComponentItem::ComponentFunc(_) => vec![name.to_string()],
                    _ => Vec::new(),
                },
            })
            .collect()
    };
    let imports = list(&mut ty.imports(wasm).map(|(n, e)| (n, e.ty)));
    let exports = list(&mut ty.exports(wasm).map(|(n, e)| (n, e.ty)));
    let info = ComponentInfo {
        name: name.to_string(),
        size_bytes: bytes.len(),
        sha256,
        compile_time,
        from_cache,
        imports,
        exports,
    };
    Ok((component, info))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tells an empty file, a non-wasm file and a core module apart from a component before
/// handing anything to the compiler.
fn classify(bytes: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8; 4] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    const COMPONENT_LAYER: [u8; 2] = [1, 0];
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(LoadError::NotWasm);
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(LoadError::CoreModule);
    }
    if bytes[6..8] != COMPONENT_LAYER {
        return Err(LoadError::Invalid {
            reason: format!("unknown WebAssembly binary layer {:?}", &bytes[4..8]),
        });
    }
    Ok(())
}

fn base_name(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
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

/// Maps an error from resolving or type-checking `interface`'s exports to a load error.
pub(crate) fn mismatch(interface: &'static str) -> impl Fn(wasmtime::Error) -> LoadError {
    move |e| LoadError::Mismatch {
        interface: interface.into(),
        reason: format!("{e:#}"),
    }
}

/// Turns a linker error into the import that could not be satisfied, when it names one.
fn link_error(error: &wasmtime::Error) -> LoadError {
    let text = format!("{error:#}");
    let named = text
        .split_once("imports ")
        .and_then(|(_, rest)| rest.split('`').nth(1))
        .filter(|_| text.contains("matching implementation was not found"));
    match named {
        Some(name) => LoadError::UnknownImport {
            name: name.into(),
            hint: format!(" with this signature or version ({text})"),
        },
        None => LoadError::Mismatch {
            interface: "imports".into(),
            reason: text,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_tells_inputs_apart() {
        assert!(matches!(classify(b""), Err(LoadError::Empty)));
        assert!(matches!(classify(b"hello world"), Err(LoadError::NotWasm)));
        assert!(matches!(classify(b"\0asm"), Err(LoadError::NotWasm)));
        assert!(matches!(
            classify(b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule)
        ));
        assert!(classify(b"\0asm\x0d\0\x01\0").is_ok());
        assert!(matches!(
            classify(b"\0asm\x0d\0\x02\0"),
            Err(LoadError::Invalid { .. })
        ));
    }

    #[test]
    fn base_name_drops_the_version() {
        assert_eq!(
            base_name("wasmcache:backend/backend@0.1.0"),
            "wasmcache:backend/backend"
        );
        assert_eq!(base_name("plain"), "plain");
    }
}
