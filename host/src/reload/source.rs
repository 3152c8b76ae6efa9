//! [`Source`]: where a new backend version comes from, and how it becomes a factory.

use std::path::PathBuf;
use std::sync::Arc;

use super::report::{ReloadError, ReloadStep};
use crate::backend::{BackendFactory, Loader, read_component_file};
use crate::error::ConfigError;

/// Where a new backend version comes from.
#[derive(Clone)]
pub enum Source {
    /// A factory ready to use (a compiled component, the native backend): a reload then
    /// only initialises it, e.g. to reload many shards with one compile.
    Factory(Arc<dyn BackendFactory>),
    /// Component bytes in memory, with a name for messages; compiled by the handle's
    /// [`Loader`].
    Bytes {
        /// Shown in logs and stats.
        name: String,
        /// The component.
        bytes: Arc<[u8]>,
    },
    /// A component file, read when the reload runs and compiled by the handle's
    /// [`Loader`].
    Path(PathBuf),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Source").field(&self.name()).finish()
    }
}

impl From<PathBuf> for Source {
    fn from(path: PathBuf) -> Self {
        Source::Path(path)
    }
}

impl From<&std::path::Path> for Source {
    fn from(path: &std::path::Path) -> Self {
        Source::Path(path.to_path_buf())
    }
}

impl From<Arc<dyn BackendFactory>> for Source {
    fn from(factory: Arc<dyn BackendFactory>) -> Self {
        Source::Factory(factory)
    }
}

impl Source {
    /// A source of `bytes` called `name`.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Source::Bytes {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// A source that is `factory` itself.
    pub fn factory(factory: impl BackendFactory + 'static) -> Self {
        Source::Factory(Arc::new(factory))
    }

    /// How the source is named in messages.
    pub fn name(&self) -> String {
        match self {
            Source::Factory(factory) => factory.name().to_string(),
            Source::Bytes { name, .. } => name.clone(),
            Source::Path(path) => path.display().to_string(),
        }
    }

    /// The factory: read (for a path) and compiled by `loader`, unless it is one already.
    pub(crate) fn resolve(
        &self,
        loader: Option<&dyn Loader>,
    ) -> Result<Arc<dyn BackendFactory>, ReloadError> {
        let fail = |step| ReloadError::at(self.name(), step);
        let needs_loader =
            || fail(ReloadStep::Compile)(ConfigError::NoLoader { name: self.name() }.into());
        match self {
            Source::Factory(factory) => Ok(factory.clone()),
            Source::Bytes { name, bytes } => loader
                .ok_or_else(needs_loader)?
                .load(name, bytes)
                .map_err(fail(ReloadStep::Compile)),
            Source::Path(path) => {
                let loader = loader.ok_or_else(needs_loader)?;
                let (file_name, bytes) =
                    read_component_file(path).map_err(|e| fail(ReloadStep::Read)(e.into()))?;
                loader
                    .load(&file_name, &bytes)
                    .map_err(fail(ReloadStep::Compile))
            }
        }
    }
}
