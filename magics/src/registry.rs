//! The closed set of magics: lookup by name, with a suggestion for unknown names.

use crate::args::closest;
use crate::builtin;
use crate::cell::Form;
use crate::magic::Magic;

/// Every magic azq knows, in the order `%lsmagic` lists them.
pub fn all() -> &'static [&'static dyn Magic] {
    builtin::ALL
}

/// The magic called `name` in the given form.
pub fn lookup(name: &str, form: Form) -> Option<&'static dyn Magic> {
    all()
        .iter()
        .copied()
        .find(|m| m.spec().name == name && m.spec().form == form)
}

/// The magic with this name in the other form, for "write it with %%" errors.
pub fn lookup_other_form(name: &str, form: Form) -> Option<&'static dyn Magic> {
    let other = match form {
        Form::Line => Form::Cell,
        Form::Cell => Form::Line,
    };
    lookup(name, other)
}

/// The nearest known call name (`%lsmagic`, `%%bash`) to a mistyped one.
pub fn suggest(name: &str, form: Form) -> Option<String> {
    let typed = format!("{}{name}", form.prefix());
    closest(&typed, all().iter().map(|m| m.spec().call_name()))
}
