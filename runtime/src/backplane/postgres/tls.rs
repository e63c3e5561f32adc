//! TLS of the Postgres backplane: which certificates a connection trusts, by `sslmode`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::error;
use crate::backplane::BackplaneError;

/// Whose root certificates a server's certificate must chain to.
pub(super) enum Trust<'a> {
    /// The system's (the platform's store, or `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    System,
    /// Only those in this PEM (a private CA).
    Pem(&'a [u8]),
}

/// The connector for `mode`: `require` checks the certificate against `trust` and the host
/// name; `prefer` takes any certificate; `disable` never starts TLS.
pub(super) fn connector(
    mode: SslMode,
    trust: Trust<'_>,
) -> Result<MakeRustlsConnect, BackplaneError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(error)?;
    let mut config = match (mode, trust) {
        // tokio-postgres never hands a `disable` connection to the connector; should it ever,
        // no root is trusted, so it fails rather than talks to anyone.
        (SslMode::Disable, _) => builder
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
        // As libpq's `prefer`: whoever is on the path can answer "no TLS" and get plain text,
        // so checking the certificate would not stop them; it would only refuse the servers
        // with a self-signed certificate (Debian's default) that plain text reached before.
        (SslMode::Prefer, Trust::System) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
        (_, Trust::System) => builder
            .with_root_certificates(system_roots())
            .with_no_client_auth(),
        (_, Trust::Pem(pem)) => builder
            .with_root_certificates(pem_roots(pem)?)
            .with_no_client_auth(),
    };
    // What libpq 17 sends; PostgreSQL 17 requires it with `sslnegotiation=direct`, earlier
    // servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(MakeRustlsConnect::new(config))
}

/// The application's process-wide rustls provider if it set one, else `ring`. Nothing is
/// installed: the connector is handed its configuration, so no process default is needed.
fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    if let Some(first) = found.errors.first() {
        tracing::warn!(
            errors = found.errors.len(),
            first = %first,
            "livestar backplane: some system root certificates could not be read (postgres sslmode=require)"
        );
    }
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        tracing::warn!(
            "livestar backplane: no system root certificates found, so postgres sslmode=require refuses every server; install the system's CA certificates or use Postgres::with_root_certificate"
        );
    }
    roots
}

fn pem_roots(pem: &[u8]) -> Result<RootCertStore, BackplaneError> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate = certificate
            .map_err(|e| error(format!("the root certificate is not valid PEM: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| error(format!("the root certificate cannot be trusted: {e}")))?;
    }
    if roots.is_empty() {
        return Err(error(
            "the root certificate PEM holds no certificate: pass the CA's file, the one with -----BEGIN CERTIFICATE-----",
        ));
    }
    Ok(roots)
}

/// `sslmode=prefer`: any certificate is taken (see [`connector`]). The handshake's signatures
/// are still checked against the certificate presented, which SCRAM's channel binding (a hash
/// of that certificate, when the server authenticates by password) relies on.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
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
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
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

    #[test]
    fn a_root_pem_without_a_certificate_is_refused() {
        let key_only =
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        let refused = pem_roots(key_only).expect_err("no certificate in it");
        assert!(
            refused.to_string().contains("holds no certificate"),
            "{refused}"
        );
        assert!(pem_roots(b"").is_err());
    }

    #[test]
    fn every_mode_builds_a_connector() {
        for mode in [SslMode::Disable, SslMode::Prefer, SslMode::Require] {
            assert!(connector(mode, Trust::System).is_ok(), "{mode:?}");
        }
    }
}
