//! What an `amqps://` connection trusts and presents: extra CA certificates
//! (from [`PulseConfig::with_ca_pem`](crate::client::PulseConfig::with_ca_pem) or
//! `SSL_CERT_FILE`) and a client certificate
//! ([`PulseConfig::with_client_cert_pem`](crate::client::PulseConfig::with_client_cert_pem)),
//! as lapin's TLS configuration; and what a failed connection most likely
//! means.

use std::fmt;

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::client::error::{ClientError, LapinError};

/// The environment variable naming a PEM file of CA certificates to trust,
/// as OpenSSL and most TLS clients read it.
pub const CERT_FILE_VAR: &str = "SSL_CERT_FILE";

/// The TLS settings of a [`PulseConfig`](crate::client::PulseConfig). The client key
/// never shows in `Debug`.
#[derive(Clone, Default)]
pub(crate) struct Tls {
    /// PEM text of the CA certificates trusted besides the built-in roots.
    ca_pem: String,
    /// How many certificates `ca_pem` holds.
    ca_count: usize,
    /// The client certificate chain and key, both PEM.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl Tls {
    /// The CA certificates of the file `SSL_CERT_FILE` names, if it is set.
    pub(crate) fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let mut tls = Self::default();
        if let Some(path) = env(CERT_FILE_VAR).filter(|p| !p.is_empty()) {
            let pem = std::fs::read(&path).map_err(|e| {
                ClientError::config(format!(
                    "{CERT_FILE_VAR} names `{path}`, which cannot be read: {e}"
                ))
            })?;
            tls.add_ca_pem(&pem, &format_args!("the file `{path}` ({CERT_FILE_VAR})"))?;
        }
        Ok(tls)
    }

    /// Trusts the certificates of `pem` too.
    pub(crate) fn add_ca_pem(
        &mut self,
        pem: &[u8],
        what: &dyn fmt::Display,
    ) -> Result<(), ClientError> {
        let count = certificates(pem, what)?;
        let text = std::str::from_utf8(pem)
            .map_err(|_| ClientError::config(format!("{what} is not PEM text (not UTF-8)")))?;
        // A newline after each, so that the next one's BEGIN line stays its own.
        self.ca_pem.push_str(text);
        self.ca_pem.push('\n');
        self.ca_count += count;
        Ok(())
    }

    /// Presents `cert` (a PEM chain, the client's certificate first) with the
    /// private key `key` (PEM: PKCS#8, PKCS#1 or SEC1).
    pub(crate) fn set_identity(&mut self, cert: &[u8], key: &[u8]) -> Result<(), ClientError> {
        certificates(cert, &"the client certificate")?;
        // The key's parse error is not shown: it could quote key material.
        PrivateKeyDer::from_pem_slice(key).map_err(|_| {
            ClientError::config(
                "the client key is not a PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)",
            )
        })?;
        self.identity = Some((cert.to_vec(), key.to_vec()));
        Ok(())
    }

    /// lapin's TLS configuration: the extra CAs are trusted besides the
    /// built-in web roots.
    pub(crate) fn lapin_config(&self) -> OwnedTLSConfig {
        OwnedTLSConfig {
            identity: self
                .identity
                .as_ref()
                .map(|(pem, key)| OwnedIdentity::PKCS8 {
                    pem: pem.clone(),
                    key: key.clone(),
                }),
            cert_chain: (!self.ca_pem.is_empty()).then(|| self.ca_pem.clone()),
        }
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("extra_ca_certificates", &self.ca_count)
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

/// How many certificates `pem` holds; an error if none, or if a
/// `CERTIFICATE` block is not valid base64.
fn certificates(pem: &[u8], what: &dyn fmt::Display) -> Result<usize, ClientError> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| ClientError::config(format!("{what} is not valid PEM: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(ClientError::config(format!(
            "{what} has no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(count)
}

/// The error for a connection lapin could not open. A TLS port answers a
/// plain `amqp://` connection with a TLS alert, which lapin reports as a
/// parsing error, or by resetting the connection: say what that likely means.
pub(crate) fn connect_error(url: String, tls: bool, error: lapin::Error) -> ClientError {
    let not_amqp = match error.kind() {
        lapin::ErrorKind::ParsingError(_) => true,
        lapin::ErrorKind::IOError(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    };
    if !tls && not_amqp {
        return ClientError::Connect {
            url,
            source: Box::new(NotAmqp(LapinError(error))),
        };
    }
    ClientError::connect(url, error)
}

/// The server's answer to a plain connection was not AMQP.
#[derive(Debug)]
struct NotAmqp(LapinError);

impl fmt::Display for NotAmqp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the server did not answer in AMQP 0-9-1 (it sent something else or dropped \
             the connection); if this port takes TLS (5671 usually does), use amqps://",
        )
    }
}

