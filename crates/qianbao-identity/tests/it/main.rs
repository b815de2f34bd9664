//! Integration tests of qianbao-identity through its public API.

#[test]
fn error_type_is_displayable() {
    let e = qianbao_identity::IdentityError::Store(qianbao_store::StoreError::not_found("x"));
    assert!(e.to_string().starts_with("storage failed"));
}
