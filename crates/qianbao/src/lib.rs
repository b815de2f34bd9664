//! qianbao (钱包, "wallet"): an embeddable back end for a digital wallet.
//!
//! One [`Wallet`] composes the domain crates — identity and real-name verification
//! ([`qianbao_identity`]), the certificate authority ([`qianbao_ca`]), tokens ([`qianbao_token`]) and the
//! double-entry ledger ([`qianbao_ledger`]) — over one database: an embedded SQLite file by default, or
//! PostgreSQL when many service instances share it. Every journey is an async method with a `tracing`
//! span; the facade applies the policy that spans crates, tells users about security events and records
//! them in one audit trail.
//!
//! # A first wallet
//!
//! Register, confirm the code, log in, verify the real name, set a payment password and get a device
//! certificate. The external checks here are the test doubles of [`qianbao_identity::testing`]; the
//! codes are read from the default in-memory [`Outbox`](qianbao_core::Outbox).
//!
//! ```
//! use std::sync::Arc;
//! use qianbao::*;
//! use qianbao::core::{Clock, DeviceId, ManualClock, PhoneNumber, SeededEntropy, Timestamp};
//! use qianbao::qianbao_ca::DeviceKey;
//! use qianbao::qianbao_identity::testing::{FakeBank, FakeFaceService, FakeIdAuthority};
//! use qianbao::qianbao_identity::*;
//! use qianbao::qianbao_token::DeviceInfo;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let entropy = Arc::new(SeededEntropy::new(1));
//! let wallet = Wallet::builder()
//!     .in_memory()
//!     .keys(WalletKeys::from_master_secret(&[42; 32])?) // from your secret manager
//!     .config(WalletConfig::insecure_fast_for_tests()) // production: WalletConfig::default()
//!     .clock(clock.clone())
//!     .entropy(entropy.clone())
//!     .id_authority(Arc::new(FakeIdAuthority::new().with_person("11010519491231002X", "王小明")))
//!     .face_service(Arc::new(FakeFaceService))
//!     .bank_verifier(Arc::new(FakeBank::new()))
//!     .build()
//!     .await?;
//! let outbox = wallet.outbox().expect("no notifier was given, so messages collect here").clone();
//!
//! // Register with a phone number and a password; the SMS code verifies the phone.
//! let phone = ContactValue::Phone(PhoneNumber::parse("13812345678")?);
//! let password = Password::from("correct horse battery staple");
//! let reg = wallet.register(RegisterRequest::new(phone.clone(), password.clone())).await?;
//! let code = testing::last_code_to(&outbox, &phone).unwrap();
//! wallet.confirm_registration(&CodeAnswer::new(reg.challenge.ticket, code), None).await?;
//!
//! // Log in on a device: the first device of an account needs no step-up.
//! let device = DeviceInfo { id: DeviceId::from_u128(7), name: "Li's phone".into(), address: None };
//! let LoginOutcome::Session(session) = wallet.login(LoginRequest::new(phone.clone(), password, device)).await?
//! else { unreachable!("no second factor and a first device") };
//! let me = session.caller();
//!
//! // Real-name verification by ID card, with its SMS code; an operator approves it.
//! clock.advance(std::time::Duration::from_secs(61)); // codes to one phone are a minute apart
//! let challenge = wallet.request_real_name_code(&me).await?;
//! let code = testing::last_code_to(&outbox, &phone).unwrap();
//! let request = IdCardRequest {
//!     name: RealName::parse("王小明")?,
//!     id_number: ResidentId::parse("11010519491231002X", clock.now())?,
//!     front_photo: PhotoDigest([1; 32]),
//!     back_photo: PhotoDigest([2; 32]),
//!     face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: "live-1".into() },
//! };
//! let app = wallet.real_name_by_id_card(&me, &CodeAnswer::new(challenge.ticket, code), request).await?;
//! wallet.operator("reviewer-1").review_application(app.id, ReviewDecision::Approve).await?;
//! assert_eq!(wallet.account_class(&me).await?, Some(AccountClass::I));
//!
//! // A payment password, then a certificate for this device (the key stays on the device).
//! let pay = PaymentPassword::parse("815926")?;
//! wallet.set_payment_password(&me, &pay).await?;
//! let key = DeviceKey::generate(entropy.as_ref());
//! clock.advance(std::time::Duration::from_secs(61));
//! let challenge = wallet.request_certificate_code(&me).await?;
//! let code = testing::last_code_to(&outbox, &phone).unwrap();
//! let issued = wallet
//!     .issue_certificate(&me, CertificateRequest {
//!         code: CodeAnswer::new(challenge.ticket, code),
//!         secret: ProofSecret::PaymentPassword(pay),
//!         csr: key.csr()?,
//!     })
//!     .await?;
//! assert!(issued.pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! let verified = wallet.verify_payment_certificate(&issued.certificate()).await?;
//! assert_eq!(verified.user, reg.user);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Building a wallet
//!
//! [`Wallet::builder`] chooses the database ([`sqlite`](WalletBuilder::sqlite), the default kind;
//! [`postgres`](WalletBuilder::postgres); [`in_memory`](WalletBuilder::in_memory);
//! [`database`](WalletBuilder::database) for one already open), the [`Notifier`](qianbao_core::Notifier)
//! (default: an [`Outbox`](qianbao_core::Outbox) returned by [`Wallet::outbox`]), the real-name providers
//! ([`IdAuthority`](qianbao_identity::IdAuthority), [`FaceService`](qianbao_identity::FaceService),
//! [`BankVerifier`](qianbao_identity::BankVerifier); unset ones answer "not configured"), the clock, the
//! random source, the keys and the [`WalletConfig`]. `build` applies every crate's migrations.
//!
//! **Keys** ([`WalletKeys`]) come from the embedding service: one 32-byte master secret from which five
//! independent keys are derived by labelled HMAC-SHA-256, or each key set explicitly. A wallet on a file
//! or on PostgreSQL refuses to build without them; only an in-memory demo makes random ones.
//!
//! **Configuration** ([`WalletConfig`]) is serde-loadable (JSON, TOML): `identity` (the identity crate's
//! own configuration), `tokens` and `ca` (mirrors in whole seconds), and `policy` (the facade's own).
//! Defaults are production-safe; [`WalletConfig::insecure_fast_for_tests`] lowers Argon2's cost for tests.
//!
//! # Who is calling
//!
//! User-facing journeys take a [`Caller`]: the session's access token, the client certificate when the
//! request came over mutual TLS (a certificate-bound session is refused without it) and the client's
//! address. The device is the session's own. Back-office actions go through [`Wallet::operator`], which
//! authenticates nobody: the embedding service checks its staff first.
//!
//! # The journeys
//!
//! | journey | methods |
//! |---|---|
//! | register | [`register`](Wallet::register), [`confirm_registration`](Wallet::confirm_registration), [`resend_registration_code`](Wallet::resend_registration_code) |
//! | log in | [`login`](Wallet::login) → [`Session`] or [`StepUp`]; [`complete_login`](Wallet::complete_login), [`refresh`](Wallet::refresh), [`logout`](Wallet::logout) |
//! | devices | [`devices`](Wallet::devices), [`sign_out_device`](Wallet::sign_out_device), [`sign_out_other_devices`](Wallet::sign_out_other_devices), [`approve_device`](Wallet::approve_device), [`deny_device`](Wallet::deny_device) |
//! | second factor | [`enroll_totp`](Wallet::enroll_totp), [`confirm_totp`](Wallet::confirm_totp), [`disable_totp`](Wallet::disable_totp), [`totp_status`](Wallet::totp_status) |
//! | password | [`change_password`](Wallet::change_password), [`start_password_recovery`](Wallet::start_password_recovery), [`reset_password`](Wallet::reset_password) |
//! | contacts | [`add_contact`](Wallet::add_contact), [`verify_contact`](Wallet::verify_contact), [`start_contact_change`](Wallet::start_contact_change), [`confirm_contact_change`](Wallet::confirm_contact_change), [`profile`](Wallet::profile) |
//! | payment password | [`set_payment_password`](Wallet::set_payment_password), [`change_payment_password`](Wallet::change_payment_password), [`request_payment_password_reset`](Wallet::request_payment_password_reset), [`reset_payment_password`](Wallet::reset_payment_password) |
//! | real name | [`request_real_name_code`](Wallet::request_real_name_code), [`real_name_by_id_card`](Wallet::real_name_by_id_card), [`real_name_by_bank_card`](Wallet::real_name_by_bank_card), [`resubmit_real_name`](Wallet::resubmit_real_name), [`real_name_applications`](Wallet::real_name_applications), [`account_class`](Wallet::account_class); review: [`Operator::review_application`] |
//! | certificates | [`request_certificate_code`](Wallet::request_certificate_code), [`issue_certificate`](Wallet::issue_certificate), [`certificates`](Wallet::certificates), [`certificate`](Wallet::certificate), [`certificate_usage`](Wallet::certificate_usage), [`renew_certificate`](Wallet::renew_certificate), [`reissue_certificate`](Wallet::reissue_certificate), [`revoke_certificate`](Wallet::revoke_certificate), [`crl_pem`](Wallet::crl_pem); for payments: [`verify_payment_certificate`](Wallet::verify_payment_certificate), [`verify_payment_order`](Wallet::verify_payment_order) |
//! | transaction tokens | [`request_transaction_token`](Wallet::request_transaction_token), [`transaction_tokens`](Wallet::transaction_tokens), [`revoke_transaction_token`](Wallet::revoke_transaction_token) |
//! | records | [`audit_trail`](Wallet::audit_trail), [`payment_history`](Wallet::payment_history), [`spending`](Wallet::spending), [`balance`](Wallet::balance) |
//! | money in and out | [`open_wallet`](Wallet::open_wallet), [`bank_cards`](Wallet::bank_cards), [`top_up`](Wallet::top_up), [`withdraw`](Wallet::withdraw); [`Operator::reconcile_bank`] |
//! | pay | [`pay_merchant`](Wallet::pay_merchant), [`pay_qr`](Wallet::pay_qr), [`transfer`](Wallet::transfer), [`enroll_payment_code`](Wallet::enroll_payment_code) with [`MerchantDesk::charge_payment_code`]; refunds: [`MerchantDesk::refund`], [`Operator::refund`] |
//! | red packets | [`send_red_packet`](Wallet::send_red_packet), [`claim_red_packet`](Wallet::claim_red_packet), [`red_packet`](Wallet::red_packet); [`Operator::expire_red_packets`] |
//! | abnormal transactions | [`report_abnormal_transaction`](Wallet::report_abnormal_transaction), [`cases`](Wallet::cases), [`case`](Wallet::case); [`Operator::resolve_case`] |
//! | merchants | [`Operator::open_merchant`], [`Operator::merchant_static_code`], [`Operator::merchant_dynamic_code`], [`Wallet::merchant`] |
//! | close | [`close_account`](Wallet::close_account) |
//!
//! Multi-step journeys hand out a [`FlowTicket`]: an opaque, HMAC-signed, short-lived token that binds
//! the step to the user, the device, the codes sent and (as keyed digests) the contacts involved. Most
//! steps answer with a [`CodeAnswer`] (the ticket and the code typed).
//!
//! # Policy the facade applies
//!
//! - **Login protection** (identity's guards): a wrong password and an unknown account give the same
//!   error after the same Argon2 work; failures back off, then lock the account until a password reset
//!   or [`Operator::unlock_login`].
//! - **Step-up**: an account with an authenticator needs its code; a login from a device never used by the
//!   account (when it has others) needs what [`PolicyConfig::new_device_step_up`] says — a second factor
//!   (the authenticator, else a code to a verified contact) or approval by QR code from a signed-in device.
//! - **Frozen or banned** accounts get no new certificates or transaction tokens, and certificate checks
//!   for payments refuse them ([`WalletError::Frozen`]); a ban revokes every credential at once.
//! - **Real name first**: certificates, transaction tokens and payments need a verified account
//!   ([`WalletError::RealNameRequired`]).
//! - **Certificates** need a fresh SMS code plus the login or payment password; a reissue (补办) too, and it
//!   revokes the old certificates and signs the lost device out.
//! - **Closing** revokes certificates, transaction tokens, payment codes and sessions; it needs the
//!   wallet at zero with nothing pending ([`WalletError::BalanceNotZero`]; see [`ClosingCheck`]).
//! - **Money** ([`Authorization`]): a payment is authorized by the payment password, a certificate-signed
//!   order (no password) or a transaction token (consumed atomically, given back if the payment is
//!   refused). The account class sets ledger limits on the wallet (PBOC: class I CNY 1,000 since
//!   opening, II CNY 100,000 and III CNY 200,000 a year); each day's payments stay within the cap of the
//!   payment's [`AuthStrength`] (one factor CNY 1,000, two CNY 5,000, a certificate the configured
//!   limit; [`WalletError::DailyCapReached`]). Transfers and red packets need real name; a frozen or
//!   banned account cannot pay; a report of an abnormal transaction freezes the wallet's debits until an
//!   operator resolves the case. Payments from a device first seen at a new-device login meet the
//!   new-device risk rule.
//! - **Ledger**: the payments run on [`WalletLedger`], the durable ledger on the wallet's database:
//!   balances survive a restart, and [`WalletLedger::verify_journal`] checks the SHA-256 chain of every
//!   committed batch.
//! - **Password reset** revokes every session; a password change signs other devices out (configurable).
//!
//! # Notices and the audit trail
//!
//! New-device logins, password and contact changes, payment password changes and locks, the second
//! factor turned on or off, certificates issued, renewed or revoked, devices signed out, a frozen, banned
//! or closed account: each is sent through the notifier to the user's verified contacts (and in-app
//! inbox), and never carries a secret. Identity records its own events; the facade records those of the
//! CA and the token service (codes sent and refused, sessions and tokens issued and revoked, new devices,
//! step-ups, certificates) through the same trail ([`Wallet::audit_trail`]).
//!
//! # Errors
//!
//! One [`WalletError`]: the domain error kept whole (`Identity`, `Token`, `Ca`, `Store`) or the facade's
//! own refusal. [`WalletError::is_rejection`] separates the caller's faults from the service's,
//! [`WalletError::code`] gives a stable code for an API answer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod builder;
mod caller;
mod closing;
mod config;
mod error;
mod journeys;
mod keys;
mod ledger;
mod money;
mod notices;
mod ops;
mod providers;
pub mod testing;
mod ticket;
mod wallet;