impl std::error::Error for NotAmqp {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed certificate (openssl req -x509 -newkey ec
    // -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test), and its key.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBczCCARmgAwIBAgIUasuf8lT2+B8JlFl1DEneDzqa9KMwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAeFw0yNjExMjcxNzU4MzlaFw0zNjExMjQxNzU4Mzla
MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ5L5Wy
uPDQGw9AoIKRLAf00lTlR8zTGaO5Cvfcs/0qDStHI1Q/K5dL24hTi0jki93+LXYF
Wm6zbOy25PeAjk5Ro1MwUTAdBgNVHQ4EFgQUL7tnJW+b6K/y3W6cgq9WTly3h7Ew
HwYDVR0jBBgwFoAUL7tnJW+b6K/y3W6cgq9WTly3h7EwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNIADBFAiAXIRC+G9BN9saDufBiRzA47Ivrjnrj59Ktqv1z
LaVSNQIhAKNLTrzPMKy6w21oNpM/Xyy6teN4CwD9FLnJH7vtZos5
-----END CERTIFICATE-----
";

    #[test]
    fn ca_certificates_are_counted_and_handed_to_lapin() {
        let mut tls = Tls::default();
        tls.add_ca_pem(CERT.as_bytes(), &"test").unwrap();
        tls.add_ca_pem(format!("{CERT}{CERT}").as_bytes(), &"test")
            .unwrap();
        assert_eq!(tls.ca_count, 3);
        let config = tls.lapin_config();
        assert_eq!(
            config
                .cert_chain
                .unwrap()
                .matches("BEGIN CERTIFICATE")
                .count(),
            3
        );
        assert!(config.identity.is_none());
    }

    #[test]
    fn certificates_without_a_final_newline_stay_apart() {
        let mut tls = Tls::default();
        tls.add_ca_pem(CERT.trim_end().as_bytes(), &"test").unwrap();
        tls.add_ca_pem(CERT.trim_end().as_bytes(), &"test").unwrap();
        let chain = tls.lapin_config().cert_chain.unwrap();
        let parsed = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn a_plain_connection_reset_or_garbled_suggests_amqps() {
        let reset =
            || lapin::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let e = connect_error("amqp://u:***@h:5671/%2F".into(), false, reset());
        let levels = crate::report::tests::levels(&e);
        assert_eq!(levels.len(), 3, "{levels:#?}");
        assert!(levels[1].contains("use amqps://"), "{levels:#?}");
        assert!(levels[2].contains("IO error"), "{levels:#?}");
        // Over TLS, or when refused outright, no such hint.
        for e in [
            connect_error("amqps://u:***@h:5671/%2F".into(), true, reset()),
            connect_error(
                "amqp://u:***@h:5672/%2F".into(),
                false,
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
            ),
        ] {
            let chain = crate::report::Chain(&e).to_string();
            assert!(!chain.contains("use amqps"), "{chain}");
        }
    }

    #[test]
    fn text_without_a_certificate_is_refused() {
        let mut tls = Tls::default();
        let e = tls.add_ca_pem(b"not a certificate", &"the CA").unwrap_err();
        assert!(
            e.to_string().contains("the CA has no PEM certificate"),
            "{e}"
        );
        let broken = CERT.replace("MIIB", "M!IB");
        assert!(tls.add_ca_pem(broken.as_bytes(), &"the CA").is_err());
    }

    // A key made for this test only (openssl genpkey -algorithm EC).
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkFkd6vN2tpAN9nUQ
RJxEpr2xGvJBLYHW/rn9qF92UeGhRANCAASangxEihtvVzwBrVoa8ukZyVsUfSVJ
daMXqFHEcFY0JXgg3POg9fPh8RaJcfSM4ohZD0mVS1f1MdMcO26PVhQK
-----END PRIVATE KEY-----
";

    #[test]
    fn a_client_certificate_goes_to_lapin_and_its_key_shows_nowhere() {
        let mut tls = Tls::default();
        tls.set_identity(CERT.as_bytes(), KEY.as_bytes()).unwrap();
        match tls.lapin_config().identity {
            Some(OwnedIdentity::PKCS8 { pem, key }) => {
                assert_eq!(pem, CERT.as_bytes());
                assert_eq!(key, KEY.as_bytes());
            }
            other => panic!("{other:?}"),
        }
        let config = crate::client::PulseConfig::from_url("amqps://u:p@h")
            .unwrap()
            .with_client_cert_pem(CERT, KEY)
            .unwrap();
        let shown = format!("{config:?} {config}");
        assert!(!shown.contains(&KEY[40..80]), "{shown}");
        assert!(shown.contains("client_certificate: true"), "{shown}");
    }

    #[test]
    fn a_bad_client_key_is_refused_without_being_shown() {
        let mut tls = Tls::default();
        let key = b"-----BEGIN PRIVATE KEY-----\nS3CRETKEYMATERIAL!!\n-----END PRIVATE KEY-----\n";
        let e = tls.set_identity(CERT.as_bytes(), key).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("client key"), "{shown}");
        assert!(!shown.contains("S3CRET"), "{shown}");
    }

    #[test]
    fn ssl_cert_file_is_read_and_a_missing_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("pulse-binding-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, CERT).unwrap();
        let path = file.to_str().unwrap().to_owned();
        let tls = Tls::from_env(&|name| (name == CERT_FILE_VAR).then(|| path.clone())).unwrap();
        assert_eq!(tls.ca_count, 1);
        assert!(tls.lapin_config().cert_chain.is_some());
        let missing = dir.join("missing.pem").to_str().unwrap().to_owned();
        let e =
            Tls::from_env(&|name| (name == CERT_FILE_VAR).then(|| missing.clone())).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let none = Tls::from_env(&|_| None).unwrap();
        assert!(none.lapin_config().cert_chain.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
