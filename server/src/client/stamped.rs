//! A TCP stream that remembers when its bytes reached the machine: the kernel's receive
//! timestamp (`SO_TIMESTAMPNS`) of the last bytes each read returned.
//!
//! Hundreds of native viewers in one process (`rfb bench-viewers`) take turns on a few
//! runtime threads, so the time a viewer's task gets to a message grows with the number of
//! viewers even when the message reached the socket at once. The kernel's stamp is when the
//! bytes arrived in the socket's receive queue, whatever the process was doing: the time a
//! viewer on its own machine would have had them. On systems other than Linux the stream
//! reads normally and has no stamps.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A [`TcpStream`] that keeps the kernel receive timestamp of the last bytes it read.
#[derive(Debug)]
pub struct StampedTcp {
    inner: TcpStream,
    /// Whether the kernel stamps this socket (`SO_TIMESTAMPNS` was accepted).
    stamping: bool,
    last: Option<SystemTime>,
}

impl StampedTcp {
    /// Wraps `inner`, asking the kernel to stamp what it receives (where it can).
    pub fn new(inner: TcpStream) -> StampedTcp {
        let stamping = enable_stamps(&inner);
        StampedTcp {
            inner,
            stamping,
            last: None,
        }
    }

    /// When the last bytes read reached this machine's socket (wall clock, the kernel's
    /// stamp), or `None` when the kernel gives no stamps. The kernel switches stamping on
    /// for the whole machine a moment after the first socket asks, so the very first
    /// bytes of a fresh connection may come unstamped.
    pub fn last_arrival(&self) -> Option<SystemTime> {
        self.last
    }
}

#[cfg(target_os = "linux")]
fn enable_stamps(stream: &TcpStream) -> bool {
    use nix::sys::socket::{setsockopt, sockopt::ReceiveTimestampns};
    setsockopt(stream, ReceiveTimestampns, &true).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn enable_stamps(_stream: &TcpStream) -> bool {
    false
}

/// One `recvmsg` into `buf`: the byte count and the stamp of the last bytes read.
#[cfg(target_os = "linux")]
fn receive_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use nix::sys::time::TimeSpec;
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;

    let mut control = nix::cmsg_space!(TimeSpec);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmTimestampns(ts) => Some(
                SystemTime::UNIX_EPOCH
                    + std::time::Duration::new(
                        u64::try_from(ts.tv_sec()).ok()?,
                        u32::try_from(ts.tv_nsec()).ok()?,
                    ),
            ),
            _ => None,
        })
    });
    Ok((msg.bytes, stamp))
}

#[cfg(not(target_os = "linux"))]
fn receive_stamped(
    _stream: &TcpStream,
    _buf: &mut [u8],
) -> io::Result<(usize, Option<SystemTime>)> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

impl AsyncRead for StampedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.stamping {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            std::task::ready!(this.inner.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match this.inner.try_io(tokio::io::Interest::READABLE, || {
                receive_stamped(&this.inner, unfilled)
            }) {
                Ok((n, stamp)) => {
                    buf.advance(n);
                    if stamp.is_some() {
                        this.last = stamp;
                    }
                    return Poll::Ready(Ok(()));
                }
                // `try_io` cleared the readiness: wait for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for StampedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_carry_the_kernel_arrival_time_not_the_read_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connect = tokio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
        let (mut server, _) = listener.accept().await.unwrap();
        let mut client = StampedTcp::new(connect.await.unwrap());
        assert_eq!(client.last_arrival(), None, "nothing read yet");
        if cfg!(target_os = "linux") {
            // The kernel turns stamping on a moment after the first socket asks.
            let mut byte = [0u8; 1];
            for _ in 0..100 {
                server.write_all(b"w").await.unwrap();
                client.read_exact(&mut byte).await.unwrap();
                if client.last_arrival().is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }

        let before = SystemTime::now();
        server.write_all(b"hello").await.unwrap();
        // The bytes wait in the socket while this task is elsewhere.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let mut got = [0u8; 5];
        client.read_exact(&mut got).await.unwrap();
        let read_at = SystemTime::now();
        assert_eq!(&got, b"hello");
        if cfg!(target_os = "linux") {
            let arrived = client.last_arrival().expect("a kernel stamp");
            assert!(arrived >= before - std::time::Duration::from_millis(5));
            let waited = read_at.duration_since(arrived).unwrap();
            assert!(
                waited >= std::time::Duration::from_millis(100),
                "stamped at arrival, {waited:?} before the read"
            );
        }
        // Writes and end of stream pass through.
        client.write_all(b"ok").await.unwrap();
        let mut back = [0u8; 2];
        server.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ok");
        drop(server);
        let mut rest = Vec::new();
        assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0);
    }
}
