//! Argument types and value parsers shared by the commands.

use chrono::NaiveDate;
use clap::ValueEnum;
use roi_domain::{ClientId, Money, Percentage, ProjectId};
use rust_decimal::Decimal;

/// Output format of `compute` and `rollup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON with seed 000's field names; money as decimal strings.
    Json,
}

/// clap value parser of an amount in USD, 0 to 10¹² (`Money`'s range).
pub fn parse_money(s: &str) -> Result<Money, String> {
    let v: Decimal = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not an amount in USD, e.g. 1500 or 35.50"))?;
    Money::try_from(v).map_err(|e| e.to_string())
}

/// clap value parser of a percentage, 0–100 (`80` or `80%`).
pub fn parse_percentage(s: &str) -> Result<Percentage, String> {
    let value: Decimal = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    Percentage::try_from(value)
}

/// clap value parser of a date, `YYYY-MM-DD` within 2000-01-01..=2099-12-31.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date in YYYY-MM-DD form"))
        .and_then(roi_domain::dates::in_window)
}

/// clap value parser of a client id (`--client`), with the id's own rule as the error.
pub fn client_id(s: &str) -> Result<ClientId, String> {
    s.parse::<ClientId>().map_err(|e| e.reason)
}

/// clap value parser of a project id (`--project`), with the id's own rule as the error.
pub fn project_id(s: &str) -> Result<ProjectId, String> {
    s.parse::<ProjectId>().map_err(|e| e.reason)
}

/// Asks on the terminal before an action that cannot be undone: the person types `answer`
/// (the client's id) to go on. `yes` (the command's `--yes`) skips the question.
///
/// # Errors
/// Standard input is not a terminal and `yes` is not given, or the answer is not `answer`:
/// nothing has changed.
pub fn confirm(what: &str, answer: &str, yes: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{what} cannot be undone; add --yes to go on without being asked");
    }
    eprint!("{what} cannot be undone. Type {answer} to go on: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != answer {
        anyhow::bail!("stopped; nothing has changed");
    }
    Ok(())
}
