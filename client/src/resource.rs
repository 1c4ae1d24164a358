//! Which workspace: a resource id (the leading `/` optional, segment names in any case) or
//! its three parts, and the workspace's location, normalised ("West US" → westus) and
//! checked against Azure's regions.

use crate::error::ClientError;

/// A workspace by subscription, resource group and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRef {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

impl WorkspaceRef {
    /// The ARM path `/subscriptions/…/resourceGroups/…/providers/Microsoft.Quantum/workspaces/…`.
    pub fn path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Quantum/workspaces/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    /// Checks each part's form; `Err` names the part and what it should look like (not the
    /// value: a connection string's parts sit beside its key).
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        check_subscription(&self.subscription).map_err(|m| ("subscription", m))?;
        check_resource_group(&self.resource_group).map_err(|m| ("resourceGroup", m))?;
        check_workspace_name(&self.name).map_err(|m| ("workspace", m))
    }
}

/// A subscription id is a GUID; `Err` says so.
pub fn check_subscription(s: &str) -> Result<(), &'static str> {
    if uuid::Uuid::try_parse(s).is_ok() && s.len() == 36 {
        Ok(())
    } else {
        Err("not a subscription id; it is a GUID like 00000000-0000-0000-0000-000000000000")
    }
}

/// Azure's rule for resource group names; `Err` states it.
pub fn check_resource_group(s: &str) -> Result<(), &'static str> {
    let ok = (1..=90).contains(&s.len())
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
        && !s.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(
            "not a resource group name (1-90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`)",
        )
    }
}

/// Azure Quantum's rule for workspace names; `Err` states it.
pub fn check_workspace_name(s: &str) -> Result<(), &'static str> {
    let ok = (2..=54).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "not a workspace name (2-54 letters, digits and `-`, starting and ending with a letter or digit)",
        )
    }
}

/// Parses a workspace resource id; errors carry the byte offset of the bad segment.
pub fn parse_resource_id(id: &str) -> Result<WorkspaceRef, ClientError> {
    let lead = usize::from(id.starts_with('/'));
    let body = &id[lead..];
    let mut segs = Vec::new();
    let mut at = lead;
    for seg in body.split('/') {
        segs.push((seg, at));
        at += seg.len() + 1;
    }
    let err = |at: usize, detail: String| ClientError::InvalidResourceId { detail, at };
    let bad = |at: usize, detail: String| Err(err(at, detail));
    const SHAPE: &str = "/subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Quantum/Workspaces/NAME";
    let expect = [
        (0, "subscriptions"),
        (2, "resourceGroups"),
        (4, "providers"),
        (5, "Microsoft.Quantum"),
        (6, "workspaces"),
    ];
    for (i, word) in expect {
        match segs.get(i) {
            Some((seg, at)) if seg.eq_ignore_ascii_case(word) => {}
            Some((seg, at)) => {
                return bad(
                    *at,
                    format!(
                        "expected `{word}` in the resource id, found `{seg}`; a workspace id reads {SHAPE}"
                    ),
                );
            }
            None => {
                return bad(
                    id.len(),
                    format!("the resource id ends early; a workspace id reads {SHAPE}"),
                );
            }
        }
    }
    if segs.len() > 8 {
        let (_, at) = segs[8];
        return bad(
            at.saturating_sub(1),
            format!(
                "the resource id goes on past the workspace name; a workspace id reads {SHAPE}"
            ),
        );
    }
    let part = |i: usize| segs.get(i).map(|(s, a)| (s.to_string(), *a));
    let (Some((subscription, sub_at)), Some((resource_group, rg_at)), Some((name, ws_at))) =
        (part(1), part(3), part(7))
    else {
        return bad(
            id.len(),
            format!("the resource id ends early; a workspace id reads {SHAPE}"),
        );
    };
    let not = |at: usize, value: &str, rule: &str| err(at, format!("`{value}` is {rule}"));
    check_subscription(&subscription).map_err(|r| not(sub_at, &subscription, r))?;
    check_resource_group(&resource_group).map_err(|r| not(rg_at, &resource_group, r))?;
    check_workspace_name(&name).map_err(|r| not(ws_at, &name, r))?;
    Ok(WorkspaceRef {
        subscription,
        resource_group,
        name,
    })
}

