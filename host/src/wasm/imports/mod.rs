//! The host side of the interfaces guests import: one file per interface.

pub(crate) mod host;
pub(crate) mod wasi;
pub(crate) mod wasi_io;
pub(crate) mod wasi_random;
