//! The session's environment variables: the process environment plus what `%env` changed.
//!
//! `%env` does not call `std::env::set_var`: that is unsound while other threads may read
//! the environment (resolvers, TLS roots). Changes live here instead, and everything that
//! starts a program or reads a credential setting goes through this view.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct Vars {
    /// `Some(value)` sets, `None` unsets.
    changes: BTreeMap<String, Option<String>>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<String> {
        match self.changes.get(name) {
            Some(change) => change.clone(),
            None => std::env::var(name).ok(),
        }
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.changes.insert(name.to_owned(), Some(value.to_owned()));
    }

    pub fn unset(&mut self, name: &str) {
        self.changes.insert(name.to_owned(), None);
    }

    /// Every variable, sorted by name.
    pub fn all(&self) -> BTreeMap<String, String> {
        let mut all: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        for (name, change) in &self.changes {
            match change {
                Some(v) => all.insert(name.clone(), v.clone()),
                None => all.remove(name),
            };
        }
        all
    }

    /// Applies the changes to a program about to start.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        for (name, change) in &self.changes {
            match change {
                Some(v) => command.env(name, v),
                None => command.env_remove(name),
            };
        }
    }
}

/// Whether a variable's value must never be shown: keys, secrets, tokens, passwords,
/// connection strings, the App Service identity header (it is what asks for a token).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "KEY",
        "CONNECTION_STRING",
        "CONNECTIONSTRING",
        "CREDENTIAL",
        "SAS",
        "IDENTITY_HEADER",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

/// The value as it may be shown: secrets are replaced by a note of their length, the
/// password of a URL (`HTTPS_PROXY=http://user:pass@host:port`) by `***`, and a secret
/// field inside another value (`…;ApiKey=…`) by `<hidden>`.
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        format!("<hidden: {} characters>", value.chars().count())
    } else {
        crate::secrets::mask_for_display(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_shadow_the_process_environment() {
        let mut vars = Vars::default();
        assert!(vars.get("PATH").is_some());
        vars.unset("PATH");
        assert_eq!(vars.get("PATH"), None);
        assert!(!vars.all().contains_key("PATH"));
        vars.set("AZQ_VARS_TEST", "1");
        assert_eq!(vars.get("AZQ_VARS_TEST").as_deref(), Some("1"));
        assert_eq!(vars.all()["AZQ_VARS_TEST"], "1");
    }

    #[test]
    fn secret_names_are_hidden() {
        assert_eq!(
            shown_value("AZURE_CLIENT_SECRET", "abc"),
            "<hidden: 3 characters>"
        );
        assert_eq!(
            shown_value("AZURE_QUANTUM_CONNECTION_STRING", "x"),
            "<hidden: 1 characters>"
        );
        assert_eq!(shown_value("HOME", "/root"), "/root");
        assert_eq!(
            shown_value("IDENTITY_HEADER", "abcd"),
            "<hidden: 4 characters>"
        );
        assert_eq!(
            shown_value("HTTPS_PROXY", "http://me:pa55@proxy.example:8080"),
            "http://me:***@proxy.example:8080"
        );
        assert_eq!(
            shown_value("https_proxy", "http://proxy.example:8080"),
            "http://proxy.example:8080"
        );
    }
}