/// Whether a word looks like a resource id (for a bare positional argument).
pub fn looks_like_resource_id(s: &str) -> bool {
    let t = s.trim_start_matches('/');
    t.as_bytes()
        .get(.."subscriptions/".len())
        .is_some_and(|head| head.eq_ignore_ascii_case(b"subscriptions/"))
}

/// Azure's public regions (`az account list-locations`), the names a workspace can live in.
const REGIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "centraluseuap",
    "chilecentral",
    "eastasia",
    "eastus",
    "eastus2",
    "eastus2euap",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southindia",
    "southeastasia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];

/// "West US" → `westus`. Any region-shaped name (letters and digits, at most 40) passes:
/// Azure adds regions and sovereign clouds have their own, so ARM or the endpoint says whether
/// it exists, not a list kept here. Anything else is refused, with the nearest known region as
/// a suggestion.
pub fn normalize_location(location: &str) -> Result<String, ClientError> {
    let normal: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if !normal.is_empty() && normal.len() <= 40 && normal.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Ok(normal);
    }
    Err(ClientError::InvalidWorkspaceLocation {
        location: location.to_owned(),
        suggestion: {
            let letters = alphanumeric(&normal);
            REGIONS
                .iter()
                .find(|r| r.eq_ignore_ascii_case(&letters))
                .copied()
                .or_else(|| nearest_region(&normal))
                .map(str::to_owned)
        },
    })
}

/// For a location azq does not know, the public region it is most likely a typo of (a hint to
/// add when that location does not answer); `None` for a known region or nothing close.
pub fn nearest_region(location: &str) -> Option<&'static str> {
    let normal = alphanumeric(location);
    if REGIONS.contains(&normal.as_str()) {
        return None;
    }
    let counts = letter_counts(&normal);
    REGIONS
        .iter()
        .filter(|r| may_be_close(&counts, normal.len(), r))
        .map(|r| (strsim::jaro_winkler(&normal, r), *r))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, r)| r)
}

/// How many of each letter and digit `text` (lowercase letters and digits) holds.
fn letter_counts(text: &str) -> [u16; 36] {
    let mut counts = [0u16; 36];
    for b in text.bytes() {
        let i = match b {
            b'a'..=b'z' => usize::from(b - b'a'),
            b'0'..=b'9' => 26 + usize::from(b - b'0'),
            _ => continue,
        };
        counts[i] = counts[i].saturating_add(1);
    }
    counts
}

/// Whether Jaro-Winkler between a text (its `counts` and `len`) and `region` can reach 0.85,
/// from the letters they share, before computing it: Jaro matches at most the `m` letters the
/// two have in common, so it is at most (m/len + m/region + 1)/3, and the prefix bonus adds at
/// most 0.4 of what is left to 1. Most texts share too little with most regions to be close.
fn may_be_close(counts: &[u16; 36], len: usize, region: &str) -> bool {
    let theirs = letter_counts(region);
    let m: usize = counts
        .iter()
        .zip(theirs.iter())
        .map(|(a, b)| usize::from(*a.min(b)))
        .sum();
    if m == 0 || len == 0 {
        return false;
    }
    let jaro = (m as f64 / len as f64 + m as f64 / region.len() as f64 + 1.0) / 3.0;
    0.6 * jaro + 0.4 >= 0.85 - 1e-9
}

