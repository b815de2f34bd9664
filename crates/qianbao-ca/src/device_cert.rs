//! The device certificate of [`crate::profile`], written directly in DER from what every certificate of
//! one issuing CA shares (its name, its key identifier, its signer), instead of through rcgen's generic
//! writer: an issuance then costs the CA one signature and a few hundred bytes copied.
//!
//! The output is the very TBSCertificate rcgen writes for the same profile (`profile::device_params`,
//! kept for the tests), byte for byte (the tests below compare the two for the same inputs, and every certificate the CA issues goes
//! through webpki, OpenSSL and TLS handshakes in the integration tests); only the signature differs, as
//! ECDSA signatures do.

use qianbao_core::{DeviceId, Timestamp, UserId};
use rcgen::SigningKey;
use sha2::{Digest, Sha256};

use crate::CaError;
use crate::csr::DevicePublicKey;
use crate::keys::SignerRef;
use crate::record::CertSerial;

/// `AlgorithmIdentifier { ecdsa-with-SHA256 }` (RFC 5758 §3.2: no parameters).
const ECDSA_WITH_SHA256: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// The SubjectPublicKeyInfo of an uncompressed P-256 point, up to the point: `SEQUENCE { SEQUENCE {
/// id-ecPublicKey, prime256v1 }, BIT STRING (no unused bits) ...`.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// `[0] EXPLICIT INTEGER 2` (v3).
const VERSION_3: &[u8] = &[0xa0, 0x03, 0x02, 0x01, 0x02];
/// The attribute types of the subject: organizationName, commonName, serialNumber.
const OID_O: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
const OID_CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
const OID_SERIAL_NUMBER: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x05];
/// subjectAltName (non-critical: the subject is not empty).
const OID_SAN: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
/// keyUsage, critical, digitalSignature only.
const KEY_USAGE_EXT: &[u8] =
    &[0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80];
/// extendedKeyUsage, non-critical, id-kp-clientAuth only.
const CLIENT_AUTH_EXT: &[u8] = &[
    0x30, 0x13, 0x06, 0x03, 0x55, 0x1d, 0x25, 0x04, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
    0x03, 0x02,
];
/// subjectKeyIdentifier, non-critical, up to its 20 bytes.
const SKI_EXT_PREFIX: &[u8] = &[0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14];
/// basicConstraints, critical, cA false (the empty SEQUENCE).
const NOT_CA_EXT: &[u8] = &[0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00];

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        // Nothing here comes near 64 KiB (the organization name is bounded by the configuration).
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
}

/// Appends `tag`, the length of `content` and `content`.
fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// Appends one relative distinguished name `SET { SEQUENCE { oid, value } }`.
fn push_rdn(out: &mut Vec<u8>, oid: &[u8], string_tag: u8, value: &[u8]) {
    let mut atv = Vec::with_capacity(oid.len() + value.len() + 4);
    atv.extend_from_slice(oid);
    push_tlv(&mut atv, string_tag, value);
    let mut seq = Vec::with_capacity(atv.len() + 4);
    push_tlv(&mut seq, 0x30, &atv);
    push_tlv(out, 0x31, &seq);
}

/// Appends a certificate validity time as RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, then
/// GeneralizedTime, whole seconds, in UTC.
fn push_time(out: &mut Vec<u8>, t: Timestamp) -> Result<(), CaError> {
    let dt = t.to_datetime();
    let year = dt.year();
    let rest = [u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second()];
    // At most "YYYYMMDDHHMMSSZ".
    let mut s = [0u8; 15];
    let mut n = 0;
    let mut digits = |v: u32, width: u32| {
        for k in (0..width).rev() {
            s[n] = b'0' + ((v / 10u32.pow(k)) % 10) as u8;
            n += 1;
        }
    };
    let tag = if (1950..2050).contains(&year) {
        digits(year.rem_euclid(100) as u32, 2);
        0x17
    } else if (0..=9999).contains(&year) {
        digits(year as u32, 4);
        0x18
    } else {
        return Err(CaError::Misuse(format!("certificate time {year} out of range")));
    };
    for v in rest {
        digits(u32::from(v), 2);
    }
    s[n] = b'Z';
    n += 1;
    push_tlv(out, tag, &s[..n]);
    Ok(())
}

/// The per-certificate fields of a device certificate (see [`crate::profile`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeviceFields<'a> {
    pub organization: &'a str,
    pub user: UserId,
    pub device: DeviceId,
    pub serial: CertSerial,
    /// Whole seconds (see [`crate::profile::whole_secs`]).
    pub not_before: Timestamp,
    /// Whole seconds.
    pub not_after: Timestamp,
    pub key: &'a DevicePublicKey,
}

/// What every device certificate of one issuing CA shares, and its signer.
#[derive(Debug)]
pub(crate) struct DeviceCertBuilder {
    /// The DER Name of the issuing CA's subject, as its certificate carries it.
    issuer_name: Vec<u8>,
    /// The whole authorityKeyIdentifier extension (the issuing CA's subjectKeyIdentifier).
    aki_ext: Vec<u8>,
    signer: SignerRef,
}

