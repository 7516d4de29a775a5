//! The ports: what the application needs from storage, blob storage, mail, webhooks,
//! secrets, queues, time and the providers' admin APIs, one file each.
//! Each trait's rustdoc is the contract the conformance suite (crate `roi-adapters`,
//! `tests/it/conformance`) checks for every adapter.

mod admin_api;
mod blob;
mod clock;
mod mail;
mod queue;
mod secret;
mod table;
mod webhook;

pub use self::admin_api::*;
pub use self::blob::*;
pub use self::clock::*;
pub use self::mail::*;
pub use self::queue::*;
pub use self::secret::*;
pub use self::table::*;
pub use self::webhook::*;
