//! Secrets (tokens, keys, connection strings, refresh tokens): a string that never prints itself.

use std::fmt;

/// A secret value. `Debug` shows nothing of it, there is no `Display` and no `Serialize`,
/// so it cannot reach an output, a log or an error by accident; `expose` is the one way in.
///
/// ```
/// let s = azq_client::secret::Secret::new("key");
/// assert_eq!(format!("{s:?}"), "Secret(<hidden>)");
/// assert_eq!(serde_json::to_string(s.expose()).unwrap(), "\"key\"");
/// ```
///
/// These do not compile, and the doc tests hold that:
///
/// ```compile_fail
/// let s = azq_client::secret::Secret::new("key");
/// println!("{s}");
/// ```
///
/// ```compile_fail
/// let s = azq_client::secret::Secret::new("key");
/// serde_json::to_string(&s).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("hunter2-sentinel");
        assert_eq!(format!("{s:?}"), "Secret(<hidden>)");
        assert_eq!(s.expose(), "hunter2-sentinel");
    }
}
