//! Shared helpers for wasmcache's integration tests.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use wasmcache::reload::{BackendGroup, BackendHandle, Source};
use wasmcache::server::{Server, ServerConfig, Shards};
use wasmcache::{
    BackendComponent, ComponentLoader, Engine, EngineConfig, Limits, SharedClock, SystemClock,
    builtin,
};

/// One engine for the whole test binary, as in production.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(EngineConfig::default()).expect("default engine config is valid")
    })
}

/// Compiles and validates `bytes` as a backend on the shared engine.
pub fn component(name: &str, bytes: &[u8]) -> BackendComponent {
    BackendComponent::from_bytes(engine(), name, bytes)
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

/// The hostile guests, built from `tests/guests/hostile/*` by the build script.
pub mod hostile {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

pub mod buggy;
pub mod counting;
pub mod redis_servers;

/// Well-behaved guests built from `tests/guests/fixtures/`.
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// Builds `guest-examples/<lang>/<name>` with its own `build.sh` (the one build command its
/// README gives) into `cache_dir`, reusing the result while the example's sources and the
/// WIT are unchanged. A missing toolchain fails with the command that installs it.
pub fn build_example(lang: &str, name: &str, cache_dir: &std::path::Path) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    use std::path::Path;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let dir = root.join("guest-examples").join(lang).join(name);
    let mut hasher = Sha256::new();
    for folder in [dir.clone(), root.join("wit")] {
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("read {}: {e}", folder.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.is_file() && path.extension().is_none_or(|ext| ext != "wasm"))
            .collect();
        files.sort();
        for file in files {
            hasher.update(file.file_name().expect("file name").as_encoded_bytes());
            hasher.update(std::fs::read(&file).expect("read source"));
        }
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::create_dir_all(cache_dir).expect("create the build cache");
    let out = cache_dir.join(format!("{lang}-{name}-{digest}.wasm"));
    if !out.is_file() {
        let partial = out.with_extension("partial");
        let output = std::process::Command::new(dir.join("build.sh"))
            .arg(&partial)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}/build.sh: {e}", dir.display()));
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() == Some(127) {
            panic!("the {lang} toolchain is missing:\n{stderr}");
        }
        assert!(
            output.status.success(),
            "{lang}/{name}: build.sh failed:\n{}{stderr}",
            String::from_utf8_lossy(&output.stdout)
        );
        std::fs::rename(&partial, &out).expect("move the built component in place");
    }
    std::fs::read(&out).expect("read the built component")
}

/// A server on a free loopback port, running on its own runtime until dropped.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shards, for reloading or inspecting them.
    pub shards: Arc<Shards>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Starts a server of two shards of `source` on the shared engine.
    pub fn start(
        source: Source,
        clock: SharedClock,
        limits: Limits,
        config: ServerConfig,
    ) -> RunningServer {
        Self::start_on(engine(), source, clock, limits, config)
    }

    /// Starts a server of two shards of `source` on `engine`.
    pub fn start_on(
        engine: &Engine,
        source: Source,
        clock: SharedClock,
        limits: Limits,
        config: ServerConfig,
    ) -> RunningServer {
        let loader = ComponentLoader::new(engine, limits).expect("limits fit the engine");
        let builder = BackendHandle::builder().loader(loader).clock(clock);
        let group = BackendGroup::load(builder, source, 2).expect("shards load");
        Self::serve(Arc::new(Shards::new(group)), config)
    }

    /// Starts a server of two shards of the embedded `memory` guest, as near caches over
    /// the shared `tier`.
    pub fn over(tier: Arc<wasmcache::tier::Tier>) -> RunningServer {
        let loader = ComponentLoader::new(engine(), Limits::default()).expect("limits fit");
        let builder = BackendHandle::builder().loader(loader);
        let group = BackendGroup::load(builder, Source::bytes("memory", builtin::MEMORY), 2)
            .expect("shards load");
        Self::serve(Arc::new(Shards::over(group, tier)), ServerConfig::default())
    }

    /// Serves `shards` with `config` on a free loopback port.
    pub fn serve(shards: Arc<Shards>, config: ServerConfig) -> RunningServer {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let served = shards.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let config = ServerConfig {
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                    ..config
                };
                let server = Server::bind(config, served).await.expect("bind");
                ready_tx
                    .send(server.local_addr().expect("addr"))
                    .expect("report the address");
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = ready_rx.recv().expect("the server started");
        RunningServer {
            addr,
            shards,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A server of the embedded `memory` guest.
    pub fn memory() -> RunningServer {
        Self::start(
            Source::bytes("memory", builtin::MEMORY),
            SystemClock::shared(),
            Limits::default(),
            ServerConfig::default(),
        )
    }

    /// A connected client.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://{}/", self.addr))
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    /// Stops it and waits for its thread.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread ends cleanly");
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}
