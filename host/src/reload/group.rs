//! [`BackendGroup`]: several handles of one backend (a server's shards), loaded with one
//! compile and reloaded together.

use std::path::Path;
use std::sync::Arc;

use super::handle::{BackendHandle, HandleBuilder, Swap};
use super::report::{HandleStatus, ReloadError, ReloadReport};
use super::source::Source;
use super::watch::{Reloadable, WatchConfig, Watcher};
use crate::error::Result;

/// `count` handles of the same backend, reloaded all or nothing. Cheap to clone.
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
        let factory = source
            .into()
            .resolve(builder.loader.as_deref())
            .map_err(ReloadError::on_first_load)?;
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

    /// The group's reload bookkeeping: the first handle's (a reload moves all together),
    /// with compactions, which each handle runs on its own, and handover entries summed.
    pub fn status(&self) -> HandleStatus {
        let mut status = self.handles[0].status();
        let all: Vec<HandleStatus> = self.handles.iter().map(BackendHandle::status).collect();
        status.compactions = all.iter().map(|s| s.compactions).sum();
        status.handover_entries = all.iter().map(|s| s.handover_entries).sum();
        status
    }

    /// Reloads every handle with `source`, resolving it once: all or nothing. Every
    /// handle's new backend is initialised, self-checked and handed its entries first;
    /// only when all are ready are they swapped, together, with every handle's writers
    /// held back for the moment of the swap. If any handle's version fails, none swaps,
    /// and the rejection is counted and kept on every handle.
    pub fn reload_blocking(
        &self,
        source: impl Into<Source>,
    ) -> Result<Vec<ReloadReport>, ReloadError> {
        let source = source.into();
        let _span = tracing::info_span!(target: "wasmcache::reload", "reload", component = %source.name(), shards = self.handles.len()).entered();
        let started = std::time::Instant::now();
        let _reloads: Vec<_> = self.handles.iter().map(|h| h.lock_reloads()).collect();
        let prepared = source
            .resolve(self.handles[0].loader().map(|l| &**l))
            .and_then(|factory| {
                let one = Source::Factory(factory);
                self.handles
                    .iter()
                    .map(|handle| handle.prepare(&one))
                    .collect::<Result<Vec<_>, _>>()
            });
        let prepared = prepared.inspect_err(|error| {
            for handle in self.handles.iter() {
                handle.record_rejection(error);
            }
        })?;
        let staged: Vec<_> = self
            .handles
            .iter()
            .zip(prepared)
            .map(|(handle, prepared)| handle.stage(prepared))
            .collect();
        let gates: Vec<_> = self.handles.iter().map(|h| h.hold_writers()).collect();
        let reports = self
            .handles
            .iter()
            .zip(staged)
            .zip(&gates)
            .map(|((handle, staged), gate)| handle.commit(staged, gate, started, Swap::Reload))
            .collect();
        drop(gates);
        Ok(reports)
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
