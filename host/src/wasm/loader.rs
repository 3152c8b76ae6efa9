//! [`ComponentLoader`]: the engine and the limits, as the [`Loader`] that reloads and the
//! server use to turn component bytes into a backend factory.

use std::sync::Arc;

use super::component::{BackendComponent, check_memory_slot};
use super::engine::Engine;
use crate::backend::{BackendFactory, Loader};
use crate::error::Result;
use crate::sandbox::Limits;

/// Compiles components on an [`Engine`] and gives their backends one set of [`Limits`].
///
/// ```
/// use std::sync::Arc;
/// use wasmcache::{ComponentLoader, Engine, EngineConfig, Limits, Loader, builtin};
///
/// let loader = ComponentLoader::new(&Engine::new(EngineConfig::default())?, Limits::default())?;
/// let factory = loader.load("memory", builtin::MEMORY)?;
/// assert_eq!(factory.name(), "memory");
/// # Ok::<(), wasmcache::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ComponentLoader {
    engine: Engine,
    limits: Arc<Limits>,
}

impl ComponentLoader {
    /// A loader on `engine` whose backends run under `limits` (checked against the
    /// engine's pooled memory slot now, not at the first load).
    pub fn new(engine: &Engine, limits: Limits) -> Result<Self> {
        check_memory_slot(engine, &limits)?;
        Ok(ComponentLoader {
            engine: engine.clone(),
            limits: Arc::new(limits),
        })
    }

    /// The engine it compiles on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits its backends run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles and validates `bytes`, returning the concrete component.
    pub fn component(&self, name: &str, bytes: &[u8]) -> Result<BackendComponent> {
        BackendComponent::from_bytes(&self.engine, name, bytes)?.with_limits(self.limits.clone())
    }
}

impl Loader for ComponentLoader {
    fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<dyn BackendFactory>> {
        Ok(Arc::new(self.component(name, bytes)?))
    }
}
