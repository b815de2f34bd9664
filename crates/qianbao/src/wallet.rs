//! [`Wallet`]: the services over one database, and what the journeys share.

use std::sync::Arc;

use qianbao_ca::{CertificateAuthority, DeviceCertVerifier};
use qianbao_core::{Clock, Notifier, Outbox, Timestamp};
use qianbao_identity::Identity;
use qianbao_ledger::payments::Payments;
use qianbao_ledger::qr::QrCodec;
use qianbao_store::{Backend, Database};
use qianbao_token::Tokens;
use rustls_pki_types::CertificateDer;

use crate::closing::ClosingCheck;
use crate::ledger::WalletLedger;
use crate::money::locks::UserLocks;
use crate::ticket::TicketKey;
use crate::{Operator, WalletBuilder, WalletConfig};

/// A running wallet: every journey is a method on it.
///
/// Cheap to clone (clones share everything) and `Send + Sync`: build one at start-up and hand clones to
/// request handlers. User-facing journeys take a [`Caller`](crate::Caller); the back office goes through
/// [`Wallet::operator`].
#[derive(Clone)]
pub struct Wallet {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Database,
    pub(crate) identity: Identity,
    pub(crate) tokens: Tokens,
    pub(crate) ca: CertificateAuthority,
    pub(crate) config: WalletConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) outbox: Option<Outbox>,
    pub(crate) tickets: TicketKey,
    pub(crate) closing: Arc<dyn ClosingCheck>,
    pub(crate) payments: Payments<WalletLedger>,
    pub(crate) qr: QrCodec,
    pub(crate) bank_configured: bool,
    pub(crate) locks: UserLocks,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("backend", &self.inner.db.backend())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Starts building a wallet.
    pub fn builder() -> WalletBuilder {
        WalletBuilder::default()
    }

    /// Which database backend this wallet runs on.
    pub fn backend(&self) -> Backend {
        self.inner.db.backend()
    }

    /// The shared database handle.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// The configuration in force.
    pub fn config(&self) -> &WalletConfig {
        &self.inner.config
    }

    /// The in-memory outbox when the builder was given no notifier (demos and tests read codes from it).
    pub fn outbox(&self) -> Option<&Outbox> {
        self.inner.outbox.as_ref()
    }

    /// The back office: operator actions recorded under `operator` (a staff name or id). The embedding
    /// service authenticates and authorizes its operators before calling this; see [`Operator`].
    pub fn operator(&self, operator: impl Into<String>) -> Operator {
        Operator::new(self.clone(), operator.into())
    }

    /// The identity service underneath. Calls made on it directly skip the facade's policy,
    /// notifications and audit of other domains: prefer the journeys.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The token service underneath (same caveat as [`Wallet::identity`]).
    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    /// The certificate authority underneath (same caveat as [`Wallet::identity`]).
    pub fn certificate_authority(&self) -> &CertificateAuthority {
        &self.inner.ca
    }

    /// The payments service underneath (ledger, chart of accounts, payments, red packets, cases; same
    /// caveat as [`Wallet::identity`]: no real-name, frozen-account or daily-cap policy is applied).
    pub fn payments(&self) -> &Payments<WalletLedger> {
        &self.inner.payments
    }

    /// The CA's root certificate: the trust anchor clients and TLS servers use.
    pub fn root_certificate(&self) -> CertificateDer<'static> {
        self.inner.ca.root_certificate()
    }

    /// PEM of the root followed by every issuing CA (`openssl verify -CAfile`).
    pub fn ca_chain_pem(&self) -> String {
        self.inner.ca.chain_pem()
    }

    /// A rustls client-certificate verifier that accepts the wallet's device certificates (for an mTLS
    /// server in front of the wallet).
    pub fn client_verifier(&self) -> Arc<DeviceCertVerifier> {
        self.inner.ca.client_verifier()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }
}
