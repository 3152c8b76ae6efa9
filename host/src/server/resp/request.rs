//! A strict RESP2 request parser with hard limits.
//!
//! Requests are arrays of bulk strings (what every client library sends) or inline
//! commands (what a human types into `telnet`): words separated by spaces on one line.
//! An array's arguments are not copied: the parser hands back where each lies in the read
//! buffer. An incomplete request says how many bytes it needs at least, so a large value
//! arriving over many reads is not parsed again from its start on every read. Every length
//! is checked against [`ProtocolLimits`] before anything is allocated, so a client cannot
//! make the server buffer more than the limits allow; anything malformed is a
//! [`ProtocolError`] (answered with `-ERR Protocol error: ...` and the connection closed).

use std::fmt;
use std::ops::Range;

/// Bounds on what one request may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolLimits {
    /// Longest bulk string (a key or a value), in bytes: a value over the backend's
    /// limit but within this one is read and refused with an error, and the connection
    /// stays usable; one over this bound is a protocol error. Default: 32 MiB.
    pub max_bulk_bytes: usize,
    /// Most elements in one request array. Default: 1 048 576.
    pub max_array_len: usize,
    /// Longest inline command or header line, in bytes. Default: 64 KiB.
    pub max_line_bytes: usize,
    /// Most bytes one request may take in all, however its parts are sized (an array of
    /// many large bulk strings). Default: 64 MiB.
    pub max_request_bytes: usize,
}

impl Default for ProtocolLimits {
    fn default() -> Self {
        ProtocolLimits {
            max_bulk_bytes: 32 << 20,
            max_array_len: 1 << 20,
            max_line_bytes: 64 << 10,
            max_request_bytes: 64 << 20,
        }
    }
}

/// Why a request could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error<T>(message: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(message.into()))
}

/// What the front of the read buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Not a whole request yet: parse again once the buffer holds at least this many bytes
    /// (counted from the request's start).
    Incomplete(usize),
    /// An array request of `used` bytes; its arguments are the ranges handed back (none:
    /// an empty array, to be skipped).
    Array { used: usize },
    /// An inline command of `used` bytes, split (and unescaped) into words (none: an empty
    /// line, to be skipped).
    Inline { used: usize, words: Vec<Vec<u8>> },
}

/// Parses one request from the front of `buf`. For an array, `args` is cleared and then
/// holds where each argument lies in `buf`.
pub(crate) fn parse_frame(
    buf: &[u8],
    limits: &ProtocolLimits,
    args: &mut Vec<Range<usize>>,
) -> Result<Frame, ProtocolError> {
    args.clear();
    match buf.first() {
        None => Ok(Frame::Incomplete(1)),
        Some(b'*') => parse_array(buf, limits, args),
        Some(_) => parse_inline(buf, limits),
    }
}

/// A request's arguments, copied, and the bytes it took.
#[cfg(test)]
pub(crate) type Owned = (Vec<Vec<u8>>, usize);

/// A parsed request as owned arguments and the bytes it took, `None` if more bytes are
/// needed: [`parse_frame`] for callers that want copies.
#[cfg(test)]
pub(crate) fn parse(buf: &[u8], limits: &ProtocolLimits) -> Result<Option<Owned>, ProtocolError> {
    let mut ranges = Vec::new();
    Ok(match parse_frame(buf, limits, &mut ranges)? {
        Frame::Incomplete(_) => None,
        Frame::Array { used } => {
            Some((ranges.into_iter().map(|r| buf[r].to_vec()).collect(), used))
        }
        Frame::Inline { used, words } => Some((words, used)),
    })
}

/// The line starting at `from`, without its terminator, and where the next one starts.
fn line<'a>(
    buf: &'a [u8],
    from: usize,
    limits: &ProtocolLimits,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    let window = &buf[from..buf.len().min(from + limits.max_line_bytes + 2)];
    match window.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let text = &window[..end];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Ok(Some((text, from + end + 1)))
        }
        None if window.len() > limits.max_line_bytes => error("line too long"),
        None => Ok(None),
    }
}

/// A header's decimal number (`-1`, `0`, `42`), read digit by digit.
fn number(text: &[u8], what: &str) -> Result<i64, ProtocolError> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return error(format!("invalid {what}"));
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if negative { -n } else { n })
}

