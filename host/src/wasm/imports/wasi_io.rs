//! Non-blocking replacements for the WASI 0.2 calls that block.
//!
//! In wasmtime-wasi's synchronous bindings a blocking call enters a Tokio runtime with
//! `block_on`, which panics when the caller is itself running on a Tokio runtime, as the
//! cache layer and the server do. Deny-all WASI never has anything to wait for: stdout
//! and stderr are always ready, stdin is closed, and there are no files or sockets. So the
//! blocking stream calls are their non-blocking counterparts, and polling returns at once
//! with every pollable ready (a guest cannot sleep; `sleep` returns immediately).
//!
//! The writes are replaced too, so that what a guest hands over is measured before it is
//! copied: a `write` longer than the stream's permit, or a blocking write longer than
//! WASI's 4096 bytes, traps (as WASI says it does) without the host copying a byte of it.

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Linker, LinkerInstance, Resource, ResourceTable, ResourceType, WasmList,
};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::sync::io::streams::{Host as _, StreamError as WitStreamError};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, StreamError};

/// The WASI 0.2 version whose interfaces are shadowed.
const STREAMS: &str = "wasi:io/streams@0.2.12";
const POLL: &str = "wasi:io/poll@0.2.12";

/// The most a blocking write may carry, as WASI 0.2 defines it.
const BLOCKING_WRITE_MAX: usize = 4096;

/// Shadows the blocking calls already linked into `linker` by wasmtime-wasi (the caller
/// allows shadowing).
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut streams = linker.instance(STREAMS)?;
    stream_resources(&mut streams)?;
    blocking_writes(&mut streams)?;
    blocking_reads(&mut streams)?;
    let mut poll = linker.instance(POLL)?;
    ready_polls(&mut poll)
}

fn table<'a, T: WasiView>(store: &'a mut StoreContextMut<'_, T>) -> &'a mut ResourceTable {
    store.data_mut().ctx().table
}

/// The stream resources must be redefined beside the functions that use them.
fn stream_resources<T: WasiView + 'static>(
    streams: &mut LinkerInstance<'_, T>,
) -> wasmtime::Result<()> {
    streams.resource(
        "output-stream",
        ResourceType::host::<DynOutputStream>(),
        |mut store, rep| {
            table(&mut store).delete(Resource::<DynOutputStream>::new_own(rep))?;
            Ok(())
        },
    )?;
    streams.resource(
        "input-stream",
        ResourceType::host::<DynInputStream>(),
        |mut store, rep| {
            table(&mut store).delete(Resource::<DynInputStream>::new_own(rep))?;
            Ok(())
        },
    )
}

fn blocking_writes<T: WasiView + 'static>(
    streams: &mut LinkerInstance<'_, T>,
) -> wasmtime::Result<()> {
    streams.func_wrap(
        "[method]output-stream.write",
        |mut store: StoreContextMut<'_, T>,
         (stream, bytes): (Resource<DynOutputStream>, WasmList<u8>)| {
            let streams = table(&mut store);
            let permit = match streams.get_mut(&stream)?.check_write() {
                Ok(permit) => permit,
                Err(error) => return Ok((Err(streams.convert_stream_error(error)?),)),
            };
            within("write", bytes.len(), permit)?;
            let bytes = Bytes::copy_from_slice(bytes.as_le_slice(&store));
            with_output(table(&mut store), &stream, |out| out.write(bytes))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store: StoreContextMut<'_, T>,
         (stream, bytes): (Resource<DynOutputStream>, WasmList<u8>)| {
            within("blocking-write-and-flush", bytes.len(), BLOCKING_WRITE_MAX)?;
            let bytes = Bytes::copy_from_slice(bytes.as_le_slice(&store));
            with_output(table(&mut store), &stream, |out| {
                out.write(bytes)?;
                out.flush()
            })
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut store: StoreContextMut<'_, T>, (stream, len): (Resource<DynOutputStream>, u64)| {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            within("blocking-write-zeroes-and-flush", len, BLOCKING_WRITE_MAX)?;
            with_output(table(&mut store), &stream, |out| {
                out.write_zeroes(len)?;
                out.flush()
            })
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-flush",
        |mut store: StoreContextMut<'_, T>, (stream,): (Resource<DynOutputStream>,)| {
            with_output(table(&mut store), &stream, |out| out.flush())
        },
    )
}

fn blocking_reads<T: WasiView + 'static>(
    streams: &mut LinkerInstance<'_, T>,
) -> wasmtime::Result<()> {
    streams.func_wrap(
        "[method]input-stream.blocking-read",
        |mut store: StoreContextMut<'_, T>, (stream, len): (Resource<DynInputStream>, u64)| {
            let table = table(&mut store);
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
        |mut store: StoreContextMut<'_, T>, (stream, len): (Resource<DynInputStream>, u64)| {
            let table = table(&mut store);
            let skipped = table
                .get_mut(&stream)?
                .skip(usize::try_from(len).unwrap_or(usize::MAX));
            Ok((match skipped {
                Ok(n) => Ok(n as u64),
                Err(error) => Err(table.convert_stream_error(error)?),
            },))
        },
    )
}

/// Every pollable is ready at once.
fn ready_polls<T: WasiView + 'static>(poll: &mut LinkerInstance<'_, T>) -> wasmtime::Result<()> {
    poll.func_wrap(
        "poll",
        |_store: StoreContextMut<'_, T>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let ready: Vec<u32> = (0..pollables.len())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |_store: StoreContextMut<'_, T>, (_,): (Resource<DynPollable>,)| Ok(()),
    )?;
    poll.func_wrap(
        "[method]pollable.ready",
        |_store: StoreContextMut<'_, T>, (_,): (Resource<DynPollable>,)| Ok((true,)),
    )
}

/// Traps when a guest hands a write more than it may carry.
fn within(call: &str, len: usize, max: usize) -> wasmtime::Result<()> {
    if len > max {
        wasmtime::bail!("`{call}` of {len} bytes, over the {max} bytes it may carry");
    }
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
