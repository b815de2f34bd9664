//! The CA's own certificates and signers in memory: the root, every issuing CA generation (the current
//! one issues; retired ones only sign CRLs for what they issued), and the trust material webpki needs.

use qianbao_core::{Entropy, Timestamp};
use rcgen::Issuer;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use crate::config::CaConfig;
use crate::device_cert::DeviceCertBuilder;
use crate::keys::{KeyCustody, SignerRef, check_signer};
use crate::profile::{issuing_params, root_params};
use crate::record::CertSerial;
use crate::store::{AuthorityKind, AuthorityRow};
use crate::{CaError, pem_encode};

/// One issuing CA generation.
pub(crate) struct IssuingCa {
    pub generation: u32,
    pub der: CertificateDer<'static>,
    pub issuer: Issuer<'static, SignerRef>,
    pub not_after: Timestamp,
    pub retired: bool,
    /// Its subjectKeyIdentifier (the authorityKeyIdentifier of what it signs).
    pub ski: Vec<u8>,
    /// Writes and signs the device certificates it issues.
    pub devices: DeviceCertBuilder,
}

/// The loaded authority.
pub(crate) struct Authorities {
    pub root_der: CertificateDer<'static>,
    pub root_anchor: TrustAnchor<'static>,
    pub root_issuer: Issuer<'static, SignerRef>,
    pub root_not_after: Timestamp,
    /// Every generation, oldest first.
    pub issuing: Vec<IssuingCa>,
    /// The DER of every issuing CA, for path building.
    pub intermediates: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for Authorities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorities")
            .field("issuing_generations", &self.issuing.iter().map(|i| i.generation).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Authorities {
    /// The current (non-retired, newest) issuing CA.
    pub fn current(&self) -> Result<&IssuingCa, CaError> {
        self.issuing
            .iter()
            .rev()
            .find(|i| !i.retired)
            .ok_or_else(|| CaError::Misuse("no current issuing CA in the store".into()))
    }

    pub fn generation(&self, g: u32) -> Option<&IssuingCa> {
        self.issuing.iter().find(|i| i.generation == g)
    }

    /// PEM of the root followed by every issuing CA (current last).
    pub fn chain_pem(&self) -> String {
        let mut s = pem_encode("CERTIFICATE", &self.root_der);
        for i in &self.issuing {
            s.push_str(&pem_encode("CERTIFICATE", &i.der));
        }
        s
    }
}

fn root_label() -> String {
    "root".into()
}

fn issuing_label(generation: u32) -> String {
    format!("issuing-{generation}")
}

struct Parsed {
    not_after: Timestamp,
    spki: Vec<u8>,
    ski: Option<Vec<u8>>,
    /// The DER Name of its subject.
    subject: Vec<u8>,
}

fn parse_ca_cert(der: &[u8]) -> Result<Parsed, CaError> {
    let (_, x) = X509Certificate::from_der(der).map_err(|e| CaError::Misuse(format!("stored CA certificate: {e}")))?;
    let not_after = u64::try_from(x.validity().not_after.timestamp())
        .map(Timestamp::from_unix_secs)
        .map_err(|_| CaError::Misuse("stored CA certificate expires before 1970".into()))?;
    let ski = x.iter_extensions().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
        _ => None,
    });
    Ok(Parsed { not_after, spki: x.public_key().raw.to_vec(), ski, subject: x.subject().as_raw().to_vec() })
}

/// Opens a stored CA: its key through the custody, checked against the certificate's public key.
fn open_ca(
    custody: &dyn KeyCustody,
    label: &str,
    row: &AuthorityRow,
) -> Result<(Issuer<'static, SignerRef>, SignerRef, Parsed), CaError> {
    let signer = custody.open_key(label, &row.key_handle)?;
    check_signer(signer.as_ref())?;
    let parsed = parse_ca_cert(&row.cert_der)?;
    // Pair assertion across the storage boundary: the reopened key is the certificate's key.
    if signer.subject_public_key_info() != parsed.spki {
        return Err(CaError::Signer(format!("the key of {label} does not match its certificate")));
    }
    let der = CertificateDer::from(row.cert_der.clone());
    let issuer = Issuer::from_ca_cert_der(&der, SignerRef(signer.clone())).map_err(CaError::signer)?;
    Ok((issuer, SignerRef(signer), parsed))
}

