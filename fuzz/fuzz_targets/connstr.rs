//! Fuzz target `connstr`: workspace connection strings, ARM resource ids, locations and the
//! name checks of client/src/resource.rs. None may panic; what parses must print back to
//! text that parses to the same thing, and a connection string's errors never repeat its key.
#![no_main]

use azq_client::connstr::location_of_endpoint;
use azq_client::resource::{
    check_resource_group, check_subscription, check_workspace_name, looks_like_resource_id,
};
use azq_client::{
    ClientError, ConnectionString, nearest_region, normalize_location, parse_resource_id,
};
use libfuzzer_sys::fuzz_target;

/// Connection strings, resource ids and locations are short; longer inputs only slow the
/// run down (the nearest-region search compares against every region), so they are skipped.
const MAX_LEN: usize = 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_LEN {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    resource_id(text);
    location(text);
    connection_string(text);
    let _ = (
        check_subscription(text),
        check_resource_group(text),
        check_workspace_name(text),
    );
    if let Ok(url) = url::Url::parse(text) {
        let _ = location_of_endpoint(&url);
    }
});

fn resource_id(text: &str) {
    match parse_resource_id(text) {
        Ok(w) => {
            assert!(
                looks_like_resource_id(text),
                "{text:?} parsed but does not look like an id"
            );
            assert_eq!(w.check(), Ok(()));
            let again = parse_resource_id(&w.path()).expect("a parsed id prints back to an id");
            assert_eq!(again, w);
        }
        Err(ClientError::InvalidResourceId { at, detail }) => {
            assert!(
                at <= text.len(),
                "error at {at} past the end of {} bytes",
                text.len()
            );
            assert!(!detail.is_empty());
        }
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
}

fn location(text: &str) {
    match normalize_location(text) {
        Ok(normal) => {
            assert!(
                !normal.is_empty()
                    && normal
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{normal:?}"
            );
            assert_eq!(
                normalize_location(&normal).ok().as_deref(),
                Some(normal.as_str())
            );
        }
        Err(ClientError::InvalidWorkspaceLocation { suggestion, .. }) => {
            if let Some(s) = suggestion {
                assert_eq!(normalize_location(&s).ok().as_deref(), Some(s.as_str()));
            }
        }
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
    // (normalize_location already looked for the nearest region: here only short texts.)
    if let Some(r) = (text.len() <= 64).then(|| nearest_region(text)).flatten() {
        assert!(
            nearest_region(r).is_none(),
            "{r} is a region, so nothing is nearer"
        );
    }
}

fn connection_string(text: &str) {
    match ConnectionString::parse(text) {
        Ok(c) => {
            assert_eq!(c.workspace.check(), Ok(()));
            assert!(!c.api_key.expose().is_empty());
            let printed = format!(
                "SubscriptionId={};ResourceGroupName={};WorkspaceName={};ApiKey={};QuantumEndpoint={}",
                c.workspace.subscription,
                c.workspace.resource_group,
                c.workspace.name,
                c.api_key.expose(),
                c.endpoint
            );
            // A key may hold `;` or lead/trail with blanks only if printing cannot keep it.
            let key = c.api_key.expose();
            if !key.contains(';') && key.trim() == key {
                let again = ConnectionString::parse(&printed).expect("a parsed string prints back");
                assert_eq!(again.workspace, c.workspace);
                assert_eq!(again.endpoint, c.endpoint);
                assert_eq!(again.api_key.expose(), key);
            }
            let _ = c.location();
            let shown = format!("{c:?}");
            let elsewhere = format!("{:?} {}", c.workspace, c.endpoint);
            if key.len() >= 8 && !elsewhere.contains(key) {
                assert!(!shown.contains(key), "Debug shows the key");
            }
        }
        Err(e) => {
            let shown = format!("{e} {e:?}");
            for part in text.split(';') {
                if let Some((name, value)) = part.split_once('=')
                    && name.trim().eq_ignore_ascii_case("apikey")
                {
                    let value = value.trim();
                    if value.len() >= 12 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        assert!(!shown.contains(value), "an error repeats the key: {shown}");
                    }
                }
            }
        }
    }
}
