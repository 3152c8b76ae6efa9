//! The Redis protocol: requests parsed in place from the read buffer, replies encoded
//! without allocating, in RESP2 or (after `HELLO 3`) RESP3.

mod reply;
mod request;

pub(crate) use reply::{Out, Reply};
pub use request::ProtocolLimits;
pub(crate) use request::{Frame, parse_frame};
