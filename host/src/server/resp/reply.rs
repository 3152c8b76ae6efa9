//! The reply encoders: RESP2, and RESP3 after `HELLO 3`. Lengths and integers are written
//! digit by digit into the output buffer, so a reply allocates nothing of its own.

/// A connection's replies, in the protocol it speaks: RESP2 until it says `HELLO 3`.
#[derive(Debug, Default)]
pub(crate) struct Out {
    /// The encoded replies not yet written.
    pub(crate) buf: Vec<u8>,
    /// Whether the connection switched to RESP3.
    pub(crate) resp3: bool,
}

/// Appends replies to an output buffer.
pub(crate) trait Reply {
    /// `+text`
    fn simple(&mut self, text: &str);
    /// `-text` (callers include the `ERR ` or other prefix).
    fn error(&mut self, text: &str);
    /// `:n`
    fn integer(&mut self, n: i64);
    /// `$len` and the bytes, or the null (`$-1`, or `_` in RESP3).
    fn bulk(&mut self, bytes: Option<&[u8]>);
    /// `*n`; the `n` elements follow.
    fn array(&mut self, n: usize);
    /// A map of `n` pairs (`%n` in RESP3, an array of `2n` in RESP2); the keys and values
    /// follow, alternating.
    fn map(&mut self, n: usize);
    /// The null array (`*-1`, or `_` in RESP3).
    fn null_array(&mut self);
}

impl Out {
    /// `kind`, the decimal `n` and a line end, with no allocation.
    fn header(&mut self, kind: u8, n: i64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.buf.push(kind);
        if n < 0 {
            self.buf.push(b'-');
        }
        self.buf.extend_from_slice(&digits[at..]);
        self.buf.extend_from_slice(b"\r\n");
    }
}

impl Reply for Out {
    fn simple(&mut self, text: &str) {
        let buf = &mut self.buf;
        buf.push(b'+');
        buf.extend_from_slice(text.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }

    fn error(&mut self, text: &str) {
        let buf = &mut self.buf;
        buf.push(b'-');
        // A reply line cannot contain a line break.
        buf.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        buf.extend_from_slice(b"\r\n");
    }

    fn integer(&mut self, n: i64) {
        self.header(b':', n);
    }

    fn bulk(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            None if self.resp3 => self.buf.extend_from_slice(b"_\r\n"),
            None => self.buf.extend_from_slice(b"$-1\r\n"),
            Some(bytes) => {
                self.header(b'$', bytes.len() as i64);
                self.buf.extend_from_slice(bytes);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.array(2 * n);
        }
    }

    fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_encode_in_resp2_and_resp3() {
        for (resp3, want) in [
            (
                false,
                &b"+OK\r\n-ERR bad  thing\r\n:-2\r\n$1\r\nv\r\n$-1\r\n*2\r\n*2\r\n*-1\r\n"[..],
            ),
            (
                true,
                &b"+OK\r\n-ERR bad  thing\r\n:-2\r\n$1\r\nv\r\n_\r\n*2\r\n%1\r\n_\r\n"[..],
            ),
        ] {
            let mut out = Out {
                buf: Vec::new(),
                resp3,
            };
            out.simple("OK");
            out.error("ERR bad\r\nthing");
            out.integer(-2);
            out.bulk(Some(b"v"));
            out.bulk(None);
            out.array(2);
            out.map(1);
            out.null_array();
            assert_eq!(out.buf, want, "resp3: {resp3}");
        }
    }

    #[test]
    fn integers_encode_at_their_extremes() {
        let mut out = Out::default();
        for n in [0, 7, -7, 1_000_000, i64::MAX, i64::MIN] {
            out.integer(n);
        }
        assert_eq!(
            out.buf,
            format!(
                ":0\r\n:7\r\n:-7\r\n:1000000\r\n:{}\r\n:{}\r\n",
                i64::MAX,
                i64::MIN
            )
            .as_bytes()
        );
    }
}
