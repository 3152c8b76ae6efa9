//! The backend a subcommand works on: the `COMPONENT` argument (a file, an embedded
//! example, or the native backend), the `-o KEY=VALUE` options for its `init`, and the
//! engine options, shared by `check`, `bench` and `serve` (and `inspect`, which takes no
//! options).

use std::path::PathBuf;
use std::sync::Arc;

use wasmcache::{
    BackendComponent, BackendFactory, ComponentLoader, Engine, EngineConfig, Error, Limits,
    MemoryBackendFactory, builtin,
};

use super::outcome::Failure;
use super::progress;

/// Help text of the `COMPONENT` argument.
pub(super) const HELP: &str = "A component file, `builtin:NAME` for an embedded example \
(`builtin:memory`, the default, or `builtin:lru`), or `native` for the built-in native \
reference backend";

/// What the `COMPONENT` argument named.
pub(super) enum BackendArg {
    File(PathBuf),
    Builtin(&'static str, &'static [u8]),
    Native,
}

impl BackendArg {
    pub(super) fn parse(spec: Option<&str>) -> Result<BackendArg, Failure> {
        let spec = spec.unwrap_or("builtin:memory");
        if spec == "native" {
            return Ok(BackendArg::Native);
        }
        if let Some(name) = spec.strip_prefix("builtin:") {
            let (name, bytes) = builtin::by_name(name).ok_or_else(|| {
                let names: Vec<_> = builtin::ALL.iter().map(|(n, _)| *n).collect();
                Failure::Load(format!(
                    "no embedded backend `{name}`; there are: {}",
                    names.join(", ")
                ))
            })?;
            return Ok(BackendArg::Builtin(name, bytes));
        }
        Ok(BackendArg::File(spec.into()))
    }

    /// How to name the backend in messages.
    pub(super) fn label(&self) -> String {
        match self {
            BackendArg::File(path) => path.display().to_string(),
            BackendArg::Builtin(name, _) => format!("builtin:{name}"),
            BackendArg::Native => "native".into(),
        }
    }

    /// The component's bytes; `None` for the native backend.
    pub(super) fn bytes(&self) -> Result<Option<Arc<[u8]>>, Failure> {
        match self {
            BackendArg::File(path) => std::fs::read(path)
                .map(|bytes| Some(bytes.into()))
                .map_err(|e| Failure::Load(format!("{}: cannot read: {e}", path.display()))),
            BackendArg::Builtin(_, bytes) => Ok(Some((*bytes).into())),
            BackendArg::Native => Ok(None),
        }
    }

    pub(super) fn load_failure(&self, error: &Error) -> Failure {
        Failure::Load(format!("{}: load failed: {error}", self.label()))
    }

    /// A failure to start a backend, naming the step: the type check of its exports
    /// (done when it is first instantiated), instantiation, or `init` itself.
    pub(super) fn start_failure(&self, error: &Error) -> Failure {
        let step = match error {
            Error::Load(wasmcache::LoadError::Mismatch { .. }) => "type check failed",
            Error::Load(_) => "instantiation failed",
            _ => "init failed",
        };
        Failure::Load(format!("{}: {step}: {error}", self.label()))
    }
}

/// The `COMPONENT` argument with `-o` options and engine options.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct BackendSpec {
    #[arg(help = HELP, value_name = "COMPONENT")]
    pub(super) component: Option<String>,

    /// Pass `KEY=VALUE` to the backend's `init` (repeat for several options).
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub(super) options: Vec<(String, String)>,

    #[command(flatten)]
    pub(super) engine: EngineArgs,
}

/// A backend ready to use: its factory, and for a component the compiled component and
/// the loader that compiled it (to load new versions the same way).
pub(super) struct Resolved {
    pub(super) arg: BackendArg,
    pub(super) factory: Arc<dyn BackendFactory>,
    pub(super) component: Option<BackendComponent>,
    pub(super) loader: Option<ComponentLoader>,
}

impl BackendSpec {
    /// Resolves the argument into a factory whose backends run under `limits`, with a
    /// spinner while a component compiles.
    pub(super) fn resolve(&self, limits: Limits, show_progress: bool) -> Result<Resolved, Failure> {
        let arg = BackendArg::parse(self.component.as_deref())?;
        let Some(bytes) = arg.bytes()? else {
            let native = MemoryBackendFactory {
                limits: limits.sizes,
            };
            return Ok(Resolved {
                arg,
                factory: Arc::new(native),
                component: None,
                loader: None,
            });
        };
        let engine = self.engine.build()?;
        let loader = ComponentLoader::new(&engine, limits).map_err(|e| arg.load_failure(&e))?;
        let spinner = progress::spinner(show_progress, format!("compiling {}", arg.label()));
        let name = match &arg {
            BackendArg::File(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            BackendArg::Builtin(name, _) => (*name).to_string(),
            BackendArg::Native => "native".into(),
        };
        let compiled = loader.component(&name, &bytes);
        spinner.finish_and_clear();
        let component = compiled.map_err(|e| arg.load_failure(&e))?;
        Ok(Resolved {
            arg,
            factory: Arc::new(component.clone()),
            component: Some(component),
            loader: Some(loader),
        })
    }
}

/// Parses `KEY=VALUE`.
pub(super) fn parse_option(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{raw}`")),
    }
}

/// Engine options shared by the subcommands that compile components.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct EngineArgs {
    /// Keep compiled code in this private directory (created with mode 0700), so a
    /// component compiled once loads in milliseconds afterwards.
    #[arg(long, value_name = "DIR", env = "WASMCACHE_COMPILE_CACHE")]
    compile_cache: Option<PathBuf>,
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

#[cfg(test)]
mod tests {
    use super::parse_option;

    #[test]
    fn options_split_at_the_first_equals_sign() {
        assert_eq!(parse_option("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_option("a="), Ok(("a".into(), String::new())));
        assert!(parse_option("=b").is_err());
        assert!(parse_option("ab").is_err());
    }
}
