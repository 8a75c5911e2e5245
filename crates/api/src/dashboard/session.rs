//! The dashboard's login (SPEC 17): with `api.auth_token` set, a browser shows the token once
//! in a form and gets a session cookie in return.
//!
//! The cookie never holds the token: it holds a value derived from it (SHA-256 of a fixed
//! label and the token), so a cookie that leaks from a browser does not reveal the token, and
//! changing the token ends every session. Nothing is kept on the server, so every replica
//! accepts the cookie of every other. Both the token typed into the form and the cookie are
//! compared in constant time.

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::header::{self, HeaderMap};
use coach_plans_config::Secret;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub(crate) const COOKIE: &str = "coach_plans_session";

/// How long a browser keeps the cookie: 30 days.
const MAX_AGE_SECONDS: u64 = 30 * 24 * 60 * 60;

/// What the session cookie holds for this token: lowercase hex of
/// SHA-256(`coach-plans dashboard session\n` + token).
pub(crate) fn session_value(token: &Secret) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"coach-plans dashboard session\n");
    hasher.update(token.expose().as_bytes());
    coach_plans_model::Sha256::from_bytes(hasher.finalize().into()).to_string()
}

/// Whether `given` (typed into the login form) is the token. Both sides are hashed first, so
/// the comparison takes the same time whatever the lengths.
pub(crate) fn token_matches(expected: &Secret, given: &str) -> bool {
    let expected = sha2::Sha256::digest(expected.expose().as_bytes());
    let given = sha2::Sha256::digest(given.as_bytes());
    bool::from(expected.as_slice().ct_eq(given.as_slice()))
}

/// Whether the request's cookies hold the session value for this token.
pub(crate) fn has_session(expected_value: &str, headers: &HeaderMap) -> bool {
    let mut found = false;
    for pair in headers
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
    {
        if let Some((name, value)) = pair.trim().split_once('=')
            && name == COOKIE
        {
            // Every cookie of that name is compared, so timing does not tell which one matched.
            found |= bool::from(value.as_bytes().ct_eq(expected_value.as_bytes()));
        }
    }
    found
}

/// The `Set-Cookie` value that signs a browser in. `secure` adds `Secure` (see
/// [`crate::dashboard`]: when `api.public_url` is https).
pub(crate) fn sign_in_cookie(token: &Secret, secure: bool) -> String {
    format!(
        "{COOKIE}={}; Path=/; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict{}",
        session_value(token),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that signs a browser out (the cookie expires at once).
pub(crate) fn sign_out_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A route guard that passes requests carrying the session cookie for the configured token.
pub(crate) struct SessionCookie {
    value: String,
}

impl SessionCookie {
    /// The guard for this token.
    pub(crate) fn new(token: &Secret) -> Self {
        Self {
            value: session_value(token),
        }
    }
}

impl Guard for SessionCookie {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        has_session(&self.value, ctx.head().headers())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::COOKIE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_cookie_is_derived_from_the_token_and_never_holds_it() {
        let token = Secret::new("s3cret-token");
        let value = session_value(&token);
        assert_eq!(value.len(), 64);
        assert!(!value.contains("s3cret-token"));
        assert_eq!(value, session_value(&Secret::new("s3cret-token")));
        assert_ne!(value, session_value(&Secret::new("another")));
        let cookie = sign_in_cookie(&token, false);
        assert!(!cookie.contains("s3cret"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(sign_in_cookie(&token, true).ends_with("; Secure"));
        assert!(sign_out_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = Secret::new("s3cret-token");
        assert!(token_matches(&token, "s3cret-token"));
        for wrong in [
            "",
            "s3cret",
            "s3cret-token ",
            "S3CRET-TOKEN",
            "s3cret-tokens",
        ] {
            assert!(!token_matches(&token, wrong), "{wrong:?}");
        }
    }

    #[test]
    fn the_session_is_found_among_other_cookies_and_headers() {
        let value = session_value(&Secret::new("t"));
        let good = format!("{COOKIE}={value}");
        assert!(has_session(&value, &cookies(&[&good])));
        assert!(has_session(
            &value,
            &cookies(&[&format!("a=1; {good}; b=2")])
        ));
        assert!(has_session(&value, &cookies(&["a=1", &good])));
        assert!(!has_session(&value, &cookies(&[])));
        assert!(!has_session(
            &value,
            &cookies(&[&format!("{COOKIE}=x{value}")])
        ));
        assert!(!has_session(&value, &cookies(&[&format!("other={value}")])));
        assert!(!has_session(&value, &cookies(&[&format!("{COOKIE}=")])));
    }
}
