//! rustls integration: client-certificate verifiers so a rustls server can require this CA's device
//! certificates for mTLS.
//!
//! - [`DeviceCertVerifier`] (from [`CertificateAuthority::client_verifier`]): chain to our root through
//!   any issuing CA generation, clientAuth EKU *present*, and status from our records (the in-memory view
//!   of superseded and revoked certificates; changes made through this instance apply at once, others'
//!   after [`CertificateAuthority::refresh_revocations`]). Time comes from the CA's injected clock, not
//!   rustls's. Every handshake's outcome goes to the usage record.
//! - [`CertificateAuthority::crl_client_verifier`]: rustls's own `WebPkiClientVerifier` over the root and
//!   the current CRLs (end-entity revocation, unknown status denied, stale CRLs refused) — for services
//!   that only hold published CRLs. It checks time with rustls's clock and, like webpki, accepts a
//!   certificate with no EKU; build a new one after each CRL.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::CaError;
use crate::authority::{CertificateAuthority, Shared};
use crate::record::{CertSerial, UsageKind};
use crate::verify::verify_client_chain;

/// A rustls `ClientCertVerifier` backed by this CA's records. See the module docs.
#[derive(Debug)]
pub struct DeviceCertVerifier {
    shared: Arc<Shared>,
    subjects: Vec<DistinguishedName>,
    algs: WebPkiSupportedAlgorithms,
}

fn to_rustls(e: &CaError) -> rustls::Error {
    let c = match e {
        CaError::CertificateExpired => CertificateError::Expired,
        CaError::CertificateNotYetValid => CertificateError::NotValidYet,
        CaError::UnknownIssuer | CaError::UnknownCertificate => CertificateError::UnknownIssuer,
        CaError::WrongKeyUsage => CertificateError::InvalidPurpose,
        CaError::CertificateRevoked { .. } | CaError::CertificateSuperseded { .. } => CertificateError::Revoked,
        CaError::CertificateMalformed(_) => CertificateError::BadEncoding,
        _ => CertificateError::ApplicationVerificationFailure,
    };
    rustls::Error::InvalidCertificate(c)
}

impl DeviceCertVerifier {
    /// The serial (when the chain verified) and the verdict.
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> (Option<CertSerial>, Result<(), CaError>) {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        // Our own issuing CAs first; what the client sent may add nothing we do not already trust.
        let mut chain: Vec<CertificateDer<'_>> = auth.intermediates.clone();
        chain.extend(intermediates.iter().cloned());
        match verify_client_chain(end_entity, &auth.root_anchor, &chain, now) {
            Ok(serial) => (Some(serial), self.shared.check_revocation_view(serial, now)),
            Err(e) => (None, Err(e)),
        }
    }
}

impl ClientCertVerifier for DeviceCertVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let (serial, out) = self.check(end_entity, intermediates);
        let mut ev = self.shared.event(UsageKind::Verified, serial, None);
        ev.detail = "mtls handshake".into();
        match out {
            Ok(_) => {
                self.shared.usage.record(ev);
                Ok(ClientCertVerified::assertion())
            }
            Err(e) => {
                ev.failure = Some(e.code().to_string());
                self.shared.usage.record(ev);
                Err(to_rustls(&e))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl CertificateAuthority {
    /// A rustls client-certificate verifier checking chain, clientAuth EKU and status in our records.
    /// Clients must present a certificate (client auth is mandatory).
    pub fn client_verifier(&self) -> Arc<DeviceCertVerifier> {
        let shared = self.shared().clone();
        let subjects = vec![DistinguishedName::in_sequence(shared.authorities().root_anchor.subject.as_ref())];
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        Arc::new(DeviceCertVerifier { shared, subjects, algs })
    }

    /// A rustls `WebPkiClientVerifier` over our root and freshly signed CRLs of every unexpired issuing CA
    /// (see the module docs for how it differs from [`client_verifier`](Self::client_verifier)).
    pub async fn crl_client_verifier(&self) -> Result<Arc<dyn ClientCertVerifier>, CaError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.root_certificate()).map_err(|e| CaError::Misuse(format!("root: {e}")))?;
        let crls = self.crls().await?.iter().map(|c| c.crl_der()).collect::<Vec<_>>();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .enforce_revocation_expiration()
            .build()
            .map_err(|e| CaError::Misuse(format!("building the CRL verifier: {e}")))
    }
}
