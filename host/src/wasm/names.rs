//! The contract's versions and their interface names.

/// The interface every backend exports, in the newest version of the contract.
pub const BACKEND_INTERFACE: &str = "wasmcache:backend/backend@0.2.0";
/// The optional interface through which a 0.2 backend lists its entries and keys.
pub const LISTING_INTERFACE: &str = "wasmcache:backend/listing@0.2.0";
/// The optional interface through which a 0.2 backend takes many keys in one call.
pub const BATCH_INTERFACE: &str = "wasmcache:backend/batch@0.2.0";
/// The interface the host provides to backends, in the newest version of the contract.
pub const HOST_INTERFACE: &str = "wasmcache:backend/host@0.2.0";
/// The optional interface through which a 0.1 backend hands its entries over on reload.
pub const HANDOVER_INTERFACE: &str = "wasmcache:backend/handover@0.1.0";

/// A version of the contract (`wit/` holds 0.2, `wit/v0.1/` holds 0.1). The host serves
/// both: a component targets exactly one, judged from the `backend` interface it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum ContractVersion {
    /// `wasmcache:backend@0.1.0`: the five callbacks and the optional `handover`.
    #[serde(rename = "0.1.0")]
    V0_1,
    /// `wasmcache:backend@0.2.0`: adds `remove`, `ttl`, `set-ttl`, and the optional `batch`
    /// and `listing`.
    #[serde(rename = "0.2.0")]
    V0_2,
}

impl ContractVersion {
    /// Every version the host serves, newest first.
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_2, ContractVersion::V0_1];

    /// The version's number, such as `0.2.0`.
    pub fn number(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// The `backend` interface of this version.
    pub fn backend_interface(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "wasmcache:backend/backend@0.1.0",
            ContractVersion::V0_2 => BACKEND_INTERFACE,
        }
    }

    /// The `host` interface of this version.
    pub fn host_interface(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "wasmcache:backend/host@0.1.0",
            ContractVersion::V0_2 => HOST_INTERFACE,
        }
    }

    /// The optional interface that lists entries: `handover` in 0.1, `listing` in 0.2.
    pub fn listing_interface(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => HANDOVER_INTERFACE,
            ContractVersion::V0_2 => LISTING_INTERFACE,
        }
    }

    /// The optional `batch` interface, which 0.1 does not have.
    pub fn batch_interface(self) -> Option<&'static str> {
        match self {
            ContractVersion::V0_1 => None,
            ContractVersion::V0_2 => Some(BATCH_INTERFACE),
        }
    }

    /// The version whose `backend` interface is `name`, if any.
    pub fn of_backend_interface(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|version| version.backend_interface() == name)
    }

    /// Whether `name` is an interface of this version of the contract.
    pub fn names(self, name: &str) -> bool {
        name == self.backend_interface()
            || name == self.host_interface()
            || name == self.listing_interface()
            || self.batch_interface() == Some(name)
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.number())
    }
}

/// An interface name without its `@version`.
pub(crate) fn base_name(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_drops_the_version() {
        assert_eq!(base_name(BACKEND_INTERFACE), "wasmcache:backend/backend");
        assert_eq!(base_name("plain"), "plain");
    }

    #[test]
    fn each_version_knows_its_interfaces() {
        for version in ContractVersion::ALL {
            assert_eq!(
                ContractVersion::of_backend_interface(version.backend_interface()),
                Some(version)
            );
            assert!(version.backend_interface().ends_with(version.number()));
            assert!(version.host_interface().ends_with(version.number()));
            assert!(version.names(version.listing_interface()));
        }
        assert_eq!(ContractVersion::V0_1.batch_interface(), None);
        assert!(!ContractVersion::V0_1.names(BACKEND_INTERFACE));
    }
}
