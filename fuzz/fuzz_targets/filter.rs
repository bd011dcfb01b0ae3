//! Filter, PATCH path and attribute list parsers on arbitrary input: no panic, error
//! positions in range, and every parsed filter round-trips through its canonical form and
//! evaluates without panicking.
//!
//! Run: `cargo +nightly fuzz run filter -- -max_total_time=600`
//! (seed corpus: `fuzz/seeds/filter`, copied into `fuzz/corpus/filter` on first run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::error::ParseError;
use scimd::scim::filter::{evaluate, parse_filter, MAX_FILTER_LEN};
use scimd::scim::path::{check_patch_path, parse_attr_list, parse_patch_path};
use scimd::scim::schema::{GROUP_RESOURCE, USER_RESOURCE};

fn assert_in_range(input: &str, e: &ParseError) {
    assert!(
        e.offset <= input.len(),
        "offset {} past {}",
        e.offset,
        input.len()
    );
    assert!(
        input.is_char_boundary(e.offset),
        "offset {} inside a character",
        e.offset
    );
    assert_eq!(e.column, input[..e.offset].chars().count() + 1);
    assert!(!e.message.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse_filter(input) {
        Ok(filter) => {
            let shown = filter.to_string();
            if shown.len() <= MAX_FILTER_LEN {
                assert_eq!(
                    parse_filter(&shown).as_ref(),
                    Ok(&filter),
                    "round trip via {shown:?}"
                );
            } else {
                // Escaping can make the canonical form longer than the input (a raw
                // U+0000 written as \u0000 grows from 1 to 6 bytes), past the limit.
                let e = parse_filter(&shown).err();
                assert!(e.is_some_and(|e| e.message.starts_with("the input is too long")));
            }
            let user = serde_json::json!({
                "userName": "bjensen", "active": true, "name": {"givenName": "Barbara"},
                "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
                "meta": {"created": "2010-01-23T04:56:22Z"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"}
            });
            let _ = evaluate(&filter, &user, &USER_RESOURCE);
            let _ = evaluate(&filter, &user, &GROUP_RESOURCE);
        }
        Err(e) => assert_in_range(input, &e),
    }
    match parse_patch_path(input) {
        Ok(path) => {
            let shown = path.to_string();
            if shown.len() <= MAX_FILTER_LEN {
                assert_eq!(
                    parse_patch_path(&shown).as_ref(),
                    Ok(&path),
                    "via {shown:?}"
                );
            }
            let _ = check_patch_path(&path, &USER_RESOURCE);
        }
        Err(e) => assert_in_range(input, &e),
    }
    if let Err(e) = parse_attr_list(input) {
        assert_in_range(input, &e);
    }
});
