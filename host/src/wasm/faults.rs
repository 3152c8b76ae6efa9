//! Turning what wasmtime reports into the crate's typed errors.

use std::time::Duration;

use wasmtime::Trap;

use super::store::StoreData;
use crate::error::{ConfigError, Error, LoadError};
use crate::sandbox::Limits;

/// Maps an error from a guest call (or instantiation) onto a typed fault: timeout, fuel,
/// stack, memory, trap (with the guest's last stderr words), or a contract violation when
/// the canonical ABI rejected what the guest handed back.
pub(crate) fn guest_fault(
    error: wasmtime::Error,
    data: &StoreData,
    limits: &Limits,
    deadline: Duration,
) -> Error {
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Timeout { limit: deadline },
        Some(Trap::OutOfFuel) => Error::OutOfFuel {
            budget: limits.fuel_per_call.unwrap_or(u64::MAX),
        },
        Some(Trap::StackOverflow) => Error::StackOverflow,
        _ if data.limiter.memory_denied => Error::OutOfMemory {
            limit: limits.max_memory_bytes,
        },
        Some(_) => {
            let message = match data.output().last_stderr() {
                None => format!("{error:#}"),
                Some(said) => format!("{error:#}; the guest wrote to stderr: {said}"),
            };
            Error::Trap { message }
        }
        // Not a trap: the canonical ABI rejected what the guest handed back (a bad
        // pointer, invalid UTF-8, a misbehaving `cabi_realloc`).
        None => Error::ContractViolation(format!("{error:#}")),
    }
}

/// Maps an error from resolving or type-checking `interface`'s exports to a load error.
pub(crate) fn mismatch(interface: &'static str) -> impl Fn(wasmtime::Error) -> LoadError {
    move |e| LoadError::Mismatch {
        interface: interface.into(),
        reason: format!("{e:#}"),
    }
}

/// Turns a linker error into the import that could not be satisfied, when it names one.
pub(crate) fn link_error(error: &wasmtime::Error) -> LoadError {
    let text = format!("{error:#}");
    let named = text
        .split_once("imports ")
        .and_then(|(_, rest)| rest.split('`').nth(1))
        .filter(|_| text.contains("matching implementation was not found"));
    match named {
        Some(name) => LoadError::UnknownImport {
            name: name.into(),
            hint: format!(" with this signature or version ({text})"),
        },
        None => LoadError::Mismatch {
            interface: "imports".into(),
            reason: text,
        },
    }
}

/// Setting a store's fuel failed (only when the engine does not meter fuel).
pub(crate) fn fuel_error(error: &wasmtime::Error) -> Error {
    ConfigError::Fuel {
        reason: format!("{error:#}"),
    }
    .into()
}
