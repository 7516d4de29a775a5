//! Daily roll-ups of a client's raw events (issue 5; seed 004 FR-016.1 usage, FR-016.2
//! cost, FR-016.3 agent performance, FR-016.4 business impact).
//!
//! A roll-up covers one client-day (the client's time zone decides where a day starts: raw
//! events are partitioned by that day at ingestion). It holds sums and counts, the distinct
//! users, and DDSketch percentiles ([`Sketch`], 1 % relative error), so weeks, months and
//! quarters are [`Rollup::merge`]s of days, without raw events. Computing a day again from
//! the same events gives the same record; a late event changes it when the day is
//! recomputed.

mod fold;
mod input;
mod model;
mod sketch;
mod view;

pub use fold::{DayFold, merge_days, roll_up};
pub use input::{ExecutionView, FeatureView, FoldData, FoldEvent, Text, UsageView};
pub use model::*;
pub use sketch::{Percentiles, Sketch};
pub use view::{AgentView, RollupView, SessionView};
