//! Fault injection and the request log. Faults are seeded and matched per route: a status
//! (429 with `Retry-After`, 500, 503), added latency, a dropped connection, or one dropped
//! after the request was applied (the client never learns its change was kept), a success
//! whose JSON body is cut in half (`truncate`; the change is kept), or an answer whose SAS
//! URLs have already expired (`expired-sas`); each fires
//! with a probability, and at most `times=N` times if it says so. The log keeps
//! the last requests (method, path, query with SAS signatures and secrets redacted, status,
//! time, client request id) for tests to read at `GET /_emulator/requests`.

use std::collections::VecDeque;
use std::time::Duration;

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};

/// What a matching request gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// An error status; `retry_after` seconds for 429/503.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Latency(Duration),
    /// The connection is closed without an answer.
    Drop,
    /// The request is served (its change kept), then the connection is closed unanswered.
    DropAfter,
    /// The request is served (its change kept); the answer's body is cut to its first half,
    /// with a Content-Length to match, so the client reads broken JSON.
    Truncate,
    /// The request is served, but every SAS URL its answer hands out expired an hour ago, so
    /// using one is refused with 403 AuthenticationFailed.
    ExpiredSas,
}

/// `method` (or `*`) and a path pattern (`*` matches within a segment, `**` anything).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub method: String,
    pub pattern: String,
    pub effect: Effect,
    pub probability: f64,
    /// How many more times the rule may fire (`times=N`); `None`: without end.
    pub times: Option<u64>,
}

/// The connection-dropping marker a response carries up to the connection layer.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

fn glob(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<&str>, Vec<&str>) = (
        pattern.trim_matches('/').split('/').collect(),
        path.trim_matches('/').split('/').collect(),
    );
    fn go(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(pp), Some(ss)) => {
                wildmatch::WildMatch::new(pp).matches(ss) && go(&p[1..], &s[1..])
            }
            _ => false,
        }
    }
    go(&p, &s)
}

/// Reads `METHOD PATTERN EFFECT [PROBABILITY] [times=N]`, e.g. `GET **/jobs/* 429:2 0.5`,
/// `* **/providerStatus 503`, `GET **/jobs latency:200`, `PUT **/jobs/* drop`,
/// `PUT **/jobs/* drop-after times=1`, `GET **/jobs/* truncate`,
/// `POST **/storage/sasUri expired-sas times=1`.
pub fn parse(spec: &str) -> Result<Fault, String> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let usage = || {
        format!(
            "`{spec}`: write METHOD PATTERN EFFECT [PROBABILITY] [times=N], e.g. `GET **/jobs/* 429:2 0.5`"
        )
    };
    let [method, pattern, effect, ref rest @ ..] = words[..] else {
        return Err(usage());
    };
    let (mut probability, mut times) = (None, None);
    for word in rest {
        if let Some(n) = word.strip_prefix("times=") {
            if times.is_some() {
                return Err(usage());
            }
            times = Some(
                n.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("times `{n}` must be a whole number above 0"))?,
            );
        } else if probability.is_none() && times.is_none() {
            probability = Some(
                word.parse::<f64>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| format!("probability `{word}` must be between 0 and 1"))?,
            );
        } else {
            return Err(usage());
        }
    }
    let probability = probability.unwrap_or(1.0);
    let effect = match effect.split_once(':') {
        Some(("latency", ms)) => Effect::Latency(Duration::from_millis(
            ms.parse()
                .map_err(|_| format!("latency `{ms}` must be milliseconds"))?,
        )),
        None if effect == "drop" => Effect::Drop,
        None if effect == "drop-after" => Effect::DropAfter,
        None if effect == "truncate" => Effect::Truncate,
        None if effect == "expired-sas" => Effect::ExpiredSas,
        _ => {
            let (status, retry) = effect
                .split_once(':')
                .map_or((effect, None), |(s, r)| (s, Some(r)));
            let status: u16 = status
                .parse()
                .ok()
                .filter(|s| (400..600).contains(s))
                .ok_or_else(|| {
                    format!("`{effect}` is not a status 400-599, latency:MS, drop, drop-after, truncate or expired-sas")
                })?;
            let retry_after = retry
                .map(|r| {
                    r.parse()
                        .map_err(|_| format!("Retry-After `{r}` must be seconds"))
                })
                .transpose()?;
            Effect::Status {
                status,
                retry_after,
            }
        }
    };
    Ok(Fault {
        method: method.to_ascii_uppercase(),
        pattern: pattern.to_owned(),
        effect,
        probability,
        times,
    })
}

pub struct Faults {
    pub rules: Vec<Fault>,
    rng: Pcg64Mcg,
}

impl Faults {
    pub fn new(rules: Vec<Fault>, seed: u64) -> Faults {
        Faults {
            rules,
            rng: Pcg64Mcg::seed_from_u64(seed),
        }
    }

