//! A `nats-server` of the test's own on a free loopback port (`scripts/setup.sh` installs
//! it; `NATS_SERVER` names another binary).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nats-server`, killed on drop.
pub struct Nats {
    child: Option<Child>,
    /// A configuration file written for this server (removed on drop).
    config: Option<std::path::PathBuf>,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

/// A port nothing listens on now (bound to 127.0.0.1:0, read back, released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn binary() -> String {
    if let Ok(path) = std::env::var("NATS_SERVER") {
        return path;
    }
    for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    "nats-server".to_string()
}

impl Nats {
    /// Starts one on a free port.
    pub fn start() -> Nats {
        Nats::spawn(free_port(), &[])
    }

    /// Starts one on a free port with extra flags (`--auth TOKEN`, say).
    pub fn start_with(extra: &[&str]) -> Nats {
        Nats::spawn(free_port(), extra)
    }

    /// Starts one on a free port with this configuration file text (`max_payload`,
    /// accounts and permissions; the listen address comes from the command line).
    pub fn start_with_config(config: &str) -> Nats {
        let path = std::env::temp_dir().join(format!(
            "rfb-relay-test-{}-{}.conf",
            std::process::id(),
            free_port()
        ));
        std::fs::write(&path, config).unwrap();
        let mut nats = Nats::spawn(free_port(), &["-c", path.to_str().unwrap()]);
        nats.config = Some(path);
        nats
    }

    /// Starts one on `port` (a restart on the same address), ready to accept clients.
    pub fn start_on(port: u16) -> Nats {
        Nats::spawn(port, &[])
    }

    fn spawn(port: u16, extra: &[&str]) -> Nats {
        let child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting nats-server ({}): {e}; run scripts/setup.sh",
                    binary()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats {
            child: Some(child),
            config: None,
            port,
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it (its clients see the connection drop and start reconnecting).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
        if let Some(path) = self.config.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
