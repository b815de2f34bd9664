//! The device certificate of [`crate::profile`], written directly in DER from what every certificate of
//! one issuing CA shares (its name, its key identifier, its signer), instead of through rcgen's generic
//! writer: an issuance then costs the CA one signature and a few hundred bytes copied.
//!
//! The output is the very TBSCertificate rcgen writes for the same profile (`profile::device_params`,
//! kept for the tests), byte for byte: the tests below compare the two for the same inputs, and every
//! certificate the CA issues goes through webpki, OpenSSL and TLS handshakes in the integration tests.
//! Only the signature differs, as ECDSA signatures do.

use qianbao_core::{DeviceId, Timestamp, UserId};
use rcgen::SigningKey;
use sha2::{Digest, Sha256};

use crate::CaError;
use crate::csr::DevicePublicKey;
use crate::keys::SignerRef;
use crate::record::CertSerial;

/// `AlgorithmIdentifier { ecdsa-with-SHA256 }` (RFC 5758 §3.2: no parameters).
const ECDSA_WITH_SHA256: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
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
/// The longest organization name written (RFC 5280's upper bound is 64 characters; this only keeps
/// every DER length here below 2^16).
const ORGANIZATION_LEN_MAX: usize = 4096;
/// The binding URI around the ids (`profile::binding_uri`).
const URI_USER: &[u8] = b"urn:qianbao:user:";
const URI_DEVICE: &[u8] = b":device:";

/// The size of the DER length of `len` content bytes.
fn len_size(len: usize) -> usize {
    match len {
        0..0x80 => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 4,
    }
}

/// The size of a whole TLV with `len` content bytes (one-byte tags only).
fn tlv_size(len: usize) -> usize {
    1 + len_size(len) + len
}

/// Appends a tag and the DER length of `len` content bytes (at most 2^24 − 1: nothing here is near).
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match len_size(len) {
        1 => out.push(len as u8),
        2 => out.extend_from_slice(&[0x81, len as u8]),
        3 => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
}

/// Appends `tag`, the length of `content` and `content`.
fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    push_header(out, tag, content.len());
    out.extend_from_slice(content);
}

/// The size of the content of one relative distinguished name `SET { SEQUENCE { oid, value } }` (the
/// SEQUENCE), and of the whole RDN.
fn rdn_sizes(oid: &[u8], value_len: usize) -> (usize, usize) {
    let atv = oid.len() + tlv_size(value_len);
    (atv, tlv_size(tlv_size(atv)))
}

/// Appends one relative distinguished name `SET { SEQUENCE { oid, value } }`.
fn push_rdn(out: &mut Vec<u8>, oid: &[u8], string_tag: u8, value: &[u8]) {
    let (atv, _) = rdn_sizes(oid, value.len());
    push_header(out, 0x31, tlv_size(atv));
    push_header(out, 0x30, atv);
    out.extend_from_slice(oid);
    push_tlv(out, string_tag, value);
}

