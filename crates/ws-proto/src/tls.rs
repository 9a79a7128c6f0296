//! TLS configuration on rustls (feature `rustls`), shared by the
//! transports: which crypto provider, ALPN `http/1.1`, the roots a
//! `wss://` client trusts, and server configurations from PEM. Nothing
//! here does I/O on a connection: `ws-std` wraps its streams in
//! rustls, `ws-mio` drives rustls's record layer in its loop.
//!
//! The cryptography is rustls's `ring` provider (it needs a C compiler
//! to build), unless the program installed another as the process
//! default.

use std::fmt;
use std::format;
use std::string::String;
use std::sync::{Arc, OnceLock};
use std::vec;
use std::vec::Vec;

pub use rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Why a TLS configuration could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsConfigError {
    /// rustls refused it (an unusable key, no protocol version left).
    Rustls(rustls::Error),
    /// The PEM held nothing usable.
    BadPem(String),
    /// No trusted root certificate was found on this machine.
    NoRoots(String),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::Rustls(err) => write!(f, "TLS: {err}"),
            TlsConfigError::BadPem(why) | TlsConfigError::NoRoots(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Rustls(err) => Some(err),
            _ => None,
        }
    }
}

impl From<rustls::Error> for TlsConfigError {
    fn from(err: rustls::Error) -> Self {
        TlsConfigError::Rustls(err)
    }
}

/// A `wss://` client's TLS settings: a rustls [`ClientConfig`] (trusted
/// roots, client certificates, pinning: whatever rustls offers).
/// Configurations compare equal when they are the same `Arc`.
#[derive(Clone)]
pub struct ClientTls(pub Arc<ClientConfig>);

impl PartialEq for ClientTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ClientTls {}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientTls").finish_non_exhaustive()
    }
}

impl From<Arc<ClientConfig>> for ClientTls {
    fn from(config: Arc<ClientConfig>) -> Self {
        ClientTls(config)
    }
}

/// The crypto provider: the process default if the program installed
/// one, else rustls's `ring`.
fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// WebSockets upgrade HTTP/1.1 (RFC 6455 section 4.1); said in ALPN so
/// a server that also speaks HTTP/2 answers in HTTP/1.1.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"http/1.1".to_vec()]
}

fn client_config_with(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// The client configuration of a `wss://` client that was given none:
/// the machine's trusted root certificates (read once per process), or,
/// with the feature `webpki-roots`, Mozilla's roots built into the
/// program.
pub fn default_client_config() -> Result<Arc<ClientConfig>, TlsConfigError> {
    static DEFAULT: OnceLock<Result<Arc<ClientConfig>, TlsConfigError>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| client_config_with(default_roots()?))
        .clone()
}

#[cfg(feature = "webpki-roots")]
fn default_roots() -> Result<RootCertStore, TlsConfigError> {
    Ok(RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}

#[cfg(not(feature = "webpki-roots"))]
fn default_roots() -> Result<RootCertStore, TlsConfigError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(TlsConfigError::NoRoots(format!(
            "no trusted root certificate found on this machine ({} error(s) reading them); \
             install the system's CA certificates, build with the feature \
             webpki-roots, or configure the client's TLS",
            found.errors.len()
        )));
    }
    Ok(roots)
}

/// A client configuration that trusts exactly the CA certificates in
/// `ca_pem` (one or more PEM `CERTIFICATE` blocks): for a private CA, a
/// test, or `--ca FILE`.
pub fn client_config_trusting(ca_pem: &[u8]) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_pem)? {
        roots.add(cert)?;
    }
    client_config_with(roots)
}

/// A server configuration from a PEM certificate chain (the server's
/// certificate first) and its PEM private key (PKCS#8, PKCS#1 or SEC1),
/// with ALPN `http/1.1`; the client's SNI is read but one certificate
/// serves every name.
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = certificates(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|err| TlsConfigError::BadPem(format!("no private key in the key PEM: {err}")))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// The certificates of the PEM `CERTIFICATE` blocks in `pem` (at least
/// one).
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsConfigError::BadPem(format!("bad certificate PEM: {err}")))?;
    if certs.is_empty() {
        return Err(TlsConfigError::BadPem(
            "no CERTIFICATE block in the PEM".into(),
        ));
    }
    Ok(certs)
}
