//! Deny-all WASI 0.2 for guests whose toolchain imports it.
//!
//! Nothing is granted: no preopened directories, no sockets or name lookups, no
//! environment or arguments, stdin closed. Stdout and stderr go to `tracing` through the
//! same per-call budget as the `log` import. The monotonic clock is the host's
//! [`Clock`](crate::Clock) (so tests that advance time move it too) and the wall clock is
//! that clock counted from the Unix epoch, so no real time leaks in either. The calls
//! that would block are replaced by `wasi_io`.

use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView};

use crate::clock::SharedClock;
use crate::wasm::output::{GuestOutput, OutputLevel};

/// The WASI context and resource table of one guest instance.
pub(crate) struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiState {
    pub(crate) fn deny_all(clock: SharedClock, output: &GuestOutput) -> Self {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(GuestStream {
                output: output.clone(),
                stream: "stdout",
                level: OutputLevel::Info,
            })
            .stderr(GuestStream {
                output: output.clone(),
                stream: "stderr",
                level: OutputLevel::Warn,
            })
            .monotonic_clock(HostClock(clock.clone()))
            .wall_clock(HostClock(clock))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        WasiState {
            ctx: builder.build(),
            table: ResourceTable::new(),
        }
    }
}

impl WasiState {
    /// Borrows the context and table for one call.
    pub(crate) fn view(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

struct HostClock(SharedClock);

impl HostMonotonicClock for HostClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        self.0.now_ms().saturating_mul(1_000_000)
    }
}

impl HostWallClock for HostClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now_ms())
    }
}

/// The most one `write` to stdout or stderr may carry: the stream's permit.
const WRITE_PERMIT: usize = 64 * 1024;

/// Stdout or stderr of a guest, forwarded to `tracing` within the per-call budget.
#[derive(Clone)]
struct GuestStream {
    output: GuestOutput,
    stream: &'static str,
    level: OutputLevel,
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASI 0.2 is linked; a 0.3 stream would have nowhere to be read from.
        Box::new(tokio::io::sink())
    }
}

#[async_trait::async_trait]
impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.output
            .emit(self.level, self.stream, &String::from_utf8_lossy(&bytes));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    /// Zeroes are written like any bytes, within the same permit (the default would
    /// allocate whatever length the guest asks for).
    fn write_zeroes(&mut self, len: usize) -> Result<(), StreamError> {
        if len > WRITE_PERMIT {
            return Err(StreamError::trap(&format!(
                "`write-zeroes` of {len} bytes, over the permit of {WRITE_PERMIT} bytes"
            )));
        }
        self.write(Bytes::from(vec![0; len]))
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}
