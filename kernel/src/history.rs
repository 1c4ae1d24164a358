//! The session's input history for `history_request`: tail, range and glob search.

use jupyter_protocol::{HistoryEntry, HistoryRequest};
use wildmatch::WildMatch;

/// The session number entries carry; every kernel run is session 1 of its own history.
pub const SESSION: usize = 1;

#[derive(Debug, Default)]
pub struct History {
    /// (line, input, output text)
    entries: Vec<(usize, String, String)>,
}

impl History {
    pub fn push(&mut self, line: usize, input: &str, output: &str) {
        self.entries
            .push((line, input.to_owned(), output.to_owned()));
    }

    pub fn answer(&self, request: &HistoryRequest) -> Vec<HistoryEntry> {
        let (picked, output): (Vec<&(usize, String, String)>, bool) = match request {
            HistoryRequest::Tail { n, output, .. } => {
                let n = usize::try_from(*n).unwrap_or(0);
                (
                    self.entries
                        .iter()
                        .skip(self.entries.len().saturating_sub(n))
                        .collect(),
                    *output,
                )
            }
            HistoryRequest::Range {
                session,
                start,
                stop,
                output,
                ..
            } => {
                // Session 0 or a negative offset of 0 means this one; older sessions are not kept.
                let ours = session.is_none_or(|s| s == 0 || s == SESSION as i32);
                let picked = self
                    .entries
                    .iter()
                    .filter(|(line, _, _)| {
                        ours && (*line as i64) >= i64::from(*start)
                            && (*stop <= 0 || (*line as i64) < i64::from(*stop))
                    })
                    .collect();
                (picked, *output)
            }
            HistoryRequest::Search {
                pattern,
                unique,
                n,
                output,
                ..
            } => {
                let glob = WildMatch::new(pattern);
                let mut picked: Vec<_> = self
                    .entries
                    .iter()
                    .filter(|(_, input, _)| glob.matches(input))
                    .collect();
                if *unique {
                    let mut seen = std::collections::HashSet::new();
                    picked.reverse();
                    picked.retain(|(_, input, _)| seen.insert(input.as_str()));
                    picked.reverse();
                }
                let n = usize::try_from(*n).unwrap_or(0);
                if n > 0 {
                    picked = picked.split_off(picked.len().saturating_sub(n));
                }
                (picked, *output)
            }
        };
        picked
            .into_iter()
            .map(|(line, input, out)| {
                if output {
                    HistoryEntry::InputOutput(SESSION, *line, (input.clone(), out.clone()))
                } else {
                    HistoryEntry::Input(SESSION, *line, input.clone())
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(h: &History, r: HistoryRequest) -> Vec<usize> {
        h.answer(&r)
            .into_iter()
            .map(|e| match e {
                HistoryEntry::Input(_, l, _) | HistoryEntry::InputOutput(_, l, _) => l,
            })
            .collect()
    }

    #[test]
    fn tail_range_and_search() {
        let mut h = History::default();
        for (i, code) in ["%env A=1", "%pwd", "%env A=1", "%env B=2"]
            .iter()
            .enumerate()
        {
            h.push(i + 1, code, "");
        }
        assert_eq!(
            lines(
                &h,
                HistoryRequest::Tail {
                    n: 2,
                    output: false,
                    raw: true
                }
            ),
            [3, 4]
        );
        assert_eq!(
            lines(
                &h,
                HistoryRequest::Tail {
                    n: 0,
                    output: false,
                    raw: true
                }
            ),
            Vec::<usize>::new()
        );
        let range = |session, start, stop| HistoryRequest::Range {
            session,
            start,
            stop,
            output: true,
            raw: true,
        };
        assert_eq!(lines(&h, range(Some(1), 2, 3)), [2]);
        assert_eq!(lines(&h, range(Some(7), 2, 3)), Vec::<usize>::new());
        assert_eq!(lines(&h, range(None, 3, 0)), [3, 4]);
        let search = |pattern: &str, unique, n| HistoryRequest::Search {
            pattern: pattern.into(),
            unique,
            output: false,
            raw: true,
            n,
        };
        assert_eq!(lines(&h, search("%env*", false, 0)), [1, 3, 4]);
        assert_eq!(lines(&h, search("%env A*", true, 0)), [3]);
        assert_eq!(lines(&h, search("%env*", false, 2)), [3, 4]);
        assert_eq!(lines(&h, search("%p?d", false, 0)), [2]);
    }
}
