//! Preparing a new version: `init` with the handle's options, then a self-check.

use std::hash::BuildHasher;
use std::sync::Arc;

use super::report::{ReloadError, ReloadStep};
use super::source::Source;
use crate::backend::{Backend, BackendFactory, FactoryInfo, InitOptions};
use crate::clock::SharedClock;
use crate::error::{Error, Result};

/// A new version, initialised and self-checked, not yet serving.
pub(crate) struct Prepared {
    pub(crate) info: FactoryInfo,
    /// What made it, kept so the same version can be started again (a compaction).
    pub(crate) factory: Arc<dyn BackendFactory>,
    pub(crate) backend: Box<dyn Backend>,
}

/// Initialises `factory` (loaded from `source`) with `options` and self-checks it.
pub(crate) fn prepare(
    source: &Source,
    factory: &Arc<dyn BackendFactory>,
    options: &InitOptions,
    clock: &SharedClock,
) -> Result<Prepared, ReloadError> {
    let fail = |step| ReloadError::at(source.name(), step);
    let backend = factory
        .init(options, clock.clone())
        .map_err(fail(ReloadStep::Init))?;
    self_check(&*backend).map_err(fail(ReloadStep::SelfCheck))?;
    Ok(Prepared {
        info: factory.info(),
        factory: factory.clone(),
        backend,
    })
}

/// A key no guest can predict: a backend cannot behave only for the self-check.
fn self_check_key(max_key_bytes: usize) -> Vec<u8> {
    let salt = std::hash::RandomState::new().hash_one(std::time::SystemTime::now());
    let mut key = format!("\0wasmcache:self-check:{salt:016x}").into_bytes();
    key.truncate(max_key_bytes.max(1));
    key
}

/// Put, get, invalidate and get again on an unpredictable key; then stats.
fn self_check(backend: &dyn Backend) -> Result<()> {
    let key = self_check_key(backend.size_limits().max_key_bytes);
    let violation = |what: &str| Error::ContractViolation(format!("self-check: {what}"));
    backend.put(&key, b"ok", None)?;
    if backend.get(&key)?.as_deref() != Some(&b"ok"[..]) {
        return Err(violation("a value just put was not returned"));
    }
    backend.invalidate(Some(&key))?;
    if backend.get(&key)?.is_some() {
        return Err(violation("an invalidated key was still returned"));
    }
    if backend.stats()?.size != 0 {
        return Err(violation(
            "a fresh backend holding nothing reports a non-zero size",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_check_keys_differ_and_fit_the_key_limit() {
        let (a, b) = (self_check_key(1024), self_check_key(1024));
        assert_ne!(a, b, "each reload checks a key of its own");
        assert!(a.starts_with(b"\0wasmcache:self-check:"));
        assert_eq!(self_check_key(4).len(), 4);
    }
}
