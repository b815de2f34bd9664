//! Property tests: parsers never panic and accept only canonical forms; generated values round-trip;
//! codes verify only at their own counter.

use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic(s in ".{0,80}") {
        let _ = BearerToken::parse(&s);
        let _ = PaymentCode::parse(&s);
        let _ = OtpAuthUri::parse(&s);
        let _ = OneTimeCode::parse(&s);
        let _ = qianbao_token::qr::parse_qr_payload(&s);
        let _ = CertThumbprint::from_x5t_s256(&s);
    }

    #[test]
    fn generated_tokens_round_trip_and_single_edits_are_caught(seed in any::<u64>(), pos in 4usize..53, c in "[A-Za-z0-9_-]") {
        let t = BearerToken::generate(TokenKind::Access, &SeededEntropy::new(seed));
        prop_assert_eq!(BearerToken::parse(t.expose()).unwrap(), t.clone());
        let mut edited = t.expose().to_string();
        edited.replace_range(pos..pos + 1, &c);
        if edited != t.expose() {
            prop_assert!(BearerToken::parse(&edited).is_err());
        }
    }

    #[test]
    fn payment_codes_round_trip(index in 0u32..1_000_000_000, secret in proptest::collection::vec(any::<u8>(), 32), secs in 0u64..4_000_000_000) {
        let g = PaycodeGenerator::new(PaycodeParams::default(), PaycodeIndex::new(index).unwrap(), qianbao_core::SecretBytes::new(secret));
        let code = g.code_at(Timestamp::from_unix_secs(secs));
        let s = code.to_string();
        prop_assert_eq!(s.len(), 18);
        prop_assert_eq!(PaymentCode::parse(&s).unwrap(), code.clone());
        prop_assert_eq!(code.index().get(), index);
    }

    #[test]
    fn hotp_matches_only_its_own_counter(secret in proptest::collection::vec(any::<u8>(), 20), counter in 0u64..1_000_000) {
        let code = otp::hotp(&secret, counter, OtpAlgorithm::Sha1, OtpDigits::SIX);
        prop_assert!(otp::hotp_matches(&secret, counter, OtpAlgorithm::Sha1, OtpDigits::SIX, code.as_str()));
        prop_assert_eq!(code.as_str().len(), 6);
    }
}
