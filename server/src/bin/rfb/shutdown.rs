//! [`Shutdown`]: the signals that end `rfb serve` and `rfb record` cleanly (the recording
//! finalised, exit status 0) instead of killing them: SIGTERM (`kill`, service managers,
//! `docker stop`), SIGINT (Ctrl-C) and SIGHUP (the terminal closed).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Listens for SIGTERM, SIGINT and SIGHUP.
#[derive(Debug)]
pub struct Shutdown {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Shutdown {
    /// Installs the handlers: from this call on, the three signals no longer end the
    /// process; they are waited for with [`Shutdown::recv`]. Call it before anything a
    /// signal should not interrupt (the first output line), on a runtime with I/O enabled.
    pub fn listen() -> std::io::Result<Shutdown> {
        Ok(Shutdown {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the first of the signals; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}
