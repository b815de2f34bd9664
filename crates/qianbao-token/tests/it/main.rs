//! Integration tests of qianbao-token through its public API.

#[test]
fn error_type_is_displayable() {
    let e = qianbao_token::TokenError::Store(qianbao_store::StoreError::not_found("x"));
    assert!(e.to_string().starts_with("storage failed"));
}
