//! roi-tracker use cases, written once over the ports of `roi_domain::ports` and used by
//! the Lambda functions and the `roi` CLI alike.
//!
//! - [`store`]: the key design of the single table (ARCHITECTURE.md), the only place that
//!   knows a key's shape.
//! - [`csv_import`]: seed 000 §4.2 file templates into snapshot drafts.
//! - [`setup`], [`measurements`], [`compute`]: the use cases, one error enum each.
//! - [`ingest`], [`api_keys`], [`pricing`], [`usage_import`]: usage and cost events
//!   (`POST /v1/events`, provider usage reports).
//! - [`console`]: the operators' console and the client's dashboard (sign-in, portfolio
//!   summaries, dashboard links); [`reports`]: issue, review, deliver.

pub mod alerts;
pub mod api_keys;
pub mod compute;
pub mod console;
pub mod correlation;
pub mod cost_import;
pub mod csv_import;
pub mod focus;
pub mod form_link;
pub mod forms;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod measurements;
pub mod otlp;
pub mod pricing;
pub mod privacy;
pub mod project_kpis;
pub mod provider_api;
pub mod pseudonym;
pub mod reconcile;
pub mod reminders;
pub mod reports;
pub mod rollup;
pub mod settings;
pub mod setup;
pub mod store;
pub mod templates;
pub mod usage_import;

pub use store::Store;
