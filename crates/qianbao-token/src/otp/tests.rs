use super::*;

#[test]
fn rfc4226_appendix_d() {
    let secret = b"12345678901234567890";
    let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (counter, want) in expected.iter().enumerate() {
        assert_eq!(hotp(secret, counter as u64, OtpAlgorithm::Sha1, OtpDigits::SIX).as_str(), *want);
    }
}

#[test]
fn uri_round_trips_and_refuses_bad_input() {
    let uri = OtpAuthUri {
        issuer: Some("qianbao 钱包".into()),
        account: "user@example.com".into(),
        secret: SecretBytes::new(vec![7; 20]),
        params: TotpParams { algorithm: OtpAlgorithm::Sha256, digits: OtpDigits::EIGHT, step_secs: 60 },
    };
    let s = uri.to_uri();
    assert!(s.starts_with("otpauth://totp/qianbao%20%E9%92%B1%E5%8C%85:user%40example.com?secret="));
    assert_eq!(OtpAuthUri::parse(&s).unwrap(), uri);
    for bad in [
        "otpauth://hotp/x?secret=AAAAAAAAAAAAAAAA",
        "otpauth://totp/x",
        "otpauth://totp/x?secret=AAAA",
        "otpauth://totp/x?secret=AAAAAAAAAAAAAAAA&digits=9",
        "otpauth://totp/x?secret=AAAAAAAAAAAAAAAA&period=0",
        "otpauth://totp/x?secret=AAAAAAAAAAAAAAAA&algorithm=MD5",
        "otpauth://totp/a:x?secret=AAAAAAAAAAAAAAAA&issuer=b",
        "otpauth://totp/%zz?secret=AAAAAAAAAAAAAAAA",
    ] {
        assert!(OtpAuthUri::parse(bad).is_err(), "{bad}");
    }
}
