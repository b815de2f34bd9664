use qianbao_core::{SecretBytes, SeededEntropy};

use super::*;

fn single() -> PasswordContext {
    PasswordContext::default()
}

#[test]
fn nist_lengths_and_no_truncation() {
    let p = PasswordPolicy::default();
    let two = PasswordContext { has_second_factor: true, ..PasswordContext::default() };
    assert_eq!(
        p.check(&"k7#Vq9!m".into(), &single()),
        Err(PasswordRejection::TooShort { min: 15, with_second_factor: false })
    );
    assert_eq!(p.check(&"k7#Vq9!m".into(), &two), Ok(()));
    assert_eq!(p.check(&"k7#Vq9!".into(), &two), Err(PasswordRejection::TooShort { min: 8, with_second_factor: true }));
    assert_eq!(p.check(&"bright orbit canyon lemon".into(), &single()), Ok(()));
    let long = "x7!Kq".repeat(26);
    assert_eq!(p.check(&Password::new(long), &single()), Err(PasswordRejection::TooLong { max: 128 }));
    // Unicode counts characters, not bytes: 15 Chinese characters pass the single-factor minimum.
    assert_eq!(p.check(&"春眠不觉晓处处闻啼鸟夜来风雨声".into(), &single()), Ok(()));
    assert_eq!(p.check(&"bright orbit\ncanyon lemon".into(), &single()), Err(PasswordRejection::ControlCharacter));
}

#[test]
fn common_passwords_and_contacts_are_refused() {
    let p = PasswordPolicy::default();
    for bad in ["passwordpassword", "123456789012345", "qwertyuiopasdfgh", "woaini1314woaini", "iloveyouiloveyou"] {
        assert!(matches!(p.check(&bad.into(), &single()), Err(PasswordRejection::TooCommon { .. })), "{bad}");
    }
    let ctx = PasswordContext { has_second_factor: true, user_inputs: vec!["13812345678".into(), "zhangsan".into()] };
    assert!(matches!(p.check(&"zhangsan13812345678".into(), &ctx), Err(PasswordRejection::TooCommon { .. })));
}

#[test]
fn optional_composition_rule() {
    let p = PasswordPolicy { min_character_classes: 3, ..PasswordPolicy::default() };
    assert_eq!(p.check(&"bright orbit canyon lemon".into(), &single()), Err(PasswordRejection::Composition { min: 3 }));
    assert_eq!(p.check(&"Bright orbit canyon lemon 7".into(), &single()), Ok(()));
}

#[test]
fn hashes_are_phc_argon2id_and_verify() {
    let h = PasswordHasher::new(HashParams::INSECURE_TEST_ONLY).unwrap();
    let e = SeededEntropy::new(1);
    let phc = h.hash(b"bright orbit canyon lemon", &e).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
    assert_eq!(h.verify(b"bright orbit canyon lemon", &phc).unwrap(), Verification::Match { needs_rehash: false });
    assert_eq!(h.verify(b"bright orbit canyon lemoN", &phc).unwrap(), Verification::Mismatch);
    let stronger = PasswordHasher::new(HashParams { memory_kib: 16, iterations: 1, parallelism: 1 }).unwrap();
    assert_eq!(
        stronger.verify(b"bright orbit canyon lemon", &phc).unwrap(),
        Verification::Match { needs_rehash: true }
    );
    assert!(h.verify(b"x", "not a hash").is_err());
    assert_eq!((h.hashes(), h.verifications()), (1, 3));
    assert!(PasswordHasher::new(HashParams { memory_kib: 1, iterations: 0, parallelism: 1 }).is_err());
    assert_eq!(format!("{:?}", Password::from("secret")), "Password([REDACTED])");
}

#[test]
fn a_peppered_hash_verifies_only_with_its_pepper() {
    let e = SeededEntropy::new(2);
    let plain = PasswordHasher::new(HashParams::INSECURE_TEST_ONLY).unwrap();
    let peppered = plain.clone().with_pepper(SecretBytes::new(vec![9; 32])).unwrap();
    let other = plain.clone().with_pepper(SecretBytes::new(vec![8; 32])).unwrap();
    let phc = peppered.hash(b"815926", &e).unwrap();
    assert!(matches!(peppered.verify(b"815926", &phc).unwrap(), Verification::Match { .. }));
    assert_eq!(plain.verify(b"815926", &phc).unwrap(), Verification::Mismatch);
    assert_eq!(other.verify(b"815926", &phc).unwrap(), Verification::Mismatch);
    assert!(plain.with_pepper(SecretBytes::new(vec![1; 8])).is_err());
}
