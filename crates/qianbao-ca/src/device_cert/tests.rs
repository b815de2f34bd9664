//! The lean writer against rcgen, for the same inputs: the same TBSCertificate byte for byte, the same
//! fields one by one, and a signature that verifies with the issuing CA's key.

use std::time::Duration;

use qianbao_core::{DeviceId, OsEntropy, Timestamp, UserId};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::DeviceFields;
use crate::config::CaConfig;
use crate::csr::parse_device_csr;
use crate::device::DeviceKey;
use crate::keys::{KeyEncryptionKey, LocalKeyCustody};
use crate::profile::{device_params, whole_secs};
use crate::record::CertSerial;
use crate::state::{self, Authorities};

fn authority(organization: &str, now: Timestamp) -> Authorities {
    let custody = LocalKeyCustody::new(KeyEncryptionKey::new(&[7; 32]).unwrap());
    let config = CaConfig { organization: organization.into(), ..CaConfig::default() };
    let rows = state::create(&custody, &config, None, 1, now, &OsEntropy).unwrap();
    state::load(&custody, &rows).unwrap()
}

/// Issues one certificate both ways; answers (rcgen's DER, the lean DER).
fn both(organization: &str, now: Timestamp, validity: Duration, user: u128, device: u128) -> (Vec<u8>, Vec<u8>) {
    let auth = authority(organization, now);
    let ca = auth.current().unwrap();
    let key = parse_device_csr(DeviceKey::generate(&OsEntropy).csr().unwrap().as_ref()).unwrap();
    let (user, device) = (UserId::from_u128(user), DeviceId::from_u128(device));
    let serial = CertSerial::random(&OsEntropy);
    let not_before = whole_secs(now.saturating_sub(Duration::from_secs(300)));
    let not_after = whole_secs(now.saturating_add(validity));
    let params = device_params(organization, user, device, serial, not_before, not_after).unwrap();
    let reference = params.signed_by(&key, &ca.issuer).unwrap().der().to_vec();
    let fields = DeviceFields { organization, user, device, serial, not_before, not_after, key: &key };
    let lean = ca.devices.build(&fields).unwrap();
    (reference, lean)
}

fn compare(organization: &str, now: Timestamp, validity: Duration) {
    let (reference, lean) = both(organization, now, validity, 0x0123_4567_89ab_cdef_0f1e_2d3c_4b5a_6978, 42);
    let (rest, a) = X509Certificate::from_der(&reference).unwrap();
    assert!(rest.is_empty());
    let (rest, b) = X509Certificate::from_der(&lean).unwrap();
    assert!(rest.is_empty(), "trailing bytes after the lean certificate");
    // Field by field first, for a readable failure.
    assert_eq!(a.version(), b.version());
    assert_eq!(a.raw_serial(), b.raw_serial());
    assert_eq!(a.signature_algorithm, b.signature_algorithm);
    assert_eq!(a.tbs_certificate.signature, b.tbs_certificate.signature);
    assert_eq!(a.issuer().as_raw(), b.issuer().as_raw());
    assert_eq!(a.subject().as_raw(), b.subject().as_raw());
    assert_eq!(a.subject().to_string(), b.subject().to_string());
    assert_eq!(a.validity(), b.validity());
    assert_eq!(a.public_key().raw, b.public_key().raw);
    let (ea, eb) = (a.extensions(), b.extensions());
    assert_eq!(ea.len(), eb.len());
    for (x, y) in ea.iter().zip(eb) {
        assert_eq!((x.oid.clone(), x.critical, x.value), (y.oid.clone(), y.critical, y.value));
        assert_eq!(x.parsed_extension(), y.parsed_extension());
    }
    // Then the whole TBSCertificate, byte for byte.
    assert_eq!(a.tbs_certificate.as_ref(), b.tbs_certificate.as_ref());
}

#[test]
fn the_lean_certificate_is_rcgens_byte_for_byte() {
    let now = Timestamp::from_unix_secs(1_800_000_123);
    compare("Qianbao Test", now, Duration::from_secs(365 * 86_400));
}

#[test]
fn long_organization_names_and_generalized_times_too() {
    // An organization past 127 bytes (long-form DER lengths) and a notAfter from 2050 on (GeneralizedTime).
    let org = "Qianbao 钱包 Payments Company Limited ".repeat(5);
    let now = Timestamp::from_unix_secs(2_524_000_000); // December 2049
    compare(org.trim(), now, Duration::from_secs(365 * 86_400));
}

#[test]
fn the_lean_signature_verifies_with_the_issuing_key() {
    let now = Timestamp::from_unix_secs(1_800_000_123);
    let auth = authority("Qianbao Test", now);
    let ca = auth.current().unwrap();
    let key = parse_device_csr(DeviceKey::generate(&OsEntropy).csr().unwrap().as_ref()).unwrap();
    let fields = DeviceFields {
        organization: "Qianbao Test",
        user: UserId::from_u128(1),
        device: DeviceId::from_u128(2),
        serial: CertSerial::random(&OsEntropy),
        not_before: now,
        not_after: whole_secs(now.saturating_add(Duration::from_secs(86_400))),
        key: &key,
    };
    let der = ca.devices.build(&fields).unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let (_, issuer) = X509Certificate::from_der(&ca.der).unwrap();
    cert.verify_signature(Some(issuer.public_key())).unwrap();
    // One bit changed in the TBS: no longer.
    let mut bad = der.clone();
    bad[40] ^= 0x01;
    if let Ok((_, c)) = X509Certificate::from_der(&bad) {
        assert!(c.verify_signature(Some(issuer.public_key())).is_err());
    }
}