/// The 32 lowercase hex digits of an id (as `UserId`/`DeviceId` print).
fn hex32(bytes: [u8; 16]) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// A certificate validity time as RFC 5280 §4.1.2.5 wants it, as a whole TLV: UTCTime through 2049,
/// then GeneralizedTime, whole seconds, in UTC. Answers the buffer and its used length.
fn time_tlv(t: Timestamp) -> Result<([u8; 17], usize), CaError> {
    let dt = t.to_datetime();
    let year = dt.year();
    let rest = [u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second()];
    // At most 2 header bytes and "YYYYMMDDHHMMSSZ".
    let mut s = [0u8; 17];
    let mut n = 2;
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
    s[0] = tag;
    s[1] = (n - 2) as u8;
    Ok((s, n))
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

    /// The DER TBSCertificate of the device certificate for `f`, written into one buffer whose size is
    /// computed first.
    pub fn tbs(&self, f: &DeviceFields<'_>) -> Result<Vec<u8>, CaError> {
        let org = f.organization.as_bytes();
        if org.len() > ORGANIZATION_LEN_MAX {
            return Err(CaError::Misuse(format!("organization name longer than {ORGANIZATION_LEN_MAX} bytes")));
        }
        let user = hex32(f.user.to_bytes());
        let device = hex32(f.device.to_bytes()); // hex digits: a PrintableString
        let (not_before, nb_len) = time_tlv(f.not_before)?;
        let (not_after, na_len) = time_tlv(f.not_after)?;

        let spki = f.key.spki();
        let ski = Sha256::digest(spki);

        // Sizes, innermost first.
        let subject = rdn_sizes(OID_O, org.len()).1
            + rdn_sizes(OID_CN, user.len()).1
            + rdn_sizes(OID_SERIAL_NUMBER, device.len()).1;
        let uri_len = URI_USER.len() + user.len() + URI_DEVICE.len() + device.len();
        let san_names = tlv_size(uri_len); // SEQUENCE content: one [6] IA5String
        let san_value = tlv_size(san_names); // OCTET STRING content: the SEQUENCE
        let san_ext = OID_SAN.len() + tlv_size(san_value);
        let exts = self.aki_ext.len()
            + tlv_size(san_ext)
            + KEY_USAGE_EXT.len()
            + CLIENT_AUTH_EXT.len()
            + SKI_EXT_PREFIX.len()
            + 20
            + NOT_CA_EXT.len();
        let body = VERSION_3.len()
            + tlv_size(16)
            + ECDSA_WITH_SHA256.len()
            + self.issuer_name.len()
            + tlv_size(nb_len + na_len)
            + tlv_size(subject)
            + spki.len()
            + tlv_size(tlv_size(exts));

        let mut out = Vec::with_capacity(tlv_size(body));
        push_header(&mut out, 0x30, body);
        out.extend_from_slice(VERSION_3);
        // The serial: 16 bytes, first byte non-zero and below 0x80 (`CertSerial`): already minimal DER.
        push_tlv(&mut out, 0x02, &f.serial.to_bytes());
        out.extend_from_slice(ECDSA_WITH_SHA256);
        out.extend_from_slice(&self.issuer_name);
        push_header(&mut out, 0x30, nb_len + na_len);
        out.extend_from_slice(&not_before[..nb_len]);
        out.extend_from_slice(&not_after[..na_len]);
        push_header(&mut out, 0x30, subject);
        push_rdn(&mut out, OID_O, 0x0c, org);
        push_rdn(&mut out, OID_CN, 0x0c, &user);
        push_rdn(&mut out, OID_SERIAL_NUMBER, 0x13, &device);
        out.extend_from_slice(&spki);
        push_header(&mut out, 0xa3, tlv_size(exts));
        push_header(&mut out, 0x30, exts);
        out.extend_from_slice(&self.aki_ext);
        // subjectAltName: one uniformResourceIdentifier [6], the binding URI (`profile::binding_uri`).
        push_header(&mut out, 0x30, san_ext);
        out.extend_from_slice(OID_SAN);
        push_header(&mut out, 0x04, san_value);
        push_header(&mut out, 0x30, san_names);
        push_header(&mut out, 0x86, uri_len);
        out.extend_from_slice(URI_USER);
        out.extend_from_slice(&user);
        out.extend_from_slice(URI_DEVICE);
        out.extend_from_slice(&device);
        out.extend_from_slice(KEY_USAGE_EXT);
        out.extend_from_slice(CLIENT_AUTH_EXT);
        out.extend_from_slice(SKI_EXT_PREFIX);
        out.extend_from_slice(&ski[..20]);
        out.extend_from_slice(NOT_CA_EXT);
        if out.len() != tlv_size(body) {
            // A sizing bug would make invalid DER: refuse rather than sign it.
            return Err(CaError::Misuse("device certificate sized wrongly".into()));
        }
        Ok(out)
    }

    /// The signed DER certificate for `f`.
    pub fn build(&self, f: &DeviceFields<'_>) -> Result<Vec<u8>, CaError> {
        let tbs = self.tbs(f)?;
        let sig = self.signer.sign(&tbs).map_err(CaError::signer)?;
        let body = tbs.len() + ECDSA_WITH_SHA256.len() + tlv_size(sig.len() + 1);
        let mut der = Vec::with_capacity(tlv_size(body));
        push_header(&mut der, 0x30, body);
        der.extend_from_slice(&tbs);
        der.extend_from_slice(ECDSA_WITH_SHA256);
        // BIT STRING with no unused bits around the DER ECDSA-Sig-Value.
        push_header(&mut der, 0x03, sig.len() + 1);
        der.push(0x00);
        der.extend_from_slice(&sig);
        Ok(der)
    }
}

#[cfg(test)]
mod tests;