fn parse_array(
    buf: &[u8],
    limits: &ProtocolLimits,
    args: &mut Vec<Range<usize>>,
) -> Result<Frame, ProtocolError> {
    let more = Frame::Incomplete(buf.len() + 1);
    let Some((header, mut at)) = line(buf, 0, limits)? else {
        return Ok(more);
    };
    let count = number(&header[1..], "multibulk length")?;
    if count <= 0 {
        return Ok(Frame::Array { used: at });
    }
    let count =
        usize::try_from(count).map_err(|_| ProtocolError("invalid multibulk length".into()))?;
    if count > limits.max_array_len {
        return error("invalid multibulk length");
    }
    for _ in 0..count {
        let Some((header, next)) = line(buf, at, limits)? else {
            return Ok(more);
        };
        if header.first() != Some(&b'$') {
            let found = header.first().map_or_else(
                || "end of line".to_string(),
                |b| format!("'{}'", b.escape_ascii()),
            );
            return error(format!("expected '$', got {found}"));
        }
        let len = number(&header[1..], "bulk length")?;
        let len = usize::try_from(len).map_err(|_| ProtocolError("invalid bulk length".into()))?;
        if len > limits.max_bulk_bytes {
            return error("invalid bulk length");
        }
        let end = next + len;
        if buf.len() < end + 2 {
            return Ok(Frame::Incomplete(end + 2));
        }
        if &buf[end..end + 2] != b"\r\n" {
            return error("bulk string not terminated by CRLF");
        }
        args.push(next..end);
        at = end + 2;
    }
    Ok(Frame::Array { used: at })
}

fn parse_inline(buf: &[u8], limits: &ProtocolLimits) -> Result<Frame, ProtocolError> {
    let Some((text, used)) = line(buf, 0, limits)? else {
        return Ok(Frame::Incomplete(buf.len() + 1));
    };
    Ok(Frame::Inline {
        used,
        words: split_inline(text)?,
    })
}

