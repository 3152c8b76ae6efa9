//! Running `wasmcache serve` as a process and talking RESP to it, for the CLI tests.
#![allow(dead_code)]

use std::process::Command;

/// A `wasmcache serve` process, killed when dropped.
pub struct Served(pub std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Served {
    /// Stops it as an operator would (SIGTERM) and waits for it to exit (at most 60 s).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM to {pid}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not exit after SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Sends one RESP request of `args` and reads one reply line (and a bulk body).
pub fn request(stream: &mut std::net::TcpStream, args: &[&str]) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut wire = format!("*{}\r\n", args.len());
    for arg in args {
        wire.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(wire.as_bytes()).expect("send");
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("reply");
    if let Some(len) = line
        .strip_prefix('$')
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body).expect("bulk body");
        line.push_str(&String::from_utf8_lossy(&body));
    }
    line
}

/// A free loopback port (taken, then released for whoever needs it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Fails with the command that installs `tool` when it is not on the PATH.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is missing: guest-examples/setup-toolchains.sh redis"
    );
}

/// A process killed when dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `wasmcache serve ARGS --listen 127.0.0.1:<free port>` and connects to it.
pub fn serve(args: &[&str]) -> (Served, String, std::net::TcpStream) {
    serve_with_env(args, &[])
}

/// [`serve`] with `env` added to the server's environment.
pub fn serve_with_env(
    args: &[&str],
    env: &[(&str, String)],
) -> (Served, String, std::net::TcpStream) {
    // Port 0 is not known in advance: take a free port and release it for the server.
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Served(
        Command::new(env!("CARGO_BIN_EXE_wasmcache"))
            .arg("serve")
            .args(args)
            .args(["--listen", &listen])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("wasmcache serve starts"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let stream = loop {
        match std::net::TcpStream::connect(&listen) {
            Ok(stream) => break stream,
            Err(e) if std::time::Instant::now() > deadline => panic!("never listened: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    (server, listen, stream)
}
