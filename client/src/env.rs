//! The environment a sign-in reads: a snapshot the caller hands in (a notebook session's
//! variables differ from the process's), so nothing here reads `std::env` behind its back.

use std::collections::BTreeMap;

#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

/// Names only: values include client secrets and connection strings.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env::from_map(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    pub fn from_map(vars: BTreeMap<String, String>) -> Env {
        Env { vars }
    }

    /// A variable's value; empty values count as unset, as the Azure SDKs treat them.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn with(mut self, name: &str, value: &str) -> Env {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn without(mut self, name: &str) -> Env {
        self.vars.remove(name);
        self
    }
}

impl Env {
    /// Every variable (for a program the sign-in starts).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_shows_names_not_values() {
        let env = super::Env::default().with("AZURE_CLIENT_SECRET", "s3cret-value");
        let shown = format!("{env:?}");
        assert!(
            shown.contains("AZURE_CLIENT_SECRET") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
