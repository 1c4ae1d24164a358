//! Rust cells for azq. `protocol` is what the kernel and the `azq-rust` companion say to each
//! other; with the `client` feature, the kernel's side: finding the companion and a toolchain
//! (`locate`), starting it and talking to it (`client`).

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod locate;
pub mod protocol;
