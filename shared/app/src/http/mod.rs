//! The HTTP layer: axum routers written once and hosted by the Lambda functions
//! (`lambda_http`) and by `roi serve` (ARCHITECTURE.md, "Interfaces people and systems
//! use"). Handlers call the use cases and the store; no use case imports this module.
//!
//! - [`forms`]: the self-reporting form (`/forms/{token}`), HTML or JSON;
//! - [`events`]: `POST /v1/events`, and `read`'s `GET /v1/rollups/…`, `/v1/roi/current`;
//! - [`links`]: report links (`/r/{token}`);
//! - [`console`]: the operators' console (`/console/…`) and the client dashboard (`/d/{token}`);
//! - [`problem`]: the one RFC 9457 problem+json builder; [`page`]: what every HTML page
//!   shares (templates, security headers).

pub mod console;
pub mod events;
mod form_page;
pub mod forms;
pub mod links;
pub mod page;
pub mod problem;
mod read;

pub use axum::Router;
