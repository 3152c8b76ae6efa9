//! The contract's interface names, with the version this host speaks.

/// The interface a backend must export, with the version this host speaks.
pub const BACKEND_INTERFACE: &str = "wasmcache:backend/backend@0.1.0";
/// The optional interface through which a backend hands its entries over on reload.
pub const HANDOVER_INTERFACE: &str = "wasmcache:backend/handover@0.1.0";
/// The interface the host provides to backends.
pub const HOST_INTERFACE: &str = "wasmcache:backend/host@0.1.0";

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
}
