//! Bytes in words a backend author can read: text when it is printable, hex otherwise,
//! cut to a length that fits on a line.

/// Longest rendering of a value before it is cut, in characters of text or bytes of hex.
const MAX_SHOWN: usize = 32;

/// `bytes` as quoted text when it is printable UTF-8, else as `0x…` hex; past
/// 32 characters (or bytes of hex) it is cut and its length given.
///
/// ```
/// use wasmcache::conformance::render::bytes;
///
/// assert_eq!(bytes(b"value"), "\"value\"");
/// assert_eq!(bytes(&[0, 0xff, 7]), "0x00ff07");
/// assert_eq!(bytes(b""), "\"\" (empty)");
/// assert!(bytes(&[b'a'; 100]).ends_with("... (100 bytes)"));
/// ```
pub fn bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "\"\" (empty)".into();
    }
    let cut = |shown: String, whole: bool| {
        if whole {
            shown
        } else {
            format!("{shown}... ({} bytes)", bytes.len())
        }
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => {
            let shown: String = text.chars().take(MAX_SHOWN).collect();
            let whole = shown.len() == text.len();
            cut(format!("{shown:?}"), whole)
        }
        _ => {
            let shown: String = bytes
                .iter()
                .take(MAX_SHOWN)
                .map(|b| format!("{b:02x}"))
                .collect();
            cut(format!("0x{shown}"), bytes.len() <= MAX_SHOWN)
        }
    }
}

/// A `get` answer: `a miss`, or `a hit with` the value as [`bytes()`] renders it.
pub fn lookup(value: Option<&[u8]>) -> String {
    match value {
        None => "a miss".into(),
        Some(v) => format!("a hit with {}", bytes(v)),
    }
}

/// Several `get` answers, as `[a miss, "v"]` (values only, misses as `miss`).
pub fn lookups<T: AsRef<[u8]>>(values: &[Option<T>]) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|v| {
            v.as_ref()
                .map_or_else(|| "miss".into(), |v| bytes(v.as_ref()))
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// The first line of an error's text: a trap's wasm backtrace follows on later lines and
/// is shown only when asked for.
pub fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_binary_is_hex_and_long_values_are_cut() {
        assert_eq!(bytes(b"ok"), "\"ok\"");
        assert_eq!(bytes(b"tab\there"), "0x7461620968657265");
        assert_eq!(bytes("é".as_bytes()), "\"é\"");
        assert_eq!(bytes(&[0xc3, 0x28]), "0xc328");
        let long = bytes(&[b'x'; 40]);
        assert_eq!(long, format!("\"{}\"... (40 bytes)", "x".repeat(32)));
        let long_binary = bytes(&[0u8; 33]);
        assert_eq!(long_binary, format!("0x{}... (33 bytes)", "00".repeat(32)));
        assert_eq!(bytes(&[1u8; 32]), format!("0x{}", "01".repeat(32)));
    }

    #[test]
    fn lookups_name_misses_and_hits() {
        assert_eq!(lookup(None), "a miss");
        assert_eq!(lookup(Some(b"v")), "a hit with \"v\"");
        assert_eq!(
            lookups(&[Some(b"a".to_vec()), None]),
            "[\"a\", miss]".to_string()
        );
        assert_eq!(first_line("trap\nwasm backtrace:\n  0: f"), "trap");
    }
}
