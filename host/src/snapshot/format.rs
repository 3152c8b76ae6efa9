//! The snapshot file format, byte by byte (all integers little-endian):
//!
//! ```text
//! magic      8 bytes   "WCSNAP\r\n" (a text-mode transfer that rewrites line ends breaks it)
//! version    u32       2
//! saved at   u64       Unix time in milliseconds
//! entries    repeated: tag u8 = 1, key length u32, key, value length u32, value,
//!                      expires at u64 (Unix ms; 0 = never)
//! end        tag u8 = 0, entry count u64
//! checksum   16 bytes  XXH3-128 of every byte before it, little-endian
//! ```
//!
//! Version 1, written before, differs only in its checksum: 32 bytes, SHA-256. It is
//! still read. The checksum catches accidents (a torn write, a truncated copy, a flipped
//! bit), not tampering, and XXH3 does that at memory speed (SHA-256 was a seventh of a
//! save's work and of a restore's).
//!
//! A reader checks the magic, the version and the checksum before it believes any length,
//! then walks every entry within the file's bounds and compares the count, so a torn,
//! truncated or foreign file is refused whole and never half-loaded.

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

use super::error::SnapshotError;

pub(super) const MAGIC: &[u8; 8] = b"WCSNAP\r\n";
/// The version written.
pub(super) const VERSION: u32 = 2;
/// The version written before, with a SHA-256 checksum: still read.
const VERSION_SHA256: u32 = 1;
const ENTRY: u8 = 1;
const END: u8 = 0;
/// The checksum's bytes in a file of `version`.
fn checksum_bytes(version: u32) -> usize {
    if version == VERSION_SHA256 { 32 } else { 16 }
}

/// The checksum of `body` as a file of `version` stores it.
fn checksum(version: u32, body: &[u8]) -> Vec<u8> {
    if version == VERSION_SHA256 {
        Sha256::digest(body).to_vec()
    } else {
        xxh3_128(body).to_le_bytes().to_vec()
    }
}
/// Magic, version and time.
const HEADER_BYTES: usize = 8 + 4 + 8;

/// One entry of a snapshot, borrowed from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotEntry<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// When it expires, in Unix milliseconds; `None`: never.
    pub expires_at_ms: Option<u64>,
}

/// Bytes gathered before they are hashed and written in one piece.
const FLUSH_AT: usize = 256 << 10;

/// Writes the format, hashing as it goes. Entries are gathered into one buffer and
/// hashed and written a few hundred KiB at a time: hashing field by field cost more than
/// the hashing itself.
pub(super) struct Encoder<W: std::io::Write> {
    out: W,
    hash: Xxh3Default,
    gathered: Vec<u8>,
    entries: u64,
}

impl<W: std::io::Write> Encoder<W> {
    pub(super) fn new(out: W, saved_at_ms: u64) -> Self {
        let mut gathered = Vec::with_capacity(FLUSH_AT + (FLUSH_AT >> 2));
        gathered.extend_from_slice(MAGIC);
        gathered.extend_from_slice(&VERSION.to_le_bytes());
        gathered.extend_from_slice(&saved_at_ms.to_le_bytes());
        Encoder {
            out,
            hash: Xxh3Default::new(),
            gathered,
            entries: 0,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.hash.update(&self.gathered);
        self.out.write_all(&self.gathered)?;
        self.gathered.clear();
        Ok(())
    }

    fn sized(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a key or value over 4 GiB",
            )
        })?;
        self.gathered.extend_from_slice(&len.to_le_bytes());
        self.gathered.extend_from_slice(bytes);
        Ok(())
    }

    pub(super) fn entry(&mut self, entry: SnapshotEntry<'_>) -> std::io::Result<()> {
        self.gathered.push(ENTRY);
        self.sized(entry.key)?;
        self.sized(entry.value)?;
        self.gathered
            .extend_from_slice(&entry.expires_at_ms.unwrap_or(0).to_le_bytes());
        self.entries += 1;
        if self.gathered.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the end and the checksum; the entry count and the writer.
    pub(super) fn finish(mut self) -> std::io::Result<(u64, W)> {
        self.gathered.push(END);
        self.gathered.extend_from_slice(&self.entries.to_le_bytes());
        self.flush()?;
        let checksum = self.hash.digest128().to_le_bytes();
        self.out.write_all(&checksum)?;
        Ok((self.entries, self.out))
    }
}

