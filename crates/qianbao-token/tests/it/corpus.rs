//! The fuzz targets' corpora (`fuzz/corpus/token_*`) run through the same checks as the fuzz targets.

use qianbao_token::qr::{parse_qr_payload, qr_payload};

use super::*;

/// Every file of a fuzz target's corpus, as text (`None` for non-UTF-8 files).
fn corpus(name: &str) -> Vec<Option<String>> {
    qianbao_store::testing::fuzz_corpus(name).into_iter().map(|(_, bytes)| String::from_utf8(bytes).ok()).collect()
}

#[test]
fn token_bearer_corpus_holds_the_fuzz_properties() {
    let (mut tokens, mut thumbprints) = (0, 0);
    for s in corpus("token_bearer").into_iter().flatten() {
        if let Ok(t) = BearerToken::parse(&s) {
            assert_eq!(t.expose(), s);
            tokens += 1;
        }
        if let Ok(c) = CertThumbprint::from_x5t_s256(&s) {
            assert_eq!(c.to_x5t_s256(), s);
            thumbprints += 1;
        }
    }
    assert_eq!((tokens, thumbprints), (3, 1), "the three valid tokens and the one valid thumbprint");
}

#[test]
fn token_otpauth_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for s in corpus("token_otpauth").into_iter().flatten() {
        if let Ok(u) = OtpAuthUri::parse(&s) {
            assert_eq!(OtpAuthUri::parse(&u.to_uri()).unwrap(), u);
            accepted += 1;
        }
    }
    assert_eq!(accepted, 4);
}

#[test]
fn token_paycode_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for s in corpus("token_paycode").into_iter().flatten() {
        if let Ok(c) = PaymentCode::parse(&s) {
            let digits: String = s.chars().filter(|c| *c != ' ').collect();
            assert_eq!(c.to_string(), digits);
            assert_eq!(PaymentCode::parse(&digits).unwrap(), c);
            accepted += 1;
        }
    }
    assert_eq!(accepted, 2);
}

#[test]
fn token_qr_corpus_holds_the_fuzz_properties() {
    let (mut payloads, mut codes) = (0, 0);
    for s in corpus("token_qr").into_iter().flatten() {
        if let Ok(n) = parse_qr_payload(&s) {
            assert_eq!(qr_payload(&n), s.trim());
            payloads += 1;
        }
        if let Ok(c) = OneTimeCode::parse(&s) {
            assert_eq!(c.expose(), s.trim());
            codes += 1;
        }
    }
    assert_eq!((payloads, codes), (2, 2));
}
