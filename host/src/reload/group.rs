//! [`BackendGroup`]: several handles of one backend (a server's shards), loaded with one
//! compile and reloaded together.

use std::path::Path;
use std::sync::Arc;

use super::handle::{BackendHandle, HandleBuilder};
use super::report::{HandleStatus, ReloadError, ReloadReport};
use super::source::Source;
use super::watch::{Reloadable, WatchConfig, Watcher};
use crate::error::Result;

/// `count` handles of the same backend. Cheap to clone.
///
/// ```
/// use wasmcache::reload::{BackendGroup, BackendHandle, Source};
/// use wasmcache::{Backend, MemoryBackendFactory};
///
/// let group = BackendGroup::load(BackendHandle::builder(), Source::factory(MemoryBackendFactory::default()), 4)?;
/// assert_eq!(group.handles().len(), 4);
/// group.handles()[0].put(b"k", b"v", None)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct BackendGroup {
    handles: Arc<[BackendHandle]>,
}

impl BackendGroup {
    /// Resolves `source` once (one compile) and loads `count` handles of it (at least one).
    pub fn load(
        builder: HandleBuilder,
        source: impl Into<Source>,
        count: usize,
    ) -> Result<Self, ReloadError> {
        let factory = source.into().resolve(builder.loader.as_deref())?;
        let handles = (0..count.max(1))
            .map(|_| builder.clone().load(Source::Factory(factory.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BackendGroup {
            handles: handles.into(),
        })
    }

    /// Every handle.
    pub fn handles(&self) -> &[BackendHandle] {
        &self.handles
    }

    /// The first handle's reload bookkeeping.
    pub fn status(&self) -> HandleStatus {
        self.handles[0].status()
    }

    /// Reloads every handle with `source`, resolving it once. Handles are reloaded one
    /// after another; a failure stops there and is reported.
    pub fn reload_blocking(
        &self,
        source: impl Into<Source>,
    ) -> Result<Vec<ReloadReport>, ReloadError> {
        let source = source.into();
        let first = &self.handles[0];
        let factory = source
            .resolve(first.loader().map(|l| &**l))
            .map_err(|e| first.rejected(e))?;
        self.handles
            .iter()
            .map(|handle| handle.reload_blocking(Source::Factory(factory.clone())))
            .collect()
    }

    /// Reloads every handle whenever the file at `path` changes, until the returned
    /// [`Watcher`] is dropped.
    pub fn watch(&self, path: impl AsRef<Path>, config: WatchConfig) -> Result<Watcher> {
        super::watch::spawn(path.as_ref(), config, Arc::new(self.clone()))
    }
}

impl Reloadable for BackendGroup {
    fn serving_sha256(&self) -> Option<String> {
        self.handles[0].current().component.sha256.clone()
    }

    fn reload_source(&self, source: Source) -> bool {
        self.reload_blocking(source).is_ok()
    }
}