impl DeviceCertBuilder {
    /// The builder of the issuing CA whose subject is `issuer_name` (DER) and whose subjectKeyIdentifier
    /// is `ski`, signing with `signer` (an ECDSA P-256 / SHA-256 key, checked by the caller).
    pub fn new(issuer_name: &[u8], ski: &[u8], signer: SignerRef) -> Self {
        // Extension { extnID authorityKeyIdentifier, extnValue OCTET STRING { SEQUENCE { [0] ski } } }
        let mut key_id = Vec::with_capacity(ski.len() + 4);
        push_tlv(&mut key_id, 0x80, ski);
        let mut aki = Vec::with_capacity(key_id.len() + 4);
        push_tlv(&mut aki, 0x30, &key_id);
        let mut ext = vec![0x06, 0x03, 0x55, 0x1d, 0x23];
        push_tlv(&mut ext, 0x04, &aki);
        let mut aki_ext = Vec::with_capacity(ext.len() + 4);
        push_tlv(&mut aki_ext, 0x30, &ext);
        DeviceCertBuilder { issuer_name: issuer_name.to_vec(), aki_ext, signer }
    }

    /// The DER TBSCertificate of the device certificate for `f`.
    pub fn tbs(&self, f: &DeviceFields<'_>) -> Result<Vec<u8>, CaError> {
        let user = f.user.to_string();
        let device = f.device.to_string();
        if !device.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CaError::Misuse("device id is not printable".into()));
        }
        let uri = crate::profile::binding_uri(f.user, f.device);
        if !uri.is_ascii() {
            return Err(CaError::Misuse("binding URI is not IA5".into()));
        }

        let mut subject = Vec::with_capacity(f.organization.len() + user.len() + device.len() + 48);
        push_rdn(&mut subject, OID_O, 0x0c, f.organization.as_bytes());
        push_rdn(&mut subject, OID_CN, 0x0c, user.as_bytes());
        push_rdn(&mut subject, OID_SERIAL_NUMBER, 0x13, device.as_bytes());

        let mut spki = Vec::with_capacity(P256_SPKI_PREFIX.len() + 65);
        spki.extend_from_slice(P256_SPKI_PREFIX);
        spki.extend_from_slice(f.key.sec1());
        let ski = Sha256::digest(&spki);

        let mut exts = Vec::with_capacity(256);
        exts.extend_from_slice(&self.aki_ext);
        {
            // subjectAltName: one uniformResourceIdentifier [6].
            let mut names = Vec::with_capacity(uri.len() + 4);
            push_tlv(&mut names, 0x86, uri.as_bytes());
            let mut general_names = Vec::with_capacity(names.len() + 4);
            push_tlv(&mut general_names, 0x30, &names);
            let mut ext = Vec::with_capacity(general_names.len() + 12);
            ext.extend_from_slice(OID_SAN);
            push_tlv(&mut ext, 0x04, &general_names);
            push_tlv(&mut exts, 0x30, &ext);
        }
        exts.extend_from_slice(KEY_USAGE_EXT);
        exts.extend_from_slice(CLIENT_AUTH_EXT);
        exts.extend_from_slice(SKI_EXT_PREFIX);
        exts.extend_from_slice(&ski[..20]);
        exts.extend_from_slice(NOT_CA_EXT);
        let mut ext_seq = Vec::with_capacity(exts.len() + 4);
        push_tlv(&mut ext_seq, 0x30, &exts);

        let mut body = Vec::with_capacity(512 + self.issuer_name.len() + subject.len());
        body.extend_from_slice(VERSION_3);
        // The serial: 16 bytes, first byte non-zero and below 0x80 (`CertSerial`): already minimal DER.
        push_tlv(&mut body, 0x02, &f.serial.to_bytes());
        body.extend_from_slice(ECDSA_WITH_SHA256);
        body.extend_from_slice(&self.issuer_name);
        let mut validity = Vec::with_capacity(34);
        push_time(&mut validity, f.not_before)?;
        push_time(&mut validity, f.not_after)?;
        push_tlv(&mut body, 0x30, &validity);
        push_tlv(&mut body, 0x30, &subject);
        body.extend_from_slice(&spki);
        push_tlv(&mut body, 0xa3, &ext_seq);

        let mut tbs = Vec::with_capacity(body.len() + 4);
        push_tlv(&mut tbs, 0x30, &body);
        Ok(tbs)
    }

    /// The signed DER certificate for `f`.
    pub fn build(&self, f: &DeviceFields<'_>) -> Result<Vec<u8>, CaError> {
        let tbs = self.tbs(f)?;
        let sig = self.signer.sign(&tbs).map_err(CaError::signer)?;
        let mut body = Vec::with_capacity(tbs.len() + ECDSA_WITH_SHA256.len() + sig.len() + 8);
        body.extend_from_slice(&tbs);
        body.extend_from_slice(ECDSA_WITH_SHA256);
        // BIT STRING with no unused bits around the DER ECDSA-Sig-Value.
        body.push(0x03);
        push_len(&mut body, sig.len() + 1);
        body.push(0x00);
        body.extend_from_slice(&sig);
        let mut der = Vec::with_capacity(body.len() + 4);
        push_tlv(&mut der, 0x30, &body);
        Ok(der)
    }
}

#[cfg(test)]
mod tests;