pub use builder::{DatabaseChoice, WalletBuilder};
pub use caller::Caller;
pub use closing::{ClosingCheck, ClosingFuture};
pub use config::{CaSection, NewDeviceStepUp, PolicyConfig, TokensSection, WALLET_CURRENCY, WalletConfig};
pub use error::WalletError;
pub use journeys::account::{RegisterRequest, Registration};
pub use journeys::certificates::{CertificateRequest, ProofSecret};
pub use journeys::login::{
    LoginOutcome, LoginRequest, SESSION_SCOPE, Session, StepUp, StepUpAnswer, StepUpChallenge, StepUpKind, StepUpReason,
};
pub use journeys::recovery::PasswordRecovery;
pub use journeys::security::{ConfirmContactChange, ContactChange, OldContactAnswer};
pub use journeys::{CodeAnswer, CodeChallenge};
pub use keys::{DERIVED_SEALING_KEY_ID, WalletKeys};
pub use ledger::WalletLedger;
pub use money::Authorization;
pub use money::bank::{CardMovement, card_token};
pub use money::merchant::MerchantDesk;
pub use money::ops::SWEEP_LIMIT_MAX;
pub use money::packets::NewRedPacket;
pub use money::pay::{PayByQr, PayMerchant, TransferTo};
pub use money::policy::AuthStrength;
pub use money::records::{HISTORY_LIMIT_MAX, SpendingLine, SpendingSummary, WalletBalance};
pub use ops::Operator;
pub use qianbao_core as core;
pub use qianbao_store::{Backend, Database};
pub use ticket::FlowTicket;
pub use wallet::Wallet;
pub use {qianbao_ca, qianbao_identity, qianbao_ledger, qianbao_token};
