//! Reading a guest's `stats` within bounds: how many counters, how long their names, and
//! that each name is kebab-case, as the contract says. A guest's text never reaches a
//! protocol reply unchecked.

use std::collections::BTreeMap;

use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
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
    #[expect(dead_code, reason = "typed so the record type-checks; never read")]
    pub(crate) counters: WasmList<(WasmStr, u64)>,
}

/// `backend-stats` lifted within bounds: a list of more than [`MAX_COUNTERS`] counters, or
/// a name longer than [`MAX_COUNTER_NAME_BYTES`], is never copied out of guest memory; only
/// its length is read.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct BoundedStats {
    pub(crate) size: u64,
    pub(crate) counters: BoundedCounters,
}

/// A `string` or `list` lifted only when its length is at most `MAX` (bytes for a UTF-8
/// string, elements for a list): otherwise only the length the guest claimed.
///
/// wasmtime lifts a `String` or `Vec` whole, and in 48 a typed call runs the guest's
/// post-return (which frees the result) before returning, so a lazy `WasmStr` cannot be
/// measured afterwards. Reading the length from the canonical ABI's pointer pair while the
/// result is lifted is the one point where both hold. This implements wasmtime's
/// `ComponentType`/`Lift` by delegating to `T` for the type check and the lift; the
/// doc-hidden items it uses are those its derive macros use, for the pinned wasmtime.
pub(crate) struct Bounded<T, const MAX: usize>(std::result::Result<T, usize>);

impl<T, const MAX: usize> Bounded<T, MAX> {
    /// The value, or the length the guest claimed for it when over `MAX`.
    pub(crate) fn into_inner(self) -> std::result::Result<T, usize> {
        self.0
    }

    /// The pointer pair's length when over `MAX`.
    fn too_long(len: u32) -> Option<Self> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        (len > MAX).then_some(Bounded(Err(len)))
    }
}

// SAFETY: the same canonical ABI as `T` (a pointer pair, checked by `T::typecheck`), and
// lifting either reads only the pair's length or delegates to `T`'s own lift.
unsafe impl<T, const MAX: usize> ComponentType for Bounded<T, MAX>
where
    T: ComponentType<Lower = [ValRaw; 2]>,
{
    type Lower = [ValRaw; 2];

    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        T::typecheck(ty, types)
    }
}

// SAFETY: see `ComponentType` above.
unsafe impl<T, const MAX: usize> Lift for Bounded<T, MAX>
where
    T: Lift + ComponentType<Lower = [ValRaw; 2]>,
{
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        if let Some(over) = Self::too_long(src[1].get_u32()) {
            return Ok(over);
        }
        Ok(Bounded(Ok(T::linear_lift_from_flat(cx, ty, src)?)))
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        let len = bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| wasmtime::format_err!("a pointer pair of {} bytes", bytes.len()))?;
        if let Some(over) = Self::too_long(len) {
            return Ok(over);
        }
        Ok(Bounded(Ok(T::linear_lift_from_memory(cx, ty, bytes)?)))
    }
}

/// What [`BoundedStats::counters`] is: counters, each name bounded, the list bounded.
pub(crate) type BoundedCounters =
    Bounded<Vec<(Bounded<String, MAX_COUNTER_NAME_BYTES>, u64)>, MAX_COUNTERS>;

/// Checks what a bounded `stats` lifted: the number of counters and every name; the names
/// become the map's keys.
pub(crate) fn check_counters(counters: BoundedCounters) -> Result<BTreeMap<String, u64>> {
    let counters = counters.into_inner().map_err(|count| {
        Error::ContractViolation(format!(
            "`stats` reported {count} counters, more than {MAX_COUNTERS} counters"
        ))
    })?;
    let mut map = BTreeMap::new();
    for (name, value) in counters {
        let name = name.into_inner().map_err(|len| {
            Error::ContractViolation(format!(
                "`stats` reported a counter name of {len} bytes, longer than {MAX_COUNTER_NAME_BYTES} bytes"
            ))
        })?;
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
        let forged = counters(vec![("x\r\ngeneration:999", 1)]);
        let error = check_counters(forged).expect_err("refused").to_string();
        assert!(
            !error.contains('\n') && !error.contains("generation:999"),
            "{error}"
        );
    }

    /// Counters as a bounded lift would give them, each name within its bound.
    fn counters(names: Vec<(&str, u64)>) -> BoundedCounters {
        Bounded(Ok(names
            .into_iter()
            .map(|(name, value)| (Bounded(Ok(name.to_string())), value))
            .collect()))
    }

    #[test]
    fn bounds_are_read_from_the_length_alone() {
        type Name = Bounded<String, MAX_COUNTER_NAME_BYTES>;
        assert!(Name::too_long(MAX_COUNTER_NAME_BYTES as u32).is_none());
        assert_eq!(
            Name::too_long(u32::MAX).map(Bounded::into_inner),
            Some(Err(u32::MAX as usize))
        );
        let many = check_counters(Bounded(Err(100_000))).expect_err("too many");
        assert!(many.to_string().contains("100000 counters"), "{many}");
        let long = Bounded(Ok(vec![(Bounded(Err(1 << 20)), 1)]));
        let long = check_counters(long).expect_err("too long");
        assert!(long.to_string().contains("1048576 bytes"), "{long}");
        assert_eq!(
            check_counters(counters(vec![("hits", 3)])).expect("fine")["hits"],
            3
        );
    }
}
