use super::*;

#[test]
fn step_up_policy() {
    use NewDeviceStepUp as P;
    use StepUpKind as K;
    let kind = |sf, new, live, p| decide_step_up(sf, new, live, p).map(|(k, _)| k);
    // A known device: only the second factor matters.
    for p in [P::None, P::SecondFactor, P::QrConfirmation] {
        assert_eq!(kind(false, false, true, p), None);
        assert_eq!(kind(true, false, true, p), Some(K::Totp));
    }
    // A new device.
    assert_eq!(kind(false, true, true, P::None), None);
    assert_eq!(kind(true, true, true, P::None), Some(K::Totp));
    assert_eq!(kind(false, true, true, P::SecondFactor), Some(K::Code));
    assert_eq!(kind(true, true, true, P::SecondFactor), Some(K::Totp));
    assert_eq!(kind(false, true, true, P::QrConfirmation), Some(K::QrConfirmation));
    assert_eq!(kind(true, true, true, P::QrConfirmation), Some(K::QrConfirmation));
    // QR needs another device with a live session; without one, the second factor or a code.
    assert_eq!(kind(false, true, false, P::QrConfirmation), Some(K::Code));
    assert_eq!(kind(true, true, false, P::QrConfirmation), Some(K::Totp));
    assert_eq!(decide_step_up(false, true, false, P::SecondFactor).map(|(_, r)| r), Some(StepUpReason::NewDevice));
}

#[test]
fn flags_round_trip() {
    for kind in [StepUpKind::Totp, StepUpKind::Code, StepUpKind::QrConfirmation] {
        for bits in 0u8..8 {
            let f =
                LoginFlags { new_device: bits & 1 != 0, must_change_password: bits & 2 != 0, frozen: bits & 4 != 0 };
            let b = encode_flags(kind, StepUpReason::NewDevice, f);
            assert_eq!(decode_flags(b).unwrap(), (kind, f));
        }
    }
    assert!(decode_flags(0).is_err());
}
