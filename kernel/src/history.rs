//! The session's input history for `history_request`: tail, range and glob search, within a
//! memory bound (`MAX_BYTES`).

use std::collections::VecDeque;

use jupyter_protocol::{HistoryEntry, HistoryRequest};
use wildmatch::WildMatch;

/// The session number entries carry; every kernel run is session 1 of its own history.
pub const SESSION: usize = 1;

/// The history keeps at most this many bytes of inputs and outputs; the oldest go first.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// A cell whose input and output together are larger is not kept (its line number is skipped):
/// recalling a 100 MB cell is no use, and keeping it would hold that memory for the session.
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub struct History {
    /// (line, input, output text), oldest first.
    entries: VecDeque<(usize, String, String)>,
    /// The bytes of text `entries` hold.
    bytes: usize,
}

impl History {
    pub fn push(&mut self, line: usize, input: &str, output: &str) {
        let size = input.len() + output.len();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        while self.bytes + size > MAX_BYTES {
            let Some((_, i, o)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= i.len() + o.len();
        }
        self.bytes += size;
        self.entries
            .push_back((line, input.to_owned(), output.to_owned()));
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

    #[test]
    fn memory_is_bounded_by_dropping_the_oldest_and_skipping_huge_cells() {
        let mut h = History::default();
        let big = "x".repeat(MAX_ENTRY_BYTES + 1);
        h.push(1, "%pwd", "");
        h.push(2, &big, "");
        h.push(3, "%env", &big);
        assert_eq!(
            lines(
                &h,
                HistoryRequest::Tail {
                    n: 10,
                    output: true,
                    raw: true
                }
            ),
            [1],
            "a cell over the entry limit is not kept"
        );
        let half = "y".repeat(MAX_ENTRY_BYTES / 2);
        let many = 2 * MAX_BYTES / MAX_ENTRY_BYTES + 8;
        for line in 4..4 + many {
            h.push(line, &half, &half);
        }
        assert!(h.bytes <= MAX_BYTES, "{} bytes kept", h.bytes);
        let kept = lines(
            &h,
            HistoryRequest::Tail {
                n: 1_000_000,
                output: false,
                raw: true,
            },
        );
        assert_eq!(*kept.last().unwrap(), 3 + many, "the newest stays");
        assert!(
            !kept.contains(&1) && kept.len() < many,
            "the oldest go first: {}",
            kept.len()
        );
    }
}
