//! EMVCo QR decoding and scanning: any bytes decode to a payload or a typed refusal, never a panic;
//! whatever decodes re-encodes canonically to the same value; scanning never accepts what the
//! decoder refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_core::{DigestKey, Timestamp};
use qianbao_ledger::qr::{EmvPayload, KeyId, QrCodec, QrConfig, QrKeyring};

fuzz_target!(|data: &[u8]| {
    let decoded = EmvPayload::decode_bytes(data);
    if let Ok(p) = &decoded {
        let text = p.encode().expect("a decoded payload encodes");
        assert_eq!(EmvPayload::decode(&text).as_ref(), Ok(p));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        // The key and time the corpus's signed seeds were made with.
        let key = DigestKey::new(&[7; 32]).expect("32 bytes");
        let keys = QrKeyring::new(KeyId::new("k1").expect("valid id"), key);
        let codec = QrCodec::new(QrConfig::default(), keys).expect("default config");
        let scanned = codec.scan(text, Timestamp::from_unix_secs(1_800_000_000));
        assert!(scanned.is_err() || decoded.is_ok());
    }
});
