//! [`Loader`]: from a component's bytes (or file) to a [`BackendFactory`].

use std::path::Path;
use std::sync::Arc;

use super::traits::BackendFactory;
use crate::error::{LoadError, Result};

/// Turns a component's bytes into a [`BackendFactory`]: how a reload or the server loads
/// a new version without knowing the engine that compiles and runs it.
pub trait Loader: Send + Sync {
    /// Compiles and validates `bytes` (called `name` in messages) as a backend.
    fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<dyn BackendFactory>>;

    /// Reads the file at `path` and [`load`](Loader::load)s it under its file name.
    fn load_file(&self, path: &Path) -> Result<Arc<dyn BackendFactory>> {
        let (name, bytes) = read_component_file(path)?;
        self.load(&name, &bytes)
    }
}

/// Reads the component at `path`, returning its file name and bytes.
pub(crate) fn read_component_file(path: &Path) -> Result<(String, Vec<u8>), LoadError> {
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
