//! Reading a guest's `stats` within bounds: how many counters, how long their names, and
//! that each name is kebab-case, as the contract says. A guest's text never reaches a
//! protocol reply unchecked.

use std::collections::BTreeMap;

use wasmtime::component::{ComponentType, Lift, WasmList, WasmStr};

use crate::error::{Error, Result};

/// Most counters one `stats` may report.
pub(crate) const MAX_COUNTERS: usize = 256;
/// Longest counter name, in bytes.
pub(crate) const MAX_COUNTER_NAME_BYTES: usize = 64;

/// `backend-stats` lifted lazily: the counters stay in guest memory, so `size` (and the
/// number of counters) can be read without copying any name.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct LazyStats {
    pub(crate) size: u64,
    pub(crate) counters: WasmList<(WasmStr, u64)>,
}

/// Fails when a guest reports more counters than the host reads.
pub(crate) fn check_count(count: usize) -> Result<()> {
    if count > MAX_COUNTERS {
        return Err(Error::ContractViolation(format!(
            "`stats` reported {count} counters, more than {MAX_COUNTERS} counters"
        )));
    }
    Ok(())
}

/// Checks every counter name; the names become the map's keys.
pub(crate) fn check_counters(counters: Vec<(String, u64)>) -> Result<BTreeMap<String, u64>> {
    check_count(counters.len())?;
    let mut map = BTreeMap::new();
    for (name, value) in counters {
        if name.len() > MAX_COUNTER_NAME_BYTES {
            return Err(Error::ContractViolation(format!(
                "`stats` reported a counter name of {} bytes, longer than {MAX_COUNTER_NAME_BYTES} bytes",
                name.len()
            )));
        }
        if !is_kebab_case(&name) {
            return Err(Error::ContractViolation(format!(
                "`stats` reported a counter name that is not kebab-case: `{}`",
                shown(&name)
            )));
        }
        map.insert(name, value);
    }
    Ok(map)
}

/// A name as messages may show it: at most 32 characters, anything outside `a-z0-9-_.`
/// and spaces shown as `?` (a guest's text never reaches a reply or a log as it is).
fn shown(name: &str) -> String {
    name.chars()
        .take(32)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | ' ' => c,
            _ => '?',
        })
        .collect()
}

/// `a-z`, `0-9` and single inner dashes, starting with a letter: what WIT calls kebab-case
/// and what may safely stand in a line of an INFO reply.
fn is_kebab_case(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.last() != Some(&b'-')
        && !name.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_names_pass_and_others_are_violations() {
        for good in ["hits", "evictions-by-size", "l2-misses"] {
            assert!(is_kebab_case(good), "{good}");
        }
        for bad in [
            "", "Hits", "a b", "x\r\ny:1", "-a", "a-", "a--b", "1a", "a_b",
        ] {
            assert!(!is_kebab_case(bad), "{bad:?}");
        }
        let forged = vec![("x\r\ngeneration:999".to_string(), 1)];
        let error = check_counters(forged).expect_err("refused").to_string();
        assert!(
            !error.contains('\n') && !error.contains("generation:999"),
            "{error}"
        );
    }

    #[test]
    fn counts_and_lengths_are_bounded() {
        assert!(check_count(MAX_COUNTERS).is_ok());
        assert!(check_count(MAX_COUNTERS + 1).is_err());
        let long = vec![("a".repeat(MAX_COUNTER_NAME_BYTES + 1), 1)];
        assert!(check_counters(long).is_err());
    }
}
