//! Integration tests of qianbao-ledger through its public API.

mod durable;
mod fees;
mod journeys;
mod props;
mod qr;
mod red_packet;
mod risk;

#[test]
fn error_type_is_displayable() {
    let e = qianbao_ledger::LedgerError::Store(qianbao_store::StoreError::not_found("x"));
    assert!(e.to_string().starts_with("storage failed"));
}
mod payments;
