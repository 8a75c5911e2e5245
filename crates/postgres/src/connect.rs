//! From a `postgres://` URL to connections: the driver's configuration with our session
//! settings, the TLS connector (rustls), and the URL as it may be shown (password masked).

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use coach_plans_config::mask_url_password;
use coach_plans_storage::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What a store needs to connect: the driver's configuration and the TLS connector, and the
/// URL with its password masked for every message that names the database.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
    pub(crate) shown: String,
}

/// Session settings of every connection (`options`), how long to wait for a connection, and
/// how long a statement may run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
}

/// How many connection attempts may wait on peers that never answer (see [`connect_within`]).
const MAX_WAITING_ATTEMPTS: usize = 16;

/// Connects to `target` within its connect timeout for the whole of it. The driver times only
/// the TCP connect, so a peer that accepts and never answers (another service on the port, a
/// hung server) would hold the caller for ever, and startup with it. The attempt runs on a
/// thread of its own; one that overruns is left to end when its peer does (a peer that never
/// answers fills its accept queue, and then connects time out), and the caller gets an error
/// now.
pub(crate) fn connect_within(target: &Target) -> Result<postgres::Client, StoreError> {
    let limit = target
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(Duration::from_secs(10));
    // Attempts still waiting for a peer that never answers, left behind by earlier calls: at
    // most a few, so retries against such a peer cannot pile threads up.
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    if WAITING.load(Ordering::SeqCst) >= MAX_WAITING_ATTEMPTS {
        return Err(StoreError::Unavailable(
            format!(
                "{}: {MAX_WAITING_ATTEMPTS} earlier connection attempts are still waiting for the server to answer",
                target.shown
            )
            .into(),
        ));
    }
    let (answer, answered) = std::sync::mpsc::channel();
    let attempt = target.clone();
    WAITING.fetch_add(1, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("coach-plans-connect".to_owned())
        .spawn(move || {
            let connected = attempt
                .config
                .connect(attempt.tls.clone())
                .map_err(|e| crate::errors::sql_error(&attempt.shown, e));
            WAITING.fetch_sub(1, Ordering::SeqCst);
            let _ = answer.send(connected);
        })
        .map_err(|e| {
            WAITING.fetch_sub(1, Ordering::SeqCst);
            StoreError::Unavailable(
                format!("{}: cannot start a thread to connect: {e}", target.shown).into(),
            )
        })?;
    answered.recv_timeout(limit).unwrap_or_else(|_| {
        Err(StoreError::Unavailable(
            format!(
                "{}: the server accepted the connection but did not answer within {} s",
                target.shown,
                limit.as_secs_f64()
            )
            .into(),
        ))
    })
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Reads `url` into a [`Target`]. `sslmode` follows libpq: `disable` (no TLS), `prefer` (the
/// default: TLS when the server offers it), `require` (TLS or nothing), none of which check
/// the server's certificate, as libpq does not; `verify-ca` and `verify-full` require TLS and
/// check the certificate chain and the host name against the platform's trusted roots.
pub(crate) fn target(url: &str, session: Session) -> Result<Target, StoreError> {
    let shown = mask_url_password(url);
    let invalid = |why: String| {
        StoreError::Other(format!("{shown} is not a usable PostgreSQL URL: {why}").into())
    };
    if !is_postgres_url(url) {
        return Err(invalid(
            "it must start with postgres:// or postgresql://".to_owned(),
        ));
    }
    let (url, verify) = take_verify_mode(url);
    // The driver's parse errors never repeat the URL, so they cannot show the password.
    let mut config = postgres::Config::from_str(&url).map_err(|e| invalid(e.to_string()))?;
    if verify {
        config.ssl_mode(postgres::config::SslMode::Require);
    }
    let mut options = config.get_options().unwrap_or_default().to_owned();
    // A returned save means committed (and flushed): whatever the server's default, this
    // session waits for its commits to reach disk.
    options.push_str(&format!(
        " -c statement_timeout={} -c synchronous_commit=on",
        session.statement_timeout.as_millis().max(1)
    ));
    config.options(options.trim_start());
    if config.get_application_name().is_none() {
        config.application_name("coach-plans");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(session.connect_timeout);
    }
    // A peer that vanished (a dead host, a cut network) is noticed within about a minute
    // instead of the kernel's two hours.
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
    let tls = MakeRustlsConnect::new(tls_config(verify).map_err(|e| invalid(e.to_string()))?);
    Ok(Target { config, tls, shown })
}

/// Removes `sslmode=verify-ca` or `sslmode=verify-full` (which the driver does not know) from
/// the query, saying whether it was there.
fn take_verify_mode(url: &str) -> (String, bool) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), false);
    };
    let mut verify = false;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let strict = matches!(*pair, "sslmode=verify-full" | "sslmode=verify-ca");
            verify |= strict;
            !strict
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), verify)
    } else {
        (format!("{base}?{}", kept.join("&")), verify)
    }
}

/// rustls with ring: the platform's verifier when the certificate is to be checked, otherwise
/// one that checks only that the server holds the key of the certificate it shows (libpq's
/// `prefer` and `require`: encrypted, not authenticated).
fn tls_config(verify: bool) -> Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = if verify {
        builder.with_platform_verifier()?.with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// libpq's `sslmode=prefer`/`require`: any certificate is accepted, but the handshake's
/// signatures are still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: Session = Session {
        connect_timeout: Duration::from_secs(3),
        statement_timeout: Duration::from_millis(1500),
    };

    #[test]
    fn verify_full_asks_for_tls_and_the_driver_gets_a_url_it_knows() {
        let target = target(
            "postgres://coach:pw@db.example/plans?sslmode=verify-full&application_name=x",
            SESSION,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target.config.get_ssl_mode(),
            postgres::config::SslMode::Require
        );
        assert_eq!(target.config.get_application_name(), Some("x"));
        assert_eq!(
            target.config.get_options(),
            Some("-c statement_timeout=1500 -c synchronous_commit=on")
        );
        assert_eq!(
            target.shown,
            "postgres://coach:***@db.example/plans?sslmode=verify-full&application_name=x"
        );
    }

    #[test]
    fn a_bad_url_is_refused_without_showing_its_password() {
        for url in [
            "mysql://coach:s3cret@db/plans",
            "postgres://coach:s3cret@db/plans?sslmode=sometimes",
        ] {
            let error = target(url, SESSION)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("not a usable PostgreSQL URL"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