fn alphanumeric(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_filter_never_changes_the_nearest_region() {
        let brute = |text: &str| {
            let normal = alphanumeric(text);
            if REGIONS.contains(&normal.as_str()) {
                return None;
            }
            REGIONS
                .iter()
                .map(|r| (strsim::jaro_winkler(&normal, r), *r))
                .filter(|(score, _)| *score >= 0.85)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, r)| r)
        };
        let mut texts: Vec<String> = Vec::new();
        for r in REGIONS {
            let b = r.as_bytes();
            for i in (0..b.len()).step_by(3) {
                let mut dropped = b.to_vec();
                dropped.remove(i);
                texts.push(String::from_utf8(dropped).unwrap());
                let mut swapped = b.to_vec();
                swapped.swap(i, (i + 1) % b.len());
                texts.push(String::from_utf8(swapped).unwrap());
            }
        }
        // A small generator (no crate needed) for texts that are nothing like a region.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            texts.push(
                (0..len)
                    .map(|k| (b'a' + ((x >> (k % 60)) % 26) as u8) as char)
                    .collect(),
            );
        }
        let mut suggested = 0;
        for t in &texts {
            assert_eq!(nearest_region(t), brute(t), "{t}");
            suggested += usize::from(brute(t).is_some());
        }
        assert!(
            suggested > 400,
            "the typos should find their regions: {suggested}"
        );
    }

    const ID: &str = "/subscriptions/f846b2bd-d0e2-4a1d-8141-4c6944a9d387/resourceGroups/RG/providers/Microsoft.Quantum/Workspaces/ws1";

    #[test]
    fn resource_ids_parse_in_any_case_with_or_without_the_slash() {
        let w = parse_resource_id(ID).unwrap();
        assert_eq!((w.resource_group.as_str(), w.name.as_str()), ("RG", "ws1"));
        assert_eq!(parse_resource_id(&ID[1..]).unwrap(), w);
        assert_eq!(
            parse_resource_id(&ID.to_uppercase().replace("WS1", "ws1").replace(
                "F846B2BD-D0E2-4A1D-8141-4C6944A9D387",
                "f846b2bd-d0e2-4a1d-8141-4c6944a9d387"
            ))
            .unwrap()
            .name,
            "ws1"
        );
        assert!(looks_like_resource_id(ID) && looks_like_resource_id(&ID[1..]));
    }

    #[test]
    fn bad_resource_ids_point_at_the_bad_part() {
        let at = |id: &str| match parse_resource_id(id) {
            Err(ClientError::InvalidResourceId { at, .. }) => at,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            at("/subscriptions/nope/resourceGroups/r/providers/Microsoft.Quantum/workspaces/w"),
            15
        );
        assert_eq!(
            at("/subscriptions/f846b2bd-d0e2-4a1d-8141-4c6944a9d387/groups/r"),
            52
        );
        assert_eq!(
            at("/subscriptions/f846b2bd-d0e2-4a1d-8141-4c6944a9d387"),
            51
        );
        assert!(matches!(
            parse_resource_id(&format!("{ID}/jobs")),
            Err(ClientError::InvalidResourceId { .. })
        ));
    }

    #[test]
    fn locations_are_normalised_and_any_region_shape_passes() {
        assert_eq!(normalize_location("West US").unwrap(), "westus");
        assert_eq!(normalize_location("eastus2").unwrap(), "eastus2");
        // Regions azq has never heard of (new ones, sovereign clouds) are ARM's to judge.
        assert_eq!(
            normalize_location("Mars Central 7").unwrap(),
            "marscentral7"
        );
        assert_eq!(
            normalize_location("usgovvirginia").unwrap(),
            "usgovvirginia"
        );
        for bad in [
            "",
            "  ",
            "west-us",
            "westus.example.com",
            "west_us",
            "wëstus",
            &"a".repeat(41),
        ] {
            assert!(
                matches!(
                    normalize_location(bad),
                    Err(ClientError::InvalidWorkspaceLocation { .. })
                ),
                "{bad:?}"
            );
        }
        match normalize_location("west-us") {
            Err(ClientError::InvalidWorkspaceLocation { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("westus"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typos_of_known_regions_get_a_hint_and_known_regions_none() {
        assert_eq!(nearest_region("westu"), Some("westus"));
        assert_eq!(nearest_region("West Uss"), Some("westus"));
        assert_eq!(nearest_region("westus"), None);
        assert_eq!(nearest_region("West Europe"), None);
        assert_eq!(nearest_region("zzzzzz"), None);
    }
}
