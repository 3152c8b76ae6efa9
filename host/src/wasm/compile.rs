//! Compiling: tell what the bytes are, compile them (or load them from the compile
//! cache) and describe the component's interfaces.

use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::engine::Engine;
use super::names::{BACKEND_INTERFACE, ContractVersion};
use crate::error::{LoadError, Result};

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
    /// contract (use [`BackendComponent::from_bytes`](crate::BackendComponent::from_bytes)
    /// for that).
    pub fn inspect(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self> {
        Ok(compile(engine, name, bytes)?.1)
    }

    /// Whether the component imports any WASI interface.
    pub fn uses_wasi(&self) -> bool {
        self.imports.iter().any(|i| i.name.starts_with("wasi:"))
    }

    /// The version of the contract the component targets, judged from the `backend`
    /// interface it exports; `None` when it exports none this host serves.
    pub fn contract_version(&self) -> Option<ContractVersion> {
        self.exports
            .iter()
            .find_map(|e| ContractVersion::of_backend_interface(&e.name))
    }

    /// The world the component appears to target, judged from its exports.
    pub fn world(&self) -> Option<String> {
        let export = self.exports.iter().find(|e| {
            super::names::base_name(&e.name) == super::names::base_name(BACKEND_INTERFACE)
        })?;
        Some(export.name.replace("/backend", "/cache-backend"))
    }
}

/// Tells what the bytes are, compiles them and lists their interfaces.
pub(crate) fn compile(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
) -> Result<(Component, ComponentInfo), LoadError> {
    sniff_format(bytes)?;
    let sha256 = crate::digest::sha256_hex(bytes);
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
    let imports = ty
        .imports(wasm)
        .map(|(n, e)| describe(wasm, n, e.ty))
        .collect();
    let exports = ty
        .exports(wasm)
        .map(|(n, e)| describe(wasm, n, e.ty))
        .collect();
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

/// One import or export, with the functions it holds.
fn describe(engine: &wasmtime::Engine, name: &str, item: ComponentItem) -> InterfaceInfo {
    InterfaceInfo {
        name: name.to_string(),
        functions: match item {
            ComponentItem::ComponentInstance(instance) => instance
                .exports(engine)
                .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                .map(|(f, _)| f.to_string())
                .collect(),
            ComponentItem::ComponentFunc(_) => vec![name.to_string()],
            _ => Vec::new(),
        },
    }
}

/// Tells an empty file, a non-wasm file and a core module apart from a component before
/// handing anything to the compiler.
fn sniff_format(bytes: &[u8]) -> Result<(), LoadError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_format_tells_inputs_apart() {
        assert!(matches!(sniff_format(b""), Err(LoadError::Empty)));
        assert!(matches!(
            sniff_format(b"hello world"),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(sniff_format(b"\0asm"), Err(LoadError::NotWasm)));
        assert!(matches!(
            sniff_format(b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule)
        ));
        assert!(sniff_format(b"\0asm\x0d\0\x01\0").is_ok());
        assert!(matches!(
            sniff_format(b"\0asm\x0d\0\x02\0"),
            Err(LoadError::Invalid { .. })
        ));
    }
}
