//! Request ids (SPEC 6.3): taken from `X-Request-ID` when well-formed, otherwise generated, and
//! held in a per-thread logging context while a request is served, so that every log line
//! written meanwhile carries it.
//!
//! The context is a fixed-size value in a thread-local cell: entering it is a 65-byte copy,
//! with no allocation, no hashing and no lock (a `log-mdc` map cost two string allocations and
//! a hash insert per poll, on every request).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

/// The request id header, accepted from clients and always echoed.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The name the request id goes by in structured logs (the JSON lines' `mdc` object).
pub const REQUEST_ID_LOG_KEY: &str = "request_id";

/// The longest request id taken from a client.
const MAX_LEN: usize = 64;

/// A request id: 1 to 64 characters of `[A-Za-z0-9._-]`. Held inline, so it is `Copy` and never
/// allocates.
#[derive(Clone, Copy)]
pub(crate) struct RequestId {
    len: u8,
    bytes: [u8; MAX_LEN],
}

impl RequestId {
    /// The client's id when it is 1 to 64 characters of `[A-Za-z0-9._-]`, otherwise a new one.
    pub(crate) fn of_request(headers: &HeaderMap) -> Self {
        headers
            .get(REQUEST_ID)
            .and_then(|v| Self::parse(v.as_bytes()))
            .unwrap_or_else(Self::generate)
    }

    fn parse(id: &[u8]) -> Option<Self> {
        if !is_valid(id) {
            return None;
        }
        let mut bytes = [0; MAX_LEN];
        bytes[..id.len()].copy_from_slice(id);
        Some(Self {
            len: u8::try_from(id.len()).ok()?,
            bytes,
        })
    }

    /// 16 hex digits, unique within the process and unpredictable across processes: a counter
    /// scrambled with a per-process random key (SplitMix64).
    pub(crate) fn generate() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let key = *KEY.get_or_init(|| {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::time::SystemTime::now())
        });
        let mut z = key.wrapping_add(
            COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let mut bytes = [0; MAX_LEN];
        for (i, byte) in bytes[..16].iter_mut().enumerate() {
            *byte = b"0123456789abcdef"[((z >> (60 - 4 * i)) & 0xf) as usize];
        }
        Self { len: 16, bytes }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `is_valid` and `generate`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("-")
    }

    pub(crate) fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.bytes[..usize::from(self.len)])
            .unwrap_or_else(|_| HeaderValue::from_static("-"))
    }
}

/// Whether a client's id has the documented shape.
fn is_valid(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

thread_local! {
    /// The id of the request this thread is serving, if any.
    static CURRENT: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// Calls `f` with the id of the request the calling thread is serving, if it is serving one.
/// A log sink calls this while it formats a line, to put the id on it.
pub fn with_current_request_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let id = CURRENT.with(Cell::get);
    f(id.as_ref().map(RequestId::as_str))
}

/// Puts a request id in this thread's logging context until dropped.
pub(crate) struct LogContext(());

impl LogContext {
    pub(crate) fn enter(id: RequestId) -> Self {
        CURRENT.with(|current| current.set(Some(id)));
        Self(())
    }
}

impl Drop for LogContext {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_client(value: &str) -> Option<String> {
        RequestId::parse(value.as_bytes()).map(|id| id.as_str().to_owned())
    }

    #[test]
    fn request_ids_are_accepted_only_in_the_documented_shape() {
        for ok in ["a", "req-1.2_3", &"x".repeat(64)] {
            assert_eq!(from_client(ok).as_deref(), Some(ok));
        }
        for bad in ["", "has space", "semi;colon", "ü", &"x".repeat(65), "a\nb"] {
            assert_eq!(from_client(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_request_ids_are_distinct_and_well_formed() {
        let ids: std::collections::HashSet<_> = (0..10_000)
            .map(|_| RequestId::generate().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && from_client(id).as_ref() == Some(id))
        );
    }

    #[test]
    fn the_logging_context_holds_the_id_until_left() {
        let id = RequestId::generate();
        assert_eq!(with_current_request_id(|id| id.map(str::to_owned)), None);
        let context = LogContext::enter(id);
        assert_eq!(
            with_current_request_id(|current| current.map(str::to_owned)).as_deref(),
            Some(id.as_str())
        );
        drop(context);
        assert_eq!(with_current_request_id(|id| id.map(str::to_owned)), None);
    }
}
