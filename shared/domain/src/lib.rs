//! The roi-tracker domain: what a client, a project and a measurement are, how they are
//! validated, how ROI is computed from them, when measurements are due, and the ports
//! (storage, blobs, mail, clock) that adapters implement.
//!
//! This crate does no I/O and depends on no AWS or Lambda crate: every rule here is tested
//! once and shared by the Lambda functions, the `roi` CLI and the local runner.

pub mod cadence;
pub mod client;
pub mod correlation;
pub mod dates;
pub mod error;
pub mod event;
pub mod forecast;
pub mod kpi;
pub mod metric;
pub mod ports;
pub mod project_kpi;
pub mod report;
pub mod roi;
pub mod rollup;
pub mod snapshot;
pub mod stored_event;
pub mod trend;
pub mod units;

pub use client::{Client, ClientId, ClientStatus, Project, ProjectId, ProjectStatus};
pub use error::{FieldError, ValidationErrors};
pub use metric::{Category, Direction, Metric, MetricKind};
pub use roi::{RoiCalculation, RoiError, RoiFigures, RoiInputs, RoiOptions};
pub use snapshot::{MetricSnapshot, SnapshotDraft, SnapshotKind, SnapshotStatus};
pub use units::{Money, Percentage};
