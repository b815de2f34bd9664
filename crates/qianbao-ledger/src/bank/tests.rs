use super::*;

fn request(id: u128, minor: i64) -> BankRequest {
    BankRequest {
        request_id: TransferId::from_u128(id),
        user: UserId::from_u128(1),
        card: CardToken::new("tok_card_0001"),
        amount: Money::from_minor(minor, Currency::CNY),
    }
}

#[tokio::test]
async fn scripts_run_in_order_then_the_default() {
    let bank = ScriptedBank::with_default(BankScript::StayPending);
    bank.push(BankScript::Fail(BankFailure::InsufficientFunds));
    bank.push(BankScript::Confirm);
    let a: &dyn BankAdapter = &bank;
    assert_eq!(
        a.start_top_up(&request(1, 100)).await,
        Ok(BankStatus::Failed { reason: BankFailure::InsufficientFunds })
    );
    assert!(matches!(a.start_withdrawal(&request(2, 100)).await, Ok(BankStatus::Confirmed { .. })));
    assert!(matches!(a.start_withdrawal(&request(3, 100)).await, Ok(BankStatus::Pending { .. })));
    assert_eq!(bank.confirmed_total(BankDirection::Withdrawal, Currency::CNY).minor(), 100);
    assert_eq!(bank.confirmed_total(BankDirection::TopUp, Currency::CNY).minor(), 0);
}

#[tokio::test]
async fn retries_are_idempotent_and_mismatches_refused() {
    let bank = ScriptedBank::new();
    let a: &dyn BankAdapter = &bank;
    let first = a.start_top_up(&request(1, 100)).await.unwrap();
    assert_eq!(a.start_top_up(&request(1, 100)).await.unwrap(), first);
    assert_eq!(bank.movement_count(), 1);
    let id = TransferId::from_u128(1);
    assert_eq!(a.start_top_up(&request(1, 101)).await, Err(BankError::RequestMismatch { request_id: id }));
    assert_eq!(a.start_withdrawal(&request(1, 100)).await, Err(BankError::RequestMismatch { request_id: id }));
    assert!(matches!(a.start_top_up(&request(2, 0)).await, Err(BankError::InvalidRequest(_))));
    assert_eq!(bank.calls().len(), 5);
    assert_eq!(bank.confirmed_total(BankDirection::TopUp, Currency::CNY).minor(), 100);
}

#[tokio::test]
async fn outages_record_nothing_and_pending_settles_once() {
    let bank = ScriptedBank::new();
    bank.push(BankScript::Unavailable);
    bank.push(BankScript::StayPending);
    let a: &dyn BankAdapter = &bank;
    assert!(matches!(a.start_top_up(&request(1, 50)).await, Err(BankError::Unavailable(_))));
    assert_eq!(bank.movement_count(), 0);
    assert!(matches!(a.start_top_up(&request(1, 50)).await, Ok(BankStatus::Pending { .. })));
    let id = TransferId::from_u128(1);
    let failed = bank.settle(id, Settlement::Fail(BankFailure::CardInvalid)).unwrap();
    assert_eq!(a.status(id).await.unwrap(), failed);
    assert!(matches!(bank.settle(id, Settlement::Confirm), Err(BankError::InvalidRequest(_))));
    let unknown = TransferId::from_u128(9);
    assert_eq!(a.status(unknown).await, Err(BankError::UnknownRequest { request_id: unknown }));
    assert!(!format!("{:?}", request(1, 1).card).contains("tok_card"));
}
