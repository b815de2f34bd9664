//! Building a wallet: databases, keys, configuration.

use qianbao::*;
use qianbao_store::testing::postgres_url;

use crate::support::*;

#[test]
fn config_round_trips_through_json() {
    let mut c = WalletConfig::default();
    c.policy.new_device_step_up = NewDeviceStepUp::QrConfirmation;
    c.tokens.access_ttl_secs = 600;
    c.ca.certificate_validity_secs = 180 * 86_400;
    let json = serde_json::to_string_pretty(&c).unwrap();
    let back: WalletConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    assert_eq!(serde_json::from_str::<WalletConfig>("{}").unwrap(), WalletConfig::default());
    // The defaults are production-safe: OWASP's Argon2 floor; the test preset is visibly weaker.
    let d = WalletConfig::default();
    assert_eq!(d.identity.password_hash, qianbao::qianbao_identity::HashParams::OWASP);
    assert_ne!(WalletConfig::insecure_fast_for_tests().identity.password_hash, d.identity.password_hash);
    assert_eq!(d.policy.new_device_step_up, NewDeviceStepUp::SecondFactor);
}

#[tokio::test]
async fn a_file_or_postgres_wallet_needs_keys_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.sqlite");
    let e = Wallet::builder().sqlite(&path).build().await.unwrap_err();
    assert!(matches!(e, WalletError::Config(_)), "{e}");
    let open = || Wallet::builder().sqlite(&path).keys(keys()).config(test_config()).build();
    let w = open().await.unwrap();
    assert_eq!(w.backend(), Backend::Sqlite);
    let p = phone(PHONE);
    let reg = w.register(RegisterRequest::new(p.clone(), pw(PASSWORD))).await.unwrap();
    let code = testing::last_code_to(w.outbox().unwrap(), &p).unwrap();
    w.confirm_registration(&CodeAnswer::new(reg.challenge.ticket, code), None).await.unwrap();
    let root = w.root_certificate();
    // One wallet owns an SQLite file: a second one would pay from balances it cannot see change.
    let second = open().await.unwrap_err();
    let in_use = matches!(&second, WalletError::Payment(qianbao::qianbao_ledger::PaymentError::Ledger(
        qianbao::qianbao_ledger::LedgerError::Store(s))) if s.kind() == qianbao_store::ErrorKind::InUse);
    assert!(in_use, "{second:?}");
    drop(w);
    // Reopened with the same keys: the user logs in and the CA is the same.
    let w = open().await.unwrap();
    assert!(w.login(LoginRequest::new(p, pw(PASSWORD), device(1))).await.is_ok());
    assert_eq!(w.root_certificate(), root);
    match postgres_url() {
        Some(url) => {
            let e = Wallet::builder().postgres(url.clone()).build().await.unwrap_err();
            assert!(matches!(e, WalletError::Config(_)));
            let w = Wallet::builder().postgres(url).keys(keys()).config(test_config()).build().await.unwrap();
            assert_eq!(w.backend(), Backend::Postgres);
        }
        None => eprintln!("postgres skipped: no PostgreSQL (QIANBAO_TEST_POSTGRES_URL is not set)"),
    }
}

#[tokio::test]
async fn an_in_memory_demo_runs_without_keys() {
    let w = Wallet::builder().in_memory().config(test_config()).build().await.unwrap();
    assert_eq!(w.backend(), Backend::Sqlite);
    assert!(w.outbox().is_some());
    assert!(w.ca_chain_pem().contains("BEGIN CERTIFICATE"));
    let debug = format!("{:?}", Wallet::builder().postgres("postgres://u:hunter2@db/x"));
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[tokio::test]
async fn errors_classify_and_have_codes() {
    let w = Wallet::builder().in_memory().config(test_config()).build().await.unwrap();
    let e = w.profile(&Caller::new("qba_not_a_token")).await.unwrap_err();
    assert!(e.is_rejection());
    assert!(!e.is_retryable());
    assert!(!e.code().is_empty());
    assert_eq!(WalletError::Frozen.code(), "frozen");
    assert!(!WalletError::Config("x".into()).is_rejection());
}

#[test]
fn a_wallet_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Wallet>();
    assert_send_sync_clone::<Operator>();
}
