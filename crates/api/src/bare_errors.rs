//! Gives the HTTP layer's own refusals the API's JSON error shape and a request id.
//!
//! actix-http answers a request it cannot read (malformed, a head too large, no complete head
//! in time) by itself, with a bare `400`, `431` or `408` whose body it hard-codes as empty, and
//! offers no hook to change that. It writes such an answer as one buffer, the last thing on the
//! connection. [`Answering`] wraps the connection and, when a write is exactly such a bare
//! answer, writes the same status with a JSON body and an `X-Request-ID` instead. Every other
//! write passes through untouched; the check is a prefix comparison.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The statuses actix-http sends on its own, with the API's words for them.
const BARE: &[(&[u8], &str, &str, &str)] = &[
    (
        b"HTTP/1.1 400 Bad Request\r\n",
        "400 Bad Request",
        "Bad Request",
        "The request could not be read as HTTP",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        "431 Request Header Fields Too Large",
        "Request Header Fields Too Large",
        "The request's URI or headers are too large",
    ),
    (
        b"HTTP/1.1 408 Request Timeout\r\n",
        "408 Request Timeout",
        "Request Timeout",
        "No complete request arrived in time",
    ),
];

/// A connection whose bare HTTP-layer refusals are rewritten (see the module documentation).
#[derive(Debug)]
pub(crate) struct Answering<S> {
    inner: S,
    /// The replacement being written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
    /// The request id given to a rewritten answer, for the connection's log line.
    request_id: Arc<OnceLock<String>>,
}

impl<S> Answering<S> {
    /// Wraps `inner`; `request_id` receives the id of a rewritten answer.
    pub(crate) fn new(inner: S, request_id: Arc<OnceLock<String>>) -> Self {
        Self {
            inner,
            pending: None,
            request_id,
        }
    }
}

/// The JSON answer for `write` when it is a bare refusal by the HTTP layer: a whole response
/// head with `content-length: 0` and nothing after it.
fn replacement(write: &[u8], request_id: &str) -> Option<Vec<u8>> {
    let (_, status, error, message) = BARE.iter().find(|(start, ..)| write.starts_with(start))?;
    let head_end = write.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &write[..head_end + 2];
    if head_end + 4 != write.len()
        || !head
            .windows(b"\r\ncontent-length: 0\r\n".len())
            .any(|w| w.eq_ignore_ascii_case(b"\r\ncontent-length: 0\r\n"))
    {
        return None;
    }
    let body = format!(r#"{{"error":"{error}","message":"{message}"}}"#);
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> Answering<S> {
    /// Writes what is left of the replacement; ready when all of it is written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Answering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Answering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none()
            && buf.len() < 512
            && let Some(bytes) = replacement(
                buf,
                this.request_id
                    .get_or_init(|| crate::request_id::RequestId::generate().as_str().to_owned()),
            )
        {
            this.pending = Some((bytes, 0));
        }
        if this.pending.is_some() {
            ready!(this.drain(cx))?;
            // The caller's bytes were answered by the replacement.
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bare_refusal_is_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Sun, 29 Nov 2026 06:00:00 GMT\r\n\r\n";
        let json =
            String::from_utf8(replacement(bare, "abc").unwrap_or_default()).unwrap_or_default();
        assert!(
            json.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"),
            "{json}"
        );
        assert!(json.contains("\r\nx-request-id: abc\r\n"), "{json}");
        let body = json.split("\r\n\r\n").nth(1).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(parsed["error"], "Bad Request");
        assert!(json.contains(&format!("content-length: {}\r\n", body.len())));

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 52\r\ncontent-type: application/json\r\n\r\n{\"error\":\"Invalid date\"}";
        assert!(
            replacement(ours, "abc").is_none(),
            "the API's own answers pass through"
        );
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ok, "abc").is_none());
        let followed = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n";
        assert!(
            replacement(followed, "abc").is_none(),
            "only a write that is the whole answer"
        );
        let timeout =
            b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        assert!(replacement(timeout, "abc").is_some());
    }
}
