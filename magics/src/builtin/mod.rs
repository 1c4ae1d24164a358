//! The general-purpose magics every notebook user expects, one file each.

mod bash;
mod cd;
mod clear;
mod env;
mod html;
mod lsmagic;
mod markdown;
mod pwd;

use crate::magic::Magic;

/// Every built-in magic, in `%lsmagic` order.
pub static ALL: &[&dyn Magic] = &[
    &lsmagic::Lsmagic,
    &env::Env,
    &cd::Cd,
    &pwd::Pwd,
    &clear::Clear,
    &bash::Bash,
    &html::Html,
    &markdown::Markdown,
    &crate::azure::Connect,
    &crate::azure::TargetMagic,
    &crate::azure::QasmCell,
    &crate::azure::QasmLine,
    &crate::azure::Submit,
    &crate::azure::Execute,
    &crate::azure::Estimate,
    &crate::azure::Status,
    &crate::azure::OutputMagic,
    &crate::azure::Jobs,
    &crate::azure::Cancel,
    &crate::azure::Quotas,
    &crate::azure::SessionMagic,
    &crate::azure::WatchMagic,
    &crate::rust::Reset,
];
