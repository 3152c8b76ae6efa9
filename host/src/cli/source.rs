//! Resolving the `COMPONENT` argument: a file, an embedded example, or the native backend.

use std::sync::Arc;

use wasmcache::{
    BackendComponent, BackendFactory, Engine, EngineConfig, Error, MemoryBackendFactory, builtin,
};

use super::{Failure, progress};

/// Help text shared by every subcommand that takes a component.
pub(super) const HELP: &str = "A component file, `builtin:NAME` for an embedded example \
(`builtin:memory`, the default, or `builtin:lru`), or `native` for the built-in native \
reference backend";

/// What the argument named.
pub(super) enum Source {
    File(std::path::PathBuf),
    Builtin(&'static str, &'static [u8]),
    Native,
}

impl Source {
    pub(super) fn parse(spec: Option<&str>) -> Result<Source, Failure> {
        let spec = spec.unwrap_or("builtin:memory");
        if spec == "native" {
            return Ok(Source::Native);
        }
        if let Some(name) = spec.strip_prefix("builtin:") {
            let names: Vec<_> = builtin::ALL.iter().map(|(n, _)| *n).collect();
            let (name, bytes) = builtin::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| {
                    Failure::Load(format!(
                        "no embedded backend `{name}`; there are: {}",
                        names.join(", ")
                    ))
                })?;
            return Ok(Source::Builtin(name, bytes));
        }
        Ok(Source::File(spec.into()))
    }

    /// How to name the source in messages.
    pub(super) fn label(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Builtin(name, _) => format!("builtin:{name}"),
            Source::Native => "native".into(),
        }
    }

    /// Reads and compiles a component source, with a spinner while Cranelift works.
    pub(super) fn load_component(
        &self,
        engine: &Engine,
        show_progress: bool,
    ) -> Result<BackendComponent, Failure> {
        let spinner = progress::spinner(show_progress, format!("compiling {}", self.label()));
        let loaded = match self {
            Source::File(path) => BackendComponent::from_file(engine, path),
            Source::Builtin(name, bytes) => BackendComponent::from_bytes(engine, name, bytes),
            Source::Native => {
                spinner.finish_and_clear();
                return Err(Failure::Load(
                    "`native` is the built-in native backend, not a component; name a file or `builtin:NAME`".into(),
                ));
            }
        };
        spinner.finish_and_clear();
        loaded.map_err(|e| self.load_failure(&e))
    }

    /// A factory for the source: a compiled component or the native backend.
    pub(super) fn factory(
        &self,
        engine: &EngineArgs,
        show_progress: bool,
    ) -> Result<(Arc<dyn BackendFactory>, Option<BackendComponent>), Failure> {
        if let Source::Native = self {
            return Ok((Arc::new(MemoryBackendFactory::default()), None));
        }
        let engine = engine.build()?;
        let component = self.load_component(&engine, show_progress)?;
        Ok((Arc::new(component.clone()), Some(component)))
    }

    pub(super) fn load_failure(&self, error: &Error) -> Failure {
        Failure::Load(format!("{}: {error}", self.label()))
    }
}

/// Engine options shared by the subcommands that compile components.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct EngineArgs {
    /// Keep compiled code in this private directory (created with mode 0700), so a
    /// component compiled once loads in milliseconds afterwards.
    #[arg(long, value_name = "DIR", env = "WASMCACHE_COMPILE_CACHE")]
    compile_cache: Option<std::path::PathBuf>,
}

impl EngineArgs {
    pub(super) fn build(&self) -> Result<Engine, Failure> {
        let config = EngineConfig {
            compile_cache: self.compile_cache.clone(),
            ..EngineConfig::default()
        };
        Engine::new(config).map_err(|e| Failure::Other(e.into()))
    }
}
