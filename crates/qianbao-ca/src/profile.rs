//! The certificate profiles (RFC 5280): the root, the issuing CA and the device client certificate.
//! Pure functions from values to `rcgen::CertificateParams`.
//!
//! A device certificate carries:
//! - version 3, a positive 16-byte serial that no one without the CA's serial key can tell from random
//!   ([`crate::SerialCipher`]; CA certificates: [`CertSerial::random`]), signature ecdsa-with-SHA256;
//! - subject `O=<organization>, CN=<user id>, serialNumber=<device id>` (ids as 32 hex digits);
//! - subjectAltName (non-critical) with one URI: `urn:qianbao:user:<user id>:device:<device id>`;
//! - basicConstraints (critical) with cA false; keyUsage (critical) digitalSignature only;
//!   extendedKeyUsage clientAuth only; subjectKeyIdentifier; authorityKeyIdentifier = the issuing CA's
//!   subjectKeyIdentifier;
//! - notBefore = now − the configured back-dating (clock skew), notAfter = now + validity (one year by
//!   default), both in whole seconds (UTCTime before 2050).

use qianbao_core::{DeviceId, Timestamp, UserId};
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyUsagePurpose, SerialNumber};

use crate::record::CertSerial;

/// The URI subject alternative name binding a certificate to a user and a device.
pub fn binding_uri(user: UserId, device: DeviceId) -> String {
    format!("urn:qianbao:user:{user}:device:{device}")
}

/// The user and device named by a [`binding_uri`]; `None` for anything else.
pub fn parse_binding_uri(uri: &str) -> Option<(UserId, DeviceId)> {
    let rest = uri.strip_prefix("urn:qianbao:user:")?;
    let (user, device) = rest.split_once(":device:")?;
    Some((UserId::parse(user).ok()?, DeviceId::parse(device).ok()?))
}

/// A timestamp truncated to whole seconds, as certificates carry it.
pub(crate) fn whole_secs(t: Timestamp) -> Timestamp {
    Timestamp::from_unix_secs(t.unix_secs())
}

fn dn(organization: &str, common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    dn
}

fn base(serial: CertSerial, not_before: Timestamp, not_after: Timestamp) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.serial_number = Some(SerialNumber::from_slice(&serial.to_bytes()));
    p.not_before = whole_secs(not_before).to_datetime();
    p.not_after = whole_secs(not_after).to_datetime();
    p
}

/// The self-signed root: `O=<org>, CN=<org> Root CA`, cA true with pathLen 1, keyCertSign + cRLSign.
pub(crate) fn root_params(
    organization: &str,
    serial: CertSerial,
    not_before: Timestamp,
    not_after: Timestamp,
) -> CertificateParams {
    let mut p = base(serial, not_before, not_after);
    p.distinguished_name = dn(organization, &format!("{organization} Root CA"));
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// The issuing CA of `generation`: `O=<org>, CN=<org> Device CA G<n>`, cA true with pathLen 0,
/// keyCertSign + cRLSign, authority key identifier = the root's.
pub(crate) fn issuing_params(
    organization: &str,
    generation: u32,
    serial: CertSerial,
    not_before: Timestamp,
    not_after: Timestamp,
) -> CertificateParams {
    let mut p = base(serial, not_before, not_after);
    p.distinguished_name = dn(organization, &format!("{organization} Device CA G{generation}"));
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p
}

/// The device client certificate binding `user` and `device` (see the module docs for every field), as
/// rcgen parameters: the reference the CA's own writer ([`crate::device_cert`], which issues them) is
/// checked against, byte for byte.
#[cfg(test)]
pub(crate) fn device_params(
    organization: &str,
    user: UserId,
    device: DeviceId,
    serial: CertSerial,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<CertificateParams, crate::CaError> {
    use crate::CaError;
    use rcgen::string::{Ia5String, PrintableString};
    use rcgen::{DnValue, ExtendedKeyUsagePurpose, SanType};
    /// The attribute type `serialNumber` (2.5.4.5), which names the device in the subject.
    const DN_SERIAL_NUMBER: [u64; 4] = [2, 5, 4, 5];
    let mut p = base(serial, not_before, not_after);
    let mut name = dn(organization, &user.to_string());
    let device_name = PrintableString::try_from(device.to_string())
        .map_err(|e| CaError::Misuse(format!("device id is not printable: {e}")))?;
    name.push(DnType::CustomDnType(DN_SERIAL_NUMBER.to_vec()), DnValue::PrintableString(device_name));
    p.distinguished_name = name;
    let uri = Ia5String::try_from(binding_uri(user, device))
        .map_err(|e| CaError::Misuse(format!("binding URI is not IA5: {e}")))?;
    p.subject_alt_names = vec![SanType::URI(uri)];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_uri_round_trips_and_refuses_others() {
        let u = UserId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let d = DeviceId::from_u128(42);
        let uri = binding_uri(u, d);
        assert_eq!(uri, format!("urn:qianbao:user:{u}:device:{d}"));
        assert_eq!(parse_binding_uri(&uri), Some((u, d)));
        assert_eq!(parse_binding_uri("urn:qianbao:user:xyz:device:1"), None);
        assert_eq!(parse_binding_uri("https://example.invalid"), None);
    }
}
