//! `{code, message}` also on the refusals the HTTP library makes by itself.
//!
//! hyper answers a request it cannot parse (a URL over 64 KiB: 414, headers over its buffer:
//! 431, a malformed request line or header: 400) before any handler runs, with an empty body,
//! and closes the connection. [`JsonRefusals`] wraps a connection's byte stream and replaces
//! such a bodiless error response with the same status and a `{code, message}` body. Only a
//! response head with `content-length: 0` and a 4xx or 5xx status is rewritten: every answer of
//! Porter's own handlers carries a body, so none of them is ever touched.

use crate::service::Code;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A connection whose library-made refusals carry `{code, message}`.
#[derive(Debug)]
pub struct JsonRefusals<I> {
    inner: I,
    /// A rewritten response not yet written through.
    pending: Vec<u8>,
}

impl<I> JsonRefusals<I> {
    /// Wraps a connection.
    pub fn new(inner: I) -> JsonRefusals<I> {
        JsonRefusals { inner, pending: Vec::new() }
    }
}

/// The `{code, message}` replacement of a bodiless error response head, if `buf` is one.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status = std::str::from_utf8(rest.get(..3)?).ok()?.parse::<u16>().ok()?;
    if !(400..600).contains(&status) || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    if head.matches("\r\n\r\n").count() != 1 || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (code, message) = match status {
        414 => (Code::UriTooLong, "the URL is longer than 64 KiB: send the data in a body"),
        431 => {
            (Code::HeadersTooLarge, "the request's headers are too large: send fewer or shorter")
        }
        400 => (Code::MalformedRequest, "the request is not valid HTTP/1.1"),
        _ => (Code::HttpRefused, "the server could not read this request"),
    };
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let mut out = buf[..line_end].to_vec();
    out.extend_from_slice(
        format!(
            "\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Some(out)
}

impl<I: AsyncWrite + Unpin> JsonRefusals<I> {
    /// Writes the pending replacement through; Ready once it is all written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for JsonRefusals<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(replacement) = rewrite(buf) {
            this.pending = replacement;
            // The rest is written by the next write, flush or shutdown.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// A TCP listener for `axum::serve` whose connections are [`JsonRefusals`].
#[derive(Debug)]
pub struct JsonRefusalListener(pub TcpListener);

impl axum::serve::Listener for JsonRefusalListener {
    type Io = JsonRefusals<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (JsonRefusals::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// An `axum_server` acceptor that wraps what `A` accepts (plain TCP, or TLS) in
/// [`JsonRefusals`], so the rewrite sees plaintext HTTP.
#[derive(Clone, Debug)]
pub struct JsonRefusalAcceptor<A>(pub A);

impl<I, S, A> axum_server::accept::Accept<I, S> for JsonRefusalAcceptor<A>
where
    A: axum_server::accept::Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = JsonRefusals<A::Stream>;
    type Service = A::Service;
    type Future =
        Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send + 'static>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((JsonRefusals::new(stream), service))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn only_bodiless_error_heads_are_rewritten() {
        let refusal = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(refusal).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{out}");
        assert!(out.ends_with(r#"{"code":"uri_too_long","message":"the URL is longer than 64 KiB: send the data in a body"}"#));
        // A handler's answer has a body (or is a success): left alone.
        assert!(rewrite(b"HTTP/1.1 404 Not Found\r\ncontent-length: 20\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}").is_none());
    }
}
