//! Feeds arbitrary bytes to the ETF decoder: it must never panic, and whatever it accepts
//! must re-encode to bytes that decode to an equivalent term (encoding is idempotent).
#![no_main]

use beamrc::dist::etf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = etf::decode_prefix(data);
    if let Ok(term) = etf::decode(data) {
        let once = term.to_bytes();
        let again = etf::decode(&once).expect("our own encoding must decode");
        assert_eq!(again.to_bytes(), once);
    }
});
