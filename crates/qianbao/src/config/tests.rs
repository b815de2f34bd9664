use super::*;

#[test]
fn mirrored_sections_convert_back_to_the_domain_defaults() {
    assert_eq!(TokensSection::default().to_config(), TokenConfig::default());
    assert_eq!(CaSection::default().to_config(), CaConfig::default());
}

#[test]
fn flow_ticket_ttl_is_bounded() {
    let mut c = WalletConfig::default();
    assert!(c.check().is_ok());
    c.policy.flow_ticket_ttl_secs = 59;
    assert!(c.check().is_err());
    c.policy.flow_ticket_ttl_secs = 3601;
    assert!(c.check().is_err());
}

#[test]
fn unknown_fields_are_refused() {
    assert!(serde_json::from_str::<WalletConfig>(r#"{"policy":{"nope":1}}"#).is_err());
    assert!(serde_json::from_str::<WalletConfig>(r#"{"tokenz":{}}"#).is_err());
}
