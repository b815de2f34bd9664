//! RFC 4226 Appendix D and RFC 6238 Appendix B vectors, through the public functions and the service.

use super::*;

const SEED20: &[u8] = b"12345678901234567890";
const SEED32: &[u8] = b"12345678901234567890123456789012";
const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// (time, SHA-1, SHA-256, SHA-512) from RFC 6238 Appendix B (8 digits).
const RFC6238: &[(u64, &str, &str, &str)] = &[
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

#[test]
fn rfc4226_hotp_vectors() {
    let want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (c, w) in want.iter().enumerate() {
        assert_eq!(otp::hotp(SEED20, c as u64, OtpAlgorithm::Sha1, OtpDigits::SIX).as_str(), *w);
        assert!(otp::hotp_matches(SEED20, c as u64, OtpAlgorithm::Sha1, OtpDigits::SIX, w));
        assert!(!otp::hotp_matches(SEED20, c as u64 + 1, OtpAlgorithm::Sha1, OtpDigits::SIX, w));
    }
}

fn params(algorithm: OtpAlgorithm) -> TotpParams {
    TotpParams { algorithm, digits: OtpDigits::EIGHT, step_secs: 30 }
}

#[test]
fn rfc6238_totp_vectors_with_the_right_seed_per_hash() {
    for &(t, sha1, sha256, sha512) in RFC6238 {
        // Timestamp covers 1970–2554; the last vector (year 2603) goes through the step counter directly,
        // which is what TOTP is: HOTP at floor(t / 30).
        let code = |seed: &[u8], alg| match t {
            0..=18_000_000_000 => otp::totp(seed, &params(alg), Timestamp::from_unix_secs(t)),
            _ => otp::hotp(seed, t / 30, alg, OtpDigits::EIGHT),
        };
        assert_eq!(code(SEED20, OtpAlgorithm::Sha1).as_str(), sha1, "SHA-1 at {t}");
        assert_eq!(code(SEED32, OtpAlgorithm::Sha256).as_str(), sha256, "SHA-256 at {t}");
        assert_eq!(code(SEED64, OtpAlgorithm::Sha512).as_str(), sha512, "SHA-512 at {t}");
    }
    assert_eq!(OtpAlgorithm::Sha1.secret_len(), 20);
    assert_eq!(OtpAlgorithm::Sha256.secret_len(), 32);
    assert_eq!(OtpAlgorithm::Sha512.secret_len(), 64);
}

/// The vectors verify through the service too: enroll the RFC seed, confirm, then each vector's code at
/// its time verifies once and is refused the second time (replay).
#[tokio::test]
async fn rfc6238_vectors_verify_through_the_service() {
    for (n, (alg, seed, col)) in
        [(OtpAlgorithm::Sha1, SEED20, 1), (OtpAlgorithm::Sha256, SEED32, 2), (OtpAlgorithm::Sha512, SEED64, 3)]
            .into_iter()
            .enumerate()
    {
        let env = mem().await;
        let u = user(n as u128);
        let e = env
            .tokens
            .enroll_totp_with_secret(u, "li@example.com", qianbao_core::SecretBytes::new(seed.to_vec()), params(alg))
            .await
            .unwrap();
        let parsed = OtpAuthUri::parse(e.uri.expose()).unwrap();
        assert_eq!(parsed.secret.expose(), seed);
        assert_eq!(parsed.params, params(alg));
        for (i, row) in RFC6238.iter().take(5).enumerate() {
            env.clock.set(Timestamp::from_unix_secs(row.0));
            let code = [row.1, row.2, row.3][col - 1];
            let ok =
                if i == 0 { env.tokens.confirm_totp(u, code).await } else { env.tokens.verify_totp(u, code).await };
            assert_eq!(ok.unwrap().step, row.0 / 30, "{alg:?} at {}", row.0);
            let again = env.tokens.verify_totp(u, code).await;
            assert!(matches!(again, Err(TokenError::TotpReplayed)), "{again:?}");
        }
    }
}
