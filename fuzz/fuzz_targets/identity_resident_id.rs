//! Resident ID numbers: any input either parses to a canonical number or is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_core::Timestamp;
use qianbao_identity::ResidentId;

fuzz_target!(|data: &[u8]| {
    let today = Timestamp::from_unix_secs(1_800_000_000);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(id) = ResidentId::parse(s, today)
    {
        assert_eq!(ResidentId::parse(id.expose(), today).ok(), Some(id.clone()));
        assert_eq!(id.masked().chars().count(), 18);
        let _ = (id.birth_date(), id.sex());
    }
});