/// Loads the authority from its stored rows.
pub(crate) fn load(custody: &dyn KeyCustody, rows: &[AuthorityRow]) -> Result<Authorities, CaError> {
    let root_row = rows
        .iter()
        .find(|r| r.kind == AuthorityKind::Root)
        .ok_or_else(|| CaError::Misuse("the store has issuing CAs but no root".into()))?;
    let (root_issuer, _, root_parsed) = open_ca(custody, &root_label(), root_row)?;
    let root_der = CertificateDer::from(root_row.cert_der.clone());
    let root_anchor = webpki::anchor_from_trusted_cert(&root_der)
        .map_err(|e| CaError::Misuse(format!("stored root is not a valid trust anchor: {e:?}")))?
        .to_owned();
    let mut issuing = Vec::new();
    for row in rows.iter().filter(|r| r.kind == AuthorityKind::Issuing) {
        let (issuer, signer, parsed) = open_ca(custody, &issuing_label(row.generation), row)?;
        let ski = parsed.ski.ok_or_else(|| CaError::Misuse("issuing CA has no subject key identifier".into()))?;
        issuing.push(IssuingCa {
            generation: row.generation,
            der: CertificateDer::from(row.cert_der.clone()),
            issuer,
            not_after: parsed.not_after,
            retired: row.retired,
            devices: DeviceCertBuilder::new(&parsed.subject, &ski, signer),
            ski,
        });
    }
    issuing.sort_by_key(|i| i.generation);
    let intermediates = issuing.iter().map(|i| i.der.clone()).collect();
    let auth = Authorities {
        root_der,
        root_anchor,
        root_issuer,
        root_not_after: root_parsed.not_after,
        issuing,
        intermediates,
    };
    auth.current()?;
    Ok(auth)
}

/// Makes a new root (when `root` is `None`) and the issuing CA of `generation` signed by the root.
/// Returns the rows to store.
pub(crate) fn create(
    custody: &dyn KeyCustody,
    config: &CaConfig,
    root: Option<&Authorities>,
    generation: u32,
    now: Timestamp,
    entropy: &dyn Entropy,
) -> Result<Vec<AuthorityRow>, CaError> {
    let not_before = now.saturating_sub(config.backdate);
    let mut rows = Vec::new();
    let (root_issuer, root_not_after) = match root {
        Some(a) => (None, a.root_not_after),
        None => {
            let (signer, handle) = custody.create_key(&root_label(), entropy)?;
            check_signer(signer.as_ref())?;
            let not_after = now.saturating_add(config.root_validity);
            let params = root_params(&config.organization, CertSerial::random(entropy), not_before, not_after);
            let cert = params.self_signed(&SignerRef(signer.clone())).map_err(CaError::signer)?;
            rows.push(AuthorityRow {
                kind: AuthorityKind::Root,
                generation: 1,
                cert_der: cert.der().to_vec(),
                key_handle: handle,
                retired: false,
                created_at: now,
                not_after: crate::profile::whole_secs(not_after),
            });
            (Some(Issuer::new(params, SignerRef(signer))), crate::profile::whole_secs(not_after))
        }
    };
    let root_issuer_ref = match (&root_issuer, root) {
        (Some(i), _) => i,
        (None, Some(a)) => &a.root_issuer,
        (None, None) => return Err(CaError::Misuse("no root to sign the issuing CA".into())),
    };
    let (signer, handle) = custody.create_key(&issuing_label(generation), entropy)?;
    check_signer(signer.as_ref())?;
    let not_after = now.saturating_add(config.issuing_validity).min(root_not_after);
    // The AKI is the root's SKI: rcgen takes it from the root issuer's key-id method (its SKI once reopened).
    let params = issuing_params(&config.organization, generation, CertSerial::random(entropy), not_before, not_after);
    let cert = params.signed_by(&SignerRef(signer), root_issuer_ref).map_err(CaError::signer)?;
    rows.push(AuthorityRow {
        kind: AuthorityKind::Issuing,
        generation,
        cert_der: cert.der().to_vec(),
        key_handle: handle,
        retired: false,
        created_at: now,
        not_after: crate::profile::whole_secs(not_after),
    });
    Ok(rows)
}
