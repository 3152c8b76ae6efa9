//! How typed keys and values become the bytes a backend stores.
//!
//! The default, [`Postcard`], writes the serde data model in the
//! [postcard 1.x wire format](https://postcard.jamesmunns.com/wire-format): compact,
//! stable, and documented well enough to read from another language. In short: integers
//! are LEB128 varints (signed ones zig-zag encoded first), `bool` is one byte, `f32`/`f64`
//! are little-endian IEEE 754, strings and byte sequences are a varint length followed by
//! the bytes, sequences and maps are a varint count followed by the elements, `Option` is a
//! `0`/`1` tag byte followed by the value, enums are a varint variant index followed by the
//! variant's fields, and structs and tuples are their fields in order with no framing. So a
//! `String` key `"user:42"` is stored as the bytes `07 75 73 65 72 3a 34 32`.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a codec could not encode or decode a value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl CodecError {
    /// Wraps what a codec's library reported.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        CodecError(error.into())
    }
}

/// Turns values into bytes and back. Implementations must be deterministic: equal keys
/// must encode to equal bytes, or the cache will miss.
pub trait Codec: Send + Sync + 'static {
    /// Encodes `value`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError>;

    /// Encodes `value` into `out`, replacing its contents (lets hot paths reuse a buffer).
    fn encode_into<T: Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        *out = self.encode(value)?;
        Ok(())
    }
    /// Decodes bytes written by [`Codec::encode`].
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError>;
}

/// The postcard 1.x wire format (the default codec).
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

impl Codec for Postcard {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        postcard::to_stdvec(value).map_err(CodecError::new)
    }

    fn encode_into<T: Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let mut buffer = std::mem::take(out);
        buffer.clear();
        *out = postcard::to_extend(value, buffer).map_err(CodecError::new)?;
        Ok(())
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        postcard::from_bytes(bytes).map_err(CodecError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_holds() {
        let bytes = Postcard.encode("user:42").expect("encodes");
        assert_eq!(bytes, [7, b'u', b's', b'e', b'r', b':', b'4', b'2']);
        assert_eq!(
            Postcard.decode::<String>(&bytes).expect("decodes"),
            "user:42"
        );
    }

    #[test]
    fn unit_option_and_structs_round_trip() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct User {
            id: u64,
            name: String,
            tags: Vec<String>,
        }
        let user = User {
            id: 300,
            name: "Ada".into(),
            tags: vec!["x".into()],
        };
        let bytes = Postcard.encode(&user).expect("encodes");
        // 300 as a varint is ac 02.
        assert_eq!(&bytes[..2], &[0xac, 0x02]);
        assert_eq!(Postcard.decode::<User>(&bytes).expect("decodes"), user);
        assert_eq!(Postcard.encode(&()).expect("encodes"), Vec::<u8>::new());
        assert_eq!(Postcard.encode(&None::<u8>).expect("encodes"), [0]);
        assert!(Postcard.decode::<User>(&[0xff]).is_err());
    }
}
