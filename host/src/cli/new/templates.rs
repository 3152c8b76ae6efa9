//! The files of each language's template, embedded in the binary: the example it starts
//! from (the same sources the tests build and check), a build script that finds the
//! project's toolchains, and the WIT it targets.

/// The contract, written to `wit/backend.wit` in every project.
pub(super) const WIT: &str = include_str!("../../../../wit/backend.wit");

/// The README every project gets, with `@...@` placeholders.
pub(super) const README: &str = include_str!("files/README.md");

/// One language's template.
pub(super) struct Template {
    /// What the language is called in the README.
    pub(super) language: &'static str,
    /// The example it is a copy of, and its policy.
    pub(super) example: &'static str,
    pub(super) policy: &'static str,
    /// The world it is built for.
    pub(super) world: &'static str,
    /// The source file an author edits.
    pub(super) source: &'static str,
    /// What the README says about the toolchain.
    pub(super) tool_note: &'static str,
    /// `(path, contents)` of every file but the README and the WIT.
    pub(super) files: &'static [(&'static str, &'static str)],
}

/// The template for `lang` (`rust`, `python`, `js` or `c`).
pub(super) fn for_language(lang: &str) -> Option<&'static Template> {
    TEMPLATES
        .iter()
        .find(|(name, _)| *name == lang)
        .map(|(_, t)| t)
}

/// The languages there are templates for.
pub(super) fn languages() -> Vec<&'static str> {
    TEMPLATES.iter().map(|(name, _)| *name).collect()
}

const TEMPLATES: &[(&str, Template)] = &[
    (
        "rust",
        Template {
            language: "Rust",
            example: "guest-examples/rust/memory",
            policy: "an unbounded map with lazy ttl expiry, listing and batches",
            world: "cache-backend-full",
            source: "src/lib.rs",
            tool_note: "It builds with cargo for rustup's `wasm32-wasip2` target \
                        (`rustup target add wasm32-wasip2`). In the component it is \
                        `no_std`, so that it imports nothing but the contract's `host` \
                        interface and `wasi:random/insecure-seed` (`src/runtime.rs` \
                        explains); collections come from `alloc`.",
            files: &[
                ("build.sh", include_str!("files/rust-build.sh")),
                ("Cargo.toml", include_str!("files/rust-Cargo.toml")),
                (
                    "Cargo.lock",
                    include_str!("../../../../guest-examples/rust/Cargo.lock"),
                ),
                (
                    "src/lib.rs",
                    include_str!("../../../../guest-examples/rust/memory/src/lib.rs"),
                ),
                (
                    "src/index.rs",
                    include_str!("../../../../guest-examples/rust/memory/src/index.rs"),
                ),
                (
                    "src/record.rs",
                    include_str!("../../../../guest-examples/rust/memory/src/record.rs"),
                ),
                (
                    "src/reply.rs",
                    include_str!("../../../../guest-examples/rust/memory/src/reply.rs"),
                ),
                (
                    "src/runtime.rs",
                    include_str!("../../../../guest-examples/rust/memory/src/runtime.rs"),
                ),
                (
                    "wit/deps/insecure-seed.wit",
                    include_str!("../../../../guest-examples/rust/memory/wit/insecure-seed.wit"),
                ),
            ],
        },
    ),
    (
        "python",
        Template {
            language: "Python",
            example: "guest-examples/python/lfu",
            policy: "least-frequently-used eviction with a `max-entries` bound and ttl",
            world: "cache-backend-with-listing",
            source: "app.py",
            tool_note: "It builds with componentize-py, found under `$WASMCACHE_TOOLCHAINS` \
                        (default: the toolchains of the wasmcache checkout that made it; \
                        `guest-examples/setup-toolchains.sh python` installs them).",
            files: &[
                ("build.sh", include_str!("files/python-build.sh")),
                (
                    "app.py",
                    include_str!("../../../../guest-examples/python/lfu/app.py"),
                ),
            ],
        },
    ),
    (
        "js",
        Template {
            language: "JavaScript",
            example: "guest-examples/js/lru",
            policy: "least-recently-used eviction on a `Map`, with a `max-entries` bound and ttl",
            world: "cache-backend-with-listing",
            source: "backend.js",
            tool_note: "It builds with componentize-js, found under `$WASMCACHE_TOOLCHAINS` \
                        (default: the toolchains of the wasmcache checkout that made it; \
                        `guest-examples/setup-toolchains.sh js` installs them).",
            files: &[
                ("build.sh", include_str!("files/js-build.sh")),
                (
                    "backend.js",
                    include_str!("../../../../guest-examples/js/lru/backend.js"),
                ),
            ],
        },
    ),
    (
        "c",
        Template {
            language: "C",
            example: "guest-examples/c/clock",
            policy: "an open-addressing table with CLOCK eviction, a `capacity` bound and ttl",
            world: "cache-backend-with-listing",
            source: "backend.c",
            tool_note: "It builds with clang and wasi-libc, and wasm-tools found under \
                        `$WASMCACHE_TOOLCHAINS` (default: the toolchains of the wasmcache \
                        checkout that made it; `guest-examples/setup-toolchains.sh c` \
                        installs them). `bindings/` is what `wit-bindgen c` 0.63 makes of \
                        `wit/`.",
            files: &[
                ("build.sh", include_str!("files/c-build.sh")),
                (
                    "backend.c",
                    include_str!("../../../../guest-examples/c/clock/backend.c"),
                ),
                (
                    "bindings/cache_backend_with_listing.c",
                    include_str!(
                        "../../../../guest-examples/c/clock/bindings/cache_backend_with_listing.c"
                    ),
                ),
                (
                    "bindings/cache_backend_with_listing.h",
                    include_str!(
                        "../../../../guest-examples/c/clock/bindings/cache_backend_with_listing.h"
                    ),
                ),
            ],
        },
    ),
];