/// A snapshot's bytes, checked whole: every entry lies within them.
#[derive(Debug)]
pub(super) struct Checked {
    pub(super) bytes: Vec<u8>,
    pub(super) entries: u64,
    pub(super) saved_at_ms: u64,
    /// Where the checksum starts (the body ends).
    body_end: usize,
}

fn corrupt<T>(path: &str, reason: impl Into<String>) -> Result<T, SnapshotError> {
    Err(SnapshotError::Corrupt {
        path: path.to_string(),
        reason: reason.into(),
    })
}

/// Walks every entry of `reader`'s body and its end; the number of entries.
fn walk(reader: &mut Reader<'_>) -> Result<u64, String> {
    let mut entries = 0u64;
    while reader.next()?.is_some() {
        entries += 1;
    }
    let count = reader.count()?;
    if count != entries {
        return Err(format!("it holds {entries} entries but says {count}"));
    }
    Ok(entries)
}

/// Checks `bytes` (read from `path`, named in errors) as a snapshot.
pub(super) fn check(path: &str, bytes: Vec<u8>) -> Result<Checked, SnapshotError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::Foreign {
            path: path.to_string(),
        });
    }
    let cut_short = || {
        corrupt::<Checked>(
            path,
            format!("only {} bytes: the file was cut short", bytes.len()),
        )
    };
    if bytes.len() < HEADER_BYTES {
        return cut_short();
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION && version != VERSION_SHA256 {
        return Err(SnapshotError::Version {
            path: path.to_string(),
            found: version,
            supported: VERSION,
        });
    }
    let checksum_bytes = checksum_bytes(version);
    if bytes.len() < HEADER_BYTES + 1 + 8 + checksum_bytes {
        return cut_short();
    }
    let body_end = bytes.len() - checksum_bytes;
    let (body, stored) = bytes.split_at(body_end);
    if checksum(version, body) != stored {
        return corrupt(
            path,
            "the checksum does not match (the file was cut short or changed after it was written)",
        );
    }
    let saved_at_ms = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let mut reader = Reader {
        body,
        at: HEADER_BYTES,
    };
    let entries = match walk(&mut reader) {
        Ok(entries) => entries,
        Err(reason) => return corrupt(path, reason),
    };
    Ok(Checked {
        bytes,
        entries,
        saved_at_ms,
        body_end,
    })
}

/// Walks the entries of a body (the bytes before the checksum).
pub(super) struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader of a [`Checked`] snapshot's entries.
    pub(super) fn of(checked: &'a Checked) -> Self {
        Reader {
            body: &checked.bytes[..checked.body_end],
            at: HEADER_BYTES,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.body.len());
        let Some(end) = end else {
            return Err(format!("an entry at byte {} runs past the end", self.at));
        };
        let taken = &self.body[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// The next entry; `None` at the end marker.
    pub(super) fn next(&mut self) -> Result<Option<SnapshotEntry<'a>>, String> {
        match self.take(1)?[0] {
            END => Ok(None),
            ENTRY => {
                let key_len = self.u32()? as usize;
                let key = self.take(key_len)?;
                let value_len = self.u32()? as usize;
                let value = self.take(value_len)?;
                let expires_at_ms = Some(self.u64()?).filter(|at| *at != 0);
                Ok(Some(SnapshotEntry {
                    key,
                    value,
                    expires_at_ms,
                }))
            }
            tag => Err(format!("unknown tag {tag} at byte {}", self.at - 1)),
        }
    }

    /// After the end marker: the count, which must close the body.
    fn count(&mut self) -> Result<u64, String> {
        let count = self.u64()?;
        if self.at != self.body.len() {
            return Err(format!("{} bytes after the end", self.body.len() - self.at));
        }
        Ok(count)
    }
}