/// Splits an inline command into words as Redis does: spaces separate words; `"..."`
/// takes the escapes `\n \r \t \b \a \\ \" \xHH`, `'...'` takes `\'`; a closing quote
/// must be followed by a space or the end of the line.
fn split_inline(text: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let unbalanced = || ProtocolError("unbalanced quotes in request".into());
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < text.len() && matches!(text[i], b' ' | b'\t') {
            i += 1;
        }
        if i == text.len() {
            return Ok(words);
        }
        let mut word = Vec::new();
        match text[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    let c = *text.get(i).ok_or_else(unbalanced)?;
                    i += 1;
                    match c {
                        b'\\' if quote == b'"' => {
                            let (byte, len) = unescape(&text[i..]).ok_or_else(unbalanced)?;
                            word.push(byte);
                            i += len;
                        }
                        b'\\' if text.get(i) == Some(&b'\'') => {
                            word.push(b'\'');
                            i += 1;
                        }
                        c if c == quote => break,
                        c => word.push(c),
                    }
                }
                if i < text.len() && !matches!(text[i], b' ' | b'\t') {
                    return Err(unbalanced());
                }
            }
            _ => {
                while i < text.len() && !matches!(text[i], b' ' | b'\t') {
                    word.push(text[i]);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
}

/// The byte an escape inside `"..."` stands for (after the backslash), and its length.
fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let hex = |b: u8| (b as char).to_digit(16);
    Some(match rest.first()? {
        b'x' if rest.len() >= 3 => match (hex(rest[1]), hex(rest[2])) {
            (Some(high), Some(low)) => ((high * 16 + low) as u8, 3),
            _ => (b'x', 1),
        },
        b'n' => (b'\n', 1),
        b'r' => (b'\r', 1),
        b't' => (b'\t', 1),
        b'b' => (8, 1),
        b'a' => (7, 1),
        other => (*other, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let limits = ProtocolLimits {
            max_bulk_bytes: 16,
            max_array_len: 4,
            max_line_bytes: 32,
            max_request_bytes: 64,
        };
        let mut at = 0;
        let mut requests = Vec::new();
        while let Some((args, used)) = parse(&input[at..], &limits)? {
            requests.push(args);
            at += used;
        }
        Ok(requests)
    }

    #[test]
    fn arrays_inline_commands_and_pipelines() {
        let requests =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING  hello\r\n*0\r\n*1\r\n$0\r\n\r\n")
                .expect("parses");
        assert_eq!(requests[0], [b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(requests[1], [b"PING".to_vec(), b"hello".to_vec()]);
        assert!(requests[2].is_empty());
        assert_eq!(requests[3], [Vec::<u8>::new()]);
    }

    #[test]
    fn inline_commands_take_quotes_and_escapes_as_redis_does() {
        let words = |line: &[u8]| split_inline(line).map_err(|e| e.to_string());
        assert_eq!(
            words(br#"set "a b" 'c d'"#),
            Ok(vec![b"set".to_vec(), b"a b".to_vec(), b"c d".to_vec()])
        );
        assert_eq!(
            words(br#"set k "\x41\n\"""#),
            Ok(vec![b"set".to_vec(), b"k".to_vec(), b"A\n\"".to_vec()])
        );
        assert_eq!(
            words(br"echo 'it\'s'"),
            Ok(vec![b"echo".to_vec(), b"it's".to_vec()])
        );
        for bad in [&br#"set "a b"#[..], br#"set "a"b"#, b"set 'a"] {
            assert_eq!(
                words(bad),
                Err("unbalanced quotes in request".to_string()),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn header_numbers_are_decimal_and_bounded() {
        assert_eq!(number(b"0", "n"), Ok(0));
        assert_eq!(number(b"-1", "n"), Ok(-1));
        assert_eq!(
            number(b"123456789012345678", "n"),
            Ok(123_456_789_012_345_678)
        );
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"1x",
            b" 1",
            b"1234567890123456789",
            b"--1",
        ] {
            assert!(number(bad, "n").is_err(), "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn values_are_binary_safe() {
        let requests = parse_all(b"*1\r\n$4\r\na\r\nb\r\n").expect("parses");
        assert_eq!(requests[0], [b"a\r\nb".to_vec()]);
    }

    #[test]
    fn incomplete_input_asks_for_more() {
        let limits = ProtocolLimits::default();
        for input in [
            &b"*2\r\n$3\r\nGET\r\n$1\r\n"[..],
            b"*2\r\n$3\r\nGE",
            b"PING",
            b"*1\r\n$3\r\nabc\r",
        ] {
            assert_eq!(
                parse(input, &limits),
                Ok(None),
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn limits_and_malformed_input_are_errors() {
        for input in [
            &b"*5\r\n"[..],                                // array too long
            b"*1\r\n$17\r\n",                              // bulk too long
            b"*1\r\n$-3\r\n",                              // negative bulk length
            b"*1\r\n:1\r\n",                               // not a bulk string
            b"*x\r\n",                                     // not a number
            b"*1\r\n$1\r\nab\r\n",                         // bulk longer than announced
            b"PING aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // line over the limit, no end
        ] {
            assert!(parse_all(input).is_err(), "{}", input.escape_ascii());
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use crate::server::resp::{Out, Reply};

        fn encode(args: &[Vec<u8>]) -> Vec<u8> {
            let mut out = Out::default();
            out.array(args.len());
            for arg in args {
                out.bulk(Some(arg));
            }
            out.buf
        }

        proptest! {
            /// Whatever a client sends, parsing ends in a request, a request for more
            /// bytes, or an error: never a panic, and never a claim to use more bytes than
            /// there are.
            #[test]
            fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
                let limits = ProtocolLimits { max_bulk_bytes: 64, max_array_len: 8, max_line_bytes: 64, max_request_bytes: 256 };
                if let Ok(Some((_, used))) = parse(&input, &limits) {
                    prop_assert!(used > 0 && used <= input.len());
                }
            }

            /// Requests encoded as clients encode them parse back exactly, however the
            /// bytes are split across reads.
            #[test]
            fn encoded_requests_round_trip(
                args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
                split in 0usize..400,
            ) {
                let limits = ProtocolLimits::default();
                let bytes = encode(&args);
                let split = split.min(bytes.len());
                if split < bytes.len() {
                    prop_assert_eq!(parse(&bytes[..split], &limits), Ok(None));
                }
                prop_assert_eq!(parse(&bytes, &limits), Ok(Some((args.clone(), bytes.len()))));
            }
        }
    }
}
