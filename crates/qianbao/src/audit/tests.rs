use super::kinds;

#[test]
fn kinds_are_valid() {
    for code in [
        kinds::STEP_UP_REQUIRED,
        kinds::STEP_UP_PASSED,
        kinds::DEVICE_DECISION,
        kinds::ABNORMAL_REPORTED,
        kinds::CASE_RESOLVED,
    ] {
        assert_eq!(qianbao_identity::AuditKind::new(code).unwrap().as_str(), code);
        assert_eq!(kinds::of(code).as_str(), code);
    }
}
