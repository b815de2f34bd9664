//! Integration tests of qianbao-core through its public API, including the fuzz corpora.

use std::path::PathBuf;

use qianbao_core::{Currency, Email, Money, PhoneNumber};

/// Every file of a fuzz target's corpus (`fuzz/corpus/NAME/`), as bytes.
fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {name} is empty");
    files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn money_parse_corpus_holds_the_fuzz_properties() {
    for input in corpus("money_parse") {
        let Ok(s) = std::str::from_utf8(&input) else { continue };
        for c in Currency::ALL {
            if let Ok(m) = Money::parse(s, c) {
                assert_eq!(Money::parse(&m.to_decimal_string(), c), Ok(m));
            }
        }
    }
}

#[test]
fn contact_parse_corpus_holds_the_fuzz_properties() {
    for input in corpus("contact_parse") {
        let Ok(s) = std::str::from_utf8(&input) else { continue };
        if let Ok(p) = PhoneNumber::parse(s) {
            assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p));
        }
        if let Ok(e) = Email::parse(s) {
            assert_eq!(Email::parse(e.as_str()), Ok(e));
        }
    }
}
