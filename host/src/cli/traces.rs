//! Where the binary's `tracing` output goes: log lines to stderr (filtered by `RUST_LOG`,
//! default `warn`) and, when built with the `otel` feature and
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans
//! exported over OTLP/HTTP (filtered by `WASMCACHE_TRACES`, default `wasmcache=debug`):
//! reloads, handovers, compactions, loader calls and round trips to the shared tier.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The environment variables that name an OTLP endpoint.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Keeps the span exporter running; dropping it sends the spans still buffered.
#[derive(Default)]
pub(super) struct Traces {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Traces {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: spans not exported at exit: {error}");
        }
    }
}

/// Installs the global subscriber.
pub(super) fn init() -> Traces {
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()));
    let registry = tracing_subscriber::registry().with(logs);
    let wanted = ENDPOINT_VARS
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
    if !wanted {
        registry.init();
        return Traces::default();
    }
    #[cfg(feature = "otel")]
    {
        use opentelemetry::trace::TracerProvider as _;
        match otlp_provider() {
            Ok(provider) => {
                let spans = EnvFilter::try_from_env("WASMCACHE_TRACES")
                    .unwrap_or_else(|_| "wasmcache=debug".into());
                let layer = tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("wasmcache"))
                    .with_filter(spans);
                registry.with(layer).init();
                Traces {
                    provider: Some(provider),
                }
            }
            Err(error) => {
                registry.init();
                tracing::warn!(target: "wasmcache::cli", "spans are not exported: {error}");
                Traces::default()
            }
        }
    }
    #[cfg(not(feature = "otel"))]
    {
        registry.init();
        tracing::warn!(
            target: "wasmcache::cli",
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this wasmcache was built without the `otel` feature: no spans are exported (cargo install ... --features otel)"
        );
        Traces::default()
    }
}

/// A tracer provider exporting in batches over OTLP/HTTP to the endpoint the standard
/// `OTEL_EXPORTER_OTLP_*` variables name.
#[cfg(feature = "otel")]
fn otlp_provider()
-> Result<opentelemetry_sdk::trace::SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("wasmcache")
        .build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
