//! The on-disk compile cache: compiled code keyed by the component's digest and the
//! engine's configuration, so a component seen before skips Cranelift.
//!
//! Only code this host compiled itself is ever loaded back (deserializing compiled code
//! is `unsafe` in wasmtime because it is trusted as machine code). The directory must
//! therefore be private: it is created with mode `0700`, and one that another user owns or
//! that others may write to is refused.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use crate::error::{ConfigError, Result};

/// A directory of compiled components.
#[derive(Debug)]
pub(crate) struct CompileCache {
    dir: PathBuf,
    /// Distinguishes engines whose compiled code is not interchangeable.
    engine_key: String,
}

impl CompileCache {
    /// Opens (creating if needed) the cache in `dir` for `engine`.
    pub(crate) fn open(dir: &Path, engine: &wasmtime::Engine) -> Result<Self> {
        create_private_dir(dir)?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(CompileCache {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// The compiled component for `bytes` (whose SHA-256 is `sha256`), from the cache when
    /// present (`true`), otherwise compiled now and stored (`false`).
    pub(crate) fn load(
        &self,
        engine: &wasmtime::Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, bool)> {
        let path = self.path(sha256);
        if path.is_file() {
            // SAFETY: files in this private directory are written only by `store` below,
            // from code this process compiled with an engine of the same configuration
            // (the file name carries the engine's compatibility hash); wasmtime also
            // checks the header before use.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, true)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), "discarding unusable compiled code: {error:#}");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(error) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), "cannot store compiled code: {error:#}");
        }
        Ok((component, false))
    }

    /// Writes atomically: a temporary file, then a rename.
    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        let compiled = component.serialize()?;
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temporary, compiled)?;
        std::fs::rename(&temporary, path)?;
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> Result<(), ConfigError> {
    let refuse = |reason: String| ConfigError::CompileCache {
        dir: dir.display().to_string(),
        reason,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| refuse(format!("cannot create it: {e}")))?;
        let meta = std::fs::metadata(dir).map_err(|e| refuse(format!("cannot read it: {e}")))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(refuse(format!(
                "owned by uid {}, not by this process (uid {me})",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(refuse(format!(
                "others may write to it (mode {:o}); compiled code is trusted, so it must be private",
                meta.mode() & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(|e| refuse(format!("cannot create it: {e}")))?;
    Ok(())
}
