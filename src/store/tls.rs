//! TLS for the connections scimd opens with tokio-postgres rather than libpq (each
//! worker's async connections, and any other: take [`client_config`] and connect with
//! what it returns), chosen from the URL the way libpq chooses it.
//!
//! tokio-postgres knows `sslmode=disable|prefer|require` only, and never checks a
//! certificate itself: that is left to the TLS connector. So the URL's `sslmode` and
//! `sslrootcert` are read here, taken out of what tokio-postgres parses, and turned into
//! an OpenSSL connector that does what libpq does for them:
//!
//! | `sslmode` | TLS | certificate | host name |
//! |---|---|---|---|
//! | `disable` | never | - | - |
//! | `prefer` (default) | tried, plain if refused | not checked | not checked |
//! | `require` | insisted on | not checked, unless `sslrootcert` is given (then as `verify-ca`) | not checked |
//! | `verify-ca` | insisted on | signed by `sslrootcert` | not checked |
//! | `verify-full` | insisted on | signed by `sslrootcert` | matches the host (or IP address) |
//!
//! `sslrootcert=system` takes OpenSSL's default trust store, as libpq 16 does. Without
//! `sslrootcert`, libpq reads `~/.postgresql/root.crt`: that case, `sslmode=allow`, and
//! `sslmode=prefer` with a root certificate (libpq then checks it, and may still fall back
//! to plain) are refused here ([`ClientConfigError`]), and [`super::fast::unsupported`] leaves such
//! URLs to libpq alone.

use std::str::FromStr;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }
}

/// Why a URL cannot be connected to here as libpq would connect to it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientConfigError {
    #[error("DATABASE_URL is not a valid URL")]
    Url,
    #[error("sslmode={0} is not one libpq knows")]
    UnknownMode(String),
    #[error("sslmode=allow is left to libpq")]
    Allow,
    #[error("sslmode=prefer with sslrootcert is left to libpq")]
    PreferRootCert,
    #[error("sslmode={0} without sslrootcert reads ~/.postgresql/root.crt, which only libpq does")]
    NoRootCert(&'static str),
    #[error("DATABASE_URL uses what only libpq reads ({0})")]
    Driver(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// What tokio-postgres connects with for `url`: its config and a TLS connector that
/// checks what libpq would check (the module's table). The one place such connections
/// get their TLS.
pub fn client_config(
    url: &str,
) -> Result<(tokio_postgres::Config, MakeTlsConnector), ClientConfigError> {
    let mut parsed = url::Url::parse(url).map_err(|_| ClientConfigError::Url)?;
    let mut mode = SslMode::Prefer;
    let mut root_cert: Option<String> = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match &*k {
            "sslmode" => {
                mode = SslMode::parse(&v)
                    .ok_or_else(|| ClientConfigError::UnknownMode(v.clone().into_owned()))?;
            }
            "sslrootcert" => root_cert = Some(v.into_owned()),
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    // libpq: `require` with a root certificate checks the chain, as `verify-ca`.
    if mode == SslMode::Require && root_cert.is_some() {
        mode = SslMode::VerifyCa;
    }
    let (driver_mode, checked) = match mode {
        SslMode::Disable => ("disable", false),
        SslMode::Allow => return Err(ClientConfigError::Allow),
        SslMode::Prefer if root_cert.is_some() => return Err(ClientConfigError::PreferRootCert),
        SslMode::Prefer => ("prefer", false),
        SslMode::Require => ("require", false),
        SslMode::VerifyCa | SslMode::VerifyFull => ("require", true),
    };
    if parsed.query().is_some() {
        let mut pairs = parsed.query_pairs_mut();
        pairs.clear();
        for (k, v) in &rest {
            pairs.append_pair(k, v);
        }
        pairs.append_pair("sslmode", driver_mode);
    } else {
        parsed.set_query(Some(&format!("sslmode={driver_mode}")));
    }
    let config = tokio_postgres::Config::from_str(parsed.as_str())
        .map_err(|e| ClientConfigError::Driver(crate::error::chain(&e)))?;

    let tls_err = |e: openssl::error::ErrorStack| ClientConfigError::Tls(e.to_string());
    let mut tls = SslConnector::builder(SslMethod::tls_client()).map_err(tls_err)?;
    if checked {
        match root_cert.as_deref() {
            None => {
                return Err(ClientConfigError::NoRootCert(
                    if mode == SslMode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    },
                ))
            }
            Some("system") => tls.set_default_verify_paths().map_err(tls_err)?,
            Some(file) => tls.set_ca_file(file).map_err(|e| {
                ClientConfigError::Tls(format!("cannot read sslrootcert {file}: {e}"))
            })?,
        }
        tls.set_verify(SslVerifyMode::PEER);
    } else {
        tls.set_verify(SslVerifyMode::NONE);
    }
    let mut tls = MakeTlsConnector::new(tls.build());
    let full = mode == SslMode::VerifyFull;
    // The host name is always sent (SNI), as libpq does; it is checked against the
    // certificate only for `verify-full`.
    tls.set_callback(move |ssl, _| {
        ssl.set_verify_hostname(full);
        Ok(())
    });
    Ok((config, tls))
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    const URL: &str = "postgres://scimd:pw@db.internal:5432/scimd";

    fn mode(url: &str) -> Result<tokio_postgres::config::SslMode, ClientConfigError> {
        client_config(url).map(|(c, _)| c.get_ssl_mode())
    }

    #[test]
    fn libpq_modes_map_to_what_the_driver_knows() {
        use tokio_postgres::config::SslMode as Driver;
        assert_eq!(mode(URL), Ok(Driver::Prefer));
        assert_eq!(mode(&format!("{URL}?sslmode=disable")), Ok(Driver::Disable));
        assert_eq!(mode(&format!("{URL}?sslmode=require")), Ok(Driver::Require));
        let ca = std::env::temp_dir().join(format!("scimd-tls-{}.pem", std::process::id()));
        // Any PEM certificate will do to be read; its trust is not under test here.
        let cert = openssl::x509::X509::builder()
            .and_then(|mut b| {
                let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
                b.set_pubkey(&key)?;
                b.set_not_before(&*openssl::asn1::Asn1Time::days_from_now(0)?)?;
                b.set_not_after(&*openssl::asn1::Asn1Time::days_from_now(1)?)?;
                b.sign(&key, openssl::hash::MessageDigest::sha256())?;
                b.build().to_pem()
            })
            .unwrap();
        std::fs::write(&ca, cert).unwrap();
        for m in ["verify-ca", "verify-full", "require"] {
            let url = format!("{URL}?sslmode={m}&sslrootcert={}", ca.display());
            assert_eq!(mode(&url), Ok(Driver::Require), "{m}");
        }
        let with = format!(
            "{URL}?application_name=x&sslmode=verify-full&sslrootcert={}",
            ca.display()
        );
        let (config, _) = client_config(&with).unwrap();
        assert_eq!(config.get_application_name(), Some("x"));
        let _ = std::fs::remove_file(ca);
    }

    #[test]
    fn what_only_libpq_can_do_is_refused() {
        assert_eq!(
            mode(&format!("{URL}?sslmode=verify-full")),
            Err(ClientConfigError::NoRootCert("verify-full"))
        );
        assert_eq!(
            mode(&format!("{URL}?sslmode=allow")),
            Err(ClientConfigError::Allow)
        );
        assert!(matches!(
            mode(&format!(
                "{URL}?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"
            )),
            Err(ClientConfigError::Tls(_))
        ));
        assert!(matches!(
            mode(&format!("{URL}?passfile=/p")),
            Err(ClientConfigError::Driver(_))
        ));
    }
}