    /// The first rule that matches and fires (each matching rule rolls its die).
    pub fn pick(&mut self, method: &str, path: &str) -> Option<Effect> {
        for rule in &mut self.rules {
            if rule.times == Some(0) {
                continue;
            }
            if (rule.method == "*" || rule.method == method) && glob(&rule.pattern, path) {
                let roll = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if roll < rule.probability {
                    if let Some(n) = &mut rule.times {
                        *n -= 1;
                    }
                    return Some(rule.effect.clone());
                }
            }
        }
        None
    }
}

/// The last requests, oldest first.
#[derive(Default)]
pub struct RequestLog {
    entries: VecDeque<Value>,
}

const LOG_SIZE: usize = 10_000;
const SECRET_PARAMS: &[&str] = &[
    "sig",
    "client_secret",
    "client_assertion",
    "code",
    "device_code",
    "refresh_token",
    "x-ms-quantum-api-key",
];

impl RequestLog {
    pub fn record(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        status: u16,
        ms: f64,
        request_id: Option<&str>,
    ) {
        let shown: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if SECRET_PARAMS.contains(&k.as_str()) {
                        "REDACTED".to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(shown)
            .finish();
        // The VM identity endpoint's secret travels in its path.
        let path = match path.strip_prefix("/identity/") {
            Some(rest) => format!(
                "/identity/REDACTED/{}",
                rest.split_once('/').map_or("", |(_, r)| r)
            ),
            None => path.to_owned(),
        };
        if self.entries.len() == LOG_SIZE {
            self.entries.pop_front();
        }
        self.entries.push_back(json!({
            "time": crate::http::now(), "method": method, "path": path, "query": q,
            "status": status, "ms": ms, "clientRequestId": request_id,
        }));
    }

    pub fn all(&self) -> Vec<Value> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_specs() {
        assert!(glob(
            "**/jobs/*",
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Quantum/workspaces/w/jobs/abc"
        ));
        assert!(!glob("**/jobs/*", "/subscriptions/s/jobs"));
        assert!(glob("**/jobs/*:cancel", "/a/jobs/123:cancel"));
        assert!(glob("**", "/anything/at/all"));
        assert_eq!(
            parse("GET **/jobs/* 429:2 0.5").unwrap().effect,
            Effect::Status {
                status: 429,
                retry_after: Some(2)
            }
        );
        assert_eq!(
            parse("* ** latency:30").unwrap().effect,
            Effect::Latency(Duration::from_millis(30))
        );
        assert_eq!(parse("PUT ** drop").unwrap().effect, Effect::Drop);
        let once = parse("PUT **/jobs/* drop-after times=1").unwrap();
        assert_eq!((once.effect, once.times), (Effect::DropAfter, Some(1)));
        assert_eq!(parse("PUT ** 503 0.5 times=2").unwrap().times, Some(2));
        assert_eq!(
            parse("GET **/jobs/* truncate").unwrap().effect,
            Effect::Truncate
        );
        let sas = parse("POST **/storage/sasUri expired-sas 0.5 times=3").unwrap();
        assert_eq!(
            (sas.effect, sas.probability, sas.times),
            (Effect::ExpiredSas, 0.5, Some(3))
        );
        for bad in [
            "GET",
            "GET ** 200",
            "GET ** 429 2",
            "GET ** latency:x",
            "GET ** 429:soon",
            "GET ** 503 times=0",
            "GET ** 503 times=1 0.5",
            "GET ** 503 0.5 0.5",
            "GET ** truncate:5",
            "GET ** truncated",
            "GET ** expired-sas:1",
            "GET ** expired_sas",
            "GET ** latency:",
            "GET ** latency:-5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rule_with_times_fires_that_often() {
        let mut f = Faults::new(vec![parse("* ** 503 times=2").unwrap()], 1);
        let fired: Vec<bool> = (0..4).map(|_| f.pick("GET", "/x").is_some()).collect();
        assert_eq!(fired, [true, true, false, false]);
    }

    #[test]
    fn seeded_faults_repeat() {
        let rules = vec![parse("* ** 503 0.5").unwrap()];
        let fire = |seed| {
            let mut f = Faults::new(rules.clone(), seed);
            (0..64)
                .map(|_| f.pick("GET", "/x").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(fire(7), fire(7));
        let hits = fire(7).iter().filter(|h| **h).count();
        assert!((16..48).contains(&hits), "{hits}");
    }

    #[test]
    fn the_log_hides_secrets() {
        let mut log = RequestLog::default();
        let q = vec![
            ("sig".to_owned(), "s3cret".to_owned()),
            ("api-version".to_owned(), "v".to_owned()),
        ];
        log.record("GET", "/blob/a/c/b", &q, 200, 0.1, Some("rid"));
        let text = serde_json::to_string(&log.all()).unwrap();
        assert!(!text.contains("s3cret") && text.contains("REDACTED") && text.contains("rid"));
    }
}
