//! [`Op`]: which [`Backend`](super::Backend) call a caller made, for logs and metrics.

/// One kind of [`Backend`](super::Backend) call. Metrics label calls with
/// [`Op::as_str`]; the set is fixed, so a label built from it stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`Backend::get`](super::Backend::get).
    Get,
    /// [`Backend::put`](super::Backend::put).
    Put,
    /// [`Backend::invalidate`](super::Backend::invalidate).
    Invalidate,
    /// [`Backend::stats`](super::Backend::stats).
    Stats,
    /// [`Backend::size`](super::Backend::size).
    Size,
    /// [`Backend::entries`](super::Backend::entries).
    Entries,
    /// [`Backend::keys`](super::Backend::keys).
    Keys,
    /// [`Backend::memory_use`](super::Backend::memory_use).
    MemoryUse,
    /// [`Backend::remove`](super::Backend::remove).
    Remove,
    /// [`Backend::ttl`](super::Backend::ttl).
    Ttl,
    /// [`Backend::set_ttl`](super::Backend::set_ttl).
    SetTtl,
    /// [`Backend::get_many`](super::Backend::get_many).
    GetMany,
    /// [`Backend::put_many`](super::Backend::put_many).
    PutMany,
    /// [`Backend::remove_many`](super::Backend::remove_many).
    RemoveMany,
}

impl Op {
    /// Every operation, in declaration order (`Op::ALL[op as usize] == op`).
    pub const ALL: [Op; 14] = [
        Op::Get,
        Op::Put,
        Op::Invalidate,
        Op::Stats,
        Op::Size,
        Op::Entries,
        Op::Keys,
        Op::MemoryUse,
        Op::Remove,
        Op::Ttl,
        Op::SetTtl,
        Op::GetMany,
        Op::PutMany,
        Op::RemoveMany,
    ];

    /// The trait method's name: `get`, `put_many`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::Invalidate => "invalidate",
            Op::Stats => "stats",
            Op::Size => "size",
            Op::Entries => "entries",
            Op::Keys => "keys",
            Op::MemoryUse => "memory_use",
            Op::Remove => "remove",
            Op::Ttl => "ttl",
            Op::SetTtl => "set_ttl",
            Op::GetMany => "get_many",
            Op::PutMany => "put_many",
            Op::RemoveMany => "remove_many",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_declaration_order_and_names_are_distinct() {
        for (index, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, index, "{op}");
        }
        let names: std::collections::HashSet<_> = Op::ALL.iter().map(|op| op.as_str()).collect();
        assert_eq!(names.len(), Op::ALL.len());
    }
}
