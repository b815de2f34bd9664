//! Signed-order decoding: strict and canonical — whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_ca::{ORDER_LEN, PaymentOrder, SignedOrder};

fuzz_target!(|data: &[u8]| {
    if let Ok(o) = SignedOrder::from_bytes(data) {
        assert_eq!(o.to_bytes().ok().as_deref(), Some(data));
    }
    if data.len() >= ORDER_LEN {
        if let Ok(o) = PaymentOrder::decode(&data[..ORDER_LEN]) {
            assert_eq!(o.encode().ok().as_ref().map(|b| &b[..]), Some(&data[..ORDER_LEN]));
        }
    }
});
