//! The conformance suite against the native backend and every Rust guest, with the
//! options each is deployed with.

use wasmcache::{
    BackendFactory, ContractVersion, InitOptions, MemoryBackendFactory, builtin, conformance,
};
use wasmcache_tests::buggy::KeepsLaterExpiryFactory;
use wasmcache_tests::{component, fixtures};

fn assert_conforms(factory: &dyn BackendFactory, options: &[(&str, &str)]) {
    let options: InitOptions = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let report = conformance::run(factory, &options);
    assert_eq!(report.outcomes.len(), conformance::cases().len());
    assert_eq!(
        (report.failed(), report.not_applicable()),
        (0, 0),
        "{} with {options:?}:\n{report}",
        factory.name()
    );
}

/// The names of the cases that failed.
fn failed_cases(report: &conformance::Report) -> Vec<&'static str> {
    report
        .outcomes
        .iter()
        .filter(|o| o.failure.is_some())
        .map(|o| o.case)
        .collect()
}

#[test]
fn native_memory_backend_conforms() {
    assert_conforms(&MemoryBackendFactory::default(), &[]);
}

#[test]
fn memory_guest_conforms() {
    assert_conforms(&component("memory", builtin::MEMORY), &[]);
}

#[test]
fn a_contract_0_1_backend_still_conforms_where_0_1_can() {
    let v01 = component("v01-memory", fixtures::V01_MEMORY);
    assert_eq!(v01.contract_version(), ContractVersion::V0_1);
    let report = conformance::run(&v01, &Vec::new());
    assert_eq!(report.failed(), 0, "{report}");
    let not_applicable: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.not_applicable.is_some())
        .map(|o| o.case)
        .collect();
    // 0.1 cannot report an entry's ttl; everything else is served through the host's
    // fallbacks (remove and set-ttl through get/put/invalidate, listing through handover).
    assert_eq!(not_applicable, ["ttl-read-back"], "{report}");
}

#[test]
fn the_suite_catches_wrong_removal_counts_and_ttls() {
    use wasmcache::{Backend, BackendStats, Expiry, MemoryBackend, SharedClock, SizeLimits};

    struct Boastful(MemoryBackend);
    impl Backend for Boastful {
        fn get(&self, key: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
            self.0.get(key)
        }
        fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> wasmcache::Result<()> {
            self.0.put(key, value, ttl_ms)
        }
        fn invalidate(&self, key: Option<&[u8]>) -> wasmcache::Result<()> {
            self.0.invalidate(key)
        }
        fn stats(&self) -> wasmcache::Result<BackendStats> {
            self.0.stats()
        }
        fn size_limits(&self) -> SizeLimits {
            self.0.size_limits()
        }
        // Always claims it removed something.
        fn remove(&self, key: &[u8]) -> wasmcache::Result<bool> {
            self.0.remove(key).map(|_| true)
        }
        // Rounds every remaining ttl up to the next second.
        fn ttl(&self, key: &[u8]) -> wasmcache::Result<Option<Expiry>> {
            Ok(self.0.ttl(key)?.map(|expiry| match expiry {
                Expiry::InMs(ms) => Expiry::InMs(ms.div_ceil(1000) * 1000),
                other => other,
            }))
        }
    }
    struct Factory;
    impl BackendFactory for Factory {
        fn name(&self) -> &str {
            "boastful"
        }
        fn init(
            &self,
            options: &InitOptions,
            clock: SharedClock,
        ) -> wasmcache::Result<Box<dyn Backend>> {
            MemoryBackendFactory::default().init(options, clock.clone())?;
            Ok(Box::new(Boastful(MemoryBackend::new(clock))))
        }
    }
    let report = conformance::run(&Factory, &Vec::new());
    assert_eq!(
        failed_cases(&report),
        [
            "remove-reports-presence",
            "ttl-read-back",
            "batches-match-single-calls"
        ],
        "{report}"
    );
}

#[test]
fn lru_guest_conforms_with_default_and_explicit_bounds() {
    let lru = component("lru", builtin::LRU);
    assert_conforms(&lru, &[]);
    assert_conforms(&lru, &[("max-entries", "100")]);
    // A byte budget below the host's value limit: the at-limit value is refused with
    // `too-large`, which the contract allows.
    assert_conforms(&lru, &[("max-bytes", "65536")]);
    assert_conforms(&lru, &[("max-entries", "5000"), ("max-bytes", "4194304")]);
}

/// A backend that answers wrongly must fail the suite: the suite is not a rubber stamp.
#[test]
fn the_suite_catches_a_backend_that_ignores_ttl() {
    use wasmcache::{Backend, BackendStats, MemoryBackend, SharedClock, SizeLimits};

    struct IgnoresTtl(MemoryBackend);
    impl Backend for IgnoresTtl {
        fn get(&self, key: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
            self.0.get(key)
        }
        fn put(&self, key: &[u8], value: &[u8], _ttl_ms: Option<u64>) -> wasmcache::Result<()> {
            self.0.put(key, value, None)
        }
        fn invalidate(&self, key: Option<&[u8]>) -> wasmcache::Result<()> {
            self.0.invalidate(key)
        }
        fn stats(&self) -> wasmcache::Result<BackendStats> {
            self.0.stats()
        }
        fn size_limits(&self) -> SizeLimits {
            self.0.size_limits()
        }
    }
    struct Factory;
    impl BackendFactory for Factory {
        fn name(&self) -> &str {
            "ignores-ttl"
        }
        fn init(
            &self,
            options: &InitOptions,
            clock: SharedClock,
        ) -> wasmcache::Result<Box<dyn Backend>> {
            // Option handling as the reference; storage that drops every ttl.
            MemoryBackendFactory::default().init(options, clock.clone())?;
            Ok(Box::new(IgnoresTtl(MemoryBackend::new(clock))))
        }
    }
    let report = conformance::run(&Factory, &Vec::new());
    let failed = failed_cases(&report);
    assert!(failed.contains(&"ttl-expiry"), "{report}");
    assert!(failed.contains(&"ttl-zero"), "{report}");
    assert!(!failed.contains(&"hit-after-put"), "{report}");
}

/// A realistic bug: on overwrite, keep the later of the old and the new expiry. The
/// overwrite cases must catch it (an earlier suite of 21 cases did not).
#[test]
fn the_suite_catches_a_backend_that_keeps_the_later_expiry_on_overwrite() {
    let report = conformance::run(&KeepsLaterExpiryFactory, &Vec::new());
    let failed = failed_cases(&report);
    assert_eq!(
        failed,
        ["put-replaces-ttl-shorter-and-longer"],
        "exactly the overwrite case catches it:\n{report}"
    );
}
