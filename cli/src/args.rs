//! Argument types and value parsers shared by the commands.

use anyhow::Result;
use chrono::NaiveDate;
use clap::ValueEnum;
use roi_domain::{Percentage, ProjectId};
use rust_decimal::Decimal;

/// Output format of `compute` and `rollup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON with seed 000's field names; money as decimal strings.
    Json,
}

pub fn parse_percentage(s: &str) -> Result<Percentage, String> {
    let value: Decimal = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    Percentage::try_from(value)
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date in YYYY-MM-DD form"))
        .and_then(roi_domain::dates::in_window)
}

pub fn project_id(s: &str) -> Result<ProjectId> {
    s.parse::<ProjectId>()
        .map_err(|e| anyhow::anyhow!("--project: {}", e.reason))
}
