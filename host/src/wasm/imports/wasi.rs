//! Deny-all WASI 0.2 for guests whose toolchain imports it.
//!
//! Nothing is granted: no preopened directories, no sockets or name lookups, no
//! environment or arguments, stdin closed. Stdout and stderr go to `tracing` through the
//! same per-call budget as the `log` import. The monotonic clock is the host's
//! [`Clock`](crate::Clock) (so tests that advance time move it too) and the wall clock is
//! that clock counted from the Unix epoch, so no real time leaks in either.

use std::time::Duration;

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable, ResourceType};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::p2::bindings::sync::io::streams::{Host as _, StreamError as WitStreamError};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, OutputStream, Pollable, StreamError,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::clock::SharedClock;
use crate::wasm::state::{GuestOutput, HostState, OutputLevel};

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

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // Only stores of WASI-importing components are linked against WASI, and those
        // are always created with a context (see `HostState::new`).
        let wasi = self
            .wasi
            .as_mut()
            .expect("a WASI import was called on a store created without WASI");
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
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

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

/// Replaces the WASI 0.2 calls that block (and so, in wasmtime-wasi's synchronous
/// bindings, enter a Tokio runtime with `block_on`, which panics when the caller is
/// itself running on a Tokio runtime, as the cache layer and the server do) with
/// synchronous versions.
///
/// Deny-all WASI never has anything to wait for: stdout and stderr are always ready,
/// stdin is closed, and there are no files or sockets. So the blocking stream calls are
/// their non-blocking counterparts, and polling returns at once with every pollable ready
/// (a guest cannot sleep; `sleep` returns immediately).
pub(crate) fn add_nonblocking_io(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut streams = linker.instance("wasi:io/streams@0.2.12")?;
    streams.resource(
        "output-stream",
        ResourceType::host::<DynOutputStream>(),
        |mut store, rep| {
            store
                .data_mut()
                .wasi_table()
                .delete(Resource::<DynOutputStream>::new_own(rep))?;
            Ok(())
        },
    )?;
    streams.resource(
        "input-stream",
        ResourceType::host::<DynInputStream>(),
        |mut store, rep| {
            store
                .data_mut()
                .wasi_table()
                .delete(Resource::<DynInputStream>::new_own(rep))?;
            Ok(())
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store: StoreContextMut<'_, HostState>,
         (stream, bytes): (Resource<DynOutputStream>, Vec<u8>)| {
            with_output(store.data_mut().wasi_table(), &stream, |out| {
                out.write(Bytes::from(bytes))?;
                out.flush()
            })
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut store: StoreContextMut<'_, HostState>,
         (stream, len): (Resource<DynOutputStream>, u64)| {
            with_output(store.data_mut().wasi_table(), &stream, |out| {
                out.write_zeroes(usize::try_from(len).unwrap_or(usize::MAX))?;
                out.flush()
            })
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-flush",
        |mut store: StoreContextMut<'_, HostState>, (stream,): (Resource<DynOutputStream>,)| {
            with_output(store.data_mut().wasi_table(), &stream, |out| out.flush())
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-read",
        |mut store: StoreContextMut<'_, HostState>,
         (stream, len): (Resource<DynInputStream>, u64)| {
            let table = store.data_mut().wasi_table();
            let read = table
                .get_mut(&stream)?
                .read(usize::try_from(len).unwrap_or(usize::MAX));
            Ok((match read {
                Ok(bytes) => Ok(bytes.to_vec()),
                Err(error) => Err(table.convert_stream_error(error)?),
            },))
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-skip",
        |mut store: StoreContextMut<'_, HostState>,
         (stream, len): (Resource<DynInputStream>, u64)| {
            let table = store.data_mut().wasi_table();
            let skipped = table
                .get_mut(&stream)?
                .skip(usize::try_from(len).unwrap_or(usize::MAX));
            Ok((match skipped {
                Ok(n) => Ok(n as u64),
                Err(error) => Err(table.convert_stream_error(error)?),
            },))
        },
    )?;

    let mut poll = linker.instance("wasi:io/poll@0.2.12")?;
    poll.func_wrap(
        "poll",
        |_store: StoreContextMut<'_, HostState>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let ready: Vec<u32> = (0..pollables.len())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |_store: StoreContextMut<'_, HostState>, (_,): (Resource<DynPollable>,)| Ok(()),
    )?;
    poll.func_wrap(
        "[method]pollable.ready",
        |_store: StoreContextMut<'_, HostState>, (_,): (Resource<DynPollable>,)| Ok((true,)),
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Runs `op` on the output stream and lowers its error into the WIT `stream-error`.
fn with_output(
    table: &mut ResourceTable,
    stream: &Resource<DynOutputStream>,
    op: impl FnOnce(&mut DynOutputStream) -> Result<(), StreamError>,
) -> wasmtime::Result<(Result<(), WitStreamError>,)> {
    let result = op(table.get_mut(stream)?);
    Ok((match result {
        Ok(()) => Ok(()),
        Err(error) => Err(table.convert_stream_error(error)?),
    },))
}

impl HostState {
    fn wasi_table(&mut self) -> &mut ResourceTable {
        WasiView::ctx(self).table
    }
}
