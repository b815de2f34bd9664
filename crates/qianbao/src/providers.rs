//! The external checks a wallet uses when the builder was given none: they answer every check with
//! "unavailable" (so a real-name application stays a draft) and say how to configure a real provider.
//! Nothing here pretends to verify anyone.

use qianbao_core::TransferId;
use qianbao_identity::checks::CheckFuture;
use qianbao_identity::{
    AuthorityAnswer, BankAnswer, BankQuery, BankVerifier, CheckError, FaceAnswer, FaceEvidence, FaceService,
    IdAuthority, RealName, ResidentId,
};
use qianbao_ledger::BankAdapter;
use qianbao_ledger::bank::{BankError, BankFuture, BankRequest, BankStatus};

/// A provider slot the builder left empty.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NotConfigured;

fn unavailable<T>(provider: &'static str, setter: &str) -> CheckFuture<'static, T> {
    let message = format!("no provider is configured; set one with WalletBuilder::{setter}");
    Box::pin(async move { Err(CheckError { provider, message }) })
}

impl IdAuthority for NotConfigured {
    fn check<'a>(&'a self, _name: &'a RealName, _id: &'a ResidentId) -> CheckFuture<'a, AuthorityAnswer> {
        unavailable("id authority", "id_authority")
    }
}

impl FaceService for NotConfigured {
    fn compare<'a>(&'a self, _id: &'a ResidentId, _evidence: &'a FaceEvidence) -> CheckFuture<'a, FaceAnswer> {
        unavailable("face service", "face_service")
    }
}

impl BankVerifier for NotConfigured {
    fn check<'a>(&'a self, _query: BankQuery<'a>) -> CheckFuture<'a, BankAnswer> {
        unavailable("bank", "bank_verifier")
    }
}

/// The bank adapter of a wallet built without one: every movement is "unavailable". The journeys
/// refuse top-ups and withdrawals before reaching it ([`WalletError::BankNotConfigured`](crate::WalletError::BankNotConfigured)).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoBank;

fn no_bank<T>() -> BankFuture<'static, T> {
    Box::pin(async {
        Err(BankError::Unavailable("no bank adapter is configured; see WalletBuilder::bank_adapter".into()))
    })
}

impl BankAdapter for NoBank {
    fn start_top_up<'a>(&'a self, _request: &'a BankRequest) -> BankFuture<'a, BankStatus> {
        no_bank()
    }

    fn start_withdrawal<'a>(&'a self, _request: &'a BankRequest) -> BankFuture<'a, BankStatus> {
        no_bank()
    }

    fn status(&self, _request_id: TransferId) -> BankFuture<'_, BankStatus> {
        no_bank()
    }
}
