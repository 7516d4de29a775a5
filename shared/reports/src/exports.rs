//! The figures of a report as CSV and XLSX (seed 004 FR-016.4 "export to CSV/Excel"). Users
//! appear only as the salted hashes stored at ingestion.

use roi_domain::report::{RenderError, ReportData, ReportMeta};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Workbook};

/// One exported figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `report`, `roi`, `metric`, `usage`, `department`, `model`, `user`, `roi_history`,
    /// `daily_cost`, `forecast`.
    pub section: &'static str,
    /// What it is.
    pub name: String,
    /// The value: a number where it is one.
    pub value: Value,
    /// Its unit (`USD`, `percent`, `months`, `tokens`, …).
    pub unit: String,
}

/// A figure's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (exact).
    Number(Decimal),
    /// Text.
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(d) => write!(f, "{}", d.normalize()),
            Value::Text(t) => f.write_str(t),
        }
    }
}

fn n(section: &'static str, name: impl Into<String>, v: Decimal, unit: &str) -> Row {
    Row {
        section,
        name: name.into(),
        value: Value::Number(v),
        unit: unit.into(),
    }
}

fn t(section: &'static str, name: impl Into<String>, v: impl Into<String>) -> Row {
    Row {
        section,
        name: name.into(),
        value: Value::Text(v.into()),
        unit: String::new(),
    }
}

/// Every figure of the report, in the order printed.
pub fn rows(data: &ReportData, meta: &ReportMeta) -> Vec<Row> {
    let mut out = vec![
        t("report", "client", data.client_name.clone()),
        t("report", "project", data.project_name.clone()),
        t("report", "kind", data.kind.name()),
        t("report", "period", data.period.label.clone()),
        t("report", "from", data.period.from.to_string()),
        t("report", "to", data.period.to.to_string()),
        n("report", "version", Decimal::from(meta.version), ""),
        t("report", "restated", meta.restated.to_string()),
        t("report", "issued_at", meta.issued_at.to_rfc3339()),
    ];
    if let Some(r) = &data.roi {
        out.push(t("roi", "period_analyzed", r.period_analyzed.clone()));
        out.push(n("roi", "roi_percentage", r.roi_percentage, "percent"));
        if let Some(p) = r.payback_period_months {
            out.push(n("roi", "payback_period_months", p, "months"));
        }
        for (name, v) in [
            ("cost_savings_monthly", r.cost_savings_monthly),
            ("cost_savings_annual", r.cost_savings_annual),
            ("revenue_increase", r.revenue_increase),
            ("npv", r.npv),
            ("benefits_total", r.benefits_total),
            ("costs_total", r.costs_total),
            ("gross_monthly_benefit", r.gross_monthly_benefit),
            ("running_cost_monthly", r.running_cost_monthly),
        ] {
            out.push(n("roi", name, v, "USD"));
        }
        for (name, v) in [
            ("time_savings_percentage", r.time_savings_percentage),
            ("error_reduction_percentage", r.error_reduction_percentage),
            ("efficiency_gain_percentage", r.efficiency_gain_percentage),
        ] {
            if let Some(v) = v {
                out.push(n("roi", name, v, "percent"));
            }
        }
    }
    for m in &data.metrics {
        out.push(n(
            "metric",
            format!("{} baseline", m.metric),
            m.baseline,
            &m.unit,
        ));
        out.push(n(
            "metric",
            format!("{} current", m.metric),
            m.current,
            &m.unit,
        ));
    }
    if let Some(u) = &data.usage {
        out.push(n("usage", "ai_cost", u.cost_usd, "USD"));
        out.push(n("usage", "tokens", Decimal::from(u.tokens), "tokens"));
        out.push(n(
            "usage",
            "active_users",
            Decimal::from(u.active_users),
            "users",
        ));
        out.push(n(
            "usage",
            "agent_runs",
            Decimal::from(u.agent_runs),
            "runs",
        ));
        out.push(n("usage", "hours_saved", u.hours_saved, "hours"));
        for d in &u.by_department {
            out.push(n("department", d.name.clone(), d.usd, "USD"));
        }
        for m in &u.by_model {
            out.push(n("model", m.name.clone(), m.usd, "USD"));
        }
    }
    for u in &data.users {
        out.push(n("user", u.user_hash.clone(), u.cost_usd, "USD"));
    }
    for p in &data.roi_history {
        out.push(n("roi_history", p.day.to_string(), p.value, "percent"));
    }
    for p in &data.daily_cost {
        out.push(n("daily_cost", p.day.to_string(), p.value, "USD"));
    }
    if let Some(f) = &data.forecast {
        out.push(n("forecast", "next_30_days", f.next_30_days_usd, "USD"));
        out.push(n("forecast", "next_90_days", f.next_90_days_usd, "USD"));
        out.push(n("forecast", "confidence", f.confidence, "0-1"));
    }
    for k in &data.kpis {
        let unit = k.unit.name();
        if let Some(v) = k.value {
            out.push(n("kpi", &k.name, v, unit));
        }
        if let Some(b) = k.baseline {
            out.push(n("kpi_baseline", &k.name, b, unit));
        }
        if let Some(t) = k.target {
            out.push(n("kpi_target", &k.name, t.value, unit));
        }
    }
    if let Some(r) = &data.reconciliation {
        out.push(n("reconciliation", "metered", r.metered_usd, "USD"));
        out.push(n("reconciliation", "invoiced", r.invoiced_usd, "USD"));
        if let Some(v) = r.variance_percentage {
            out.push(n("reconciliation", "variance", v, "percent"));
        }
        out.push(n(
            "reconciliation",
            "provider_days",
            Decimal::from(r.days),
            "days",
        ));
        out.push(n(
            "reconciliation",
            "over_tolerance_days",
            Decimal::from(r.over_tolerance_days),
            "days",
        ));
    }
    out
}

/// The figures as CSV: a header `section,name,value,unit`, then one row each (RFC 4180).
///
/// # Errors
/// [`RenderError`] if writing fails (it does not, into memory).
pub fn csv(data: &ReportData, meta: &ReportMeta) -> Result<Vec<u8>, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| RenderError(format!("CSV: {e}"));
    w.write_record(["section", "name", "value", "unit"])
        .map_err(err)?;
    for r in rows(data, meta) {
        let value = match &r.value {
            Value::Number(d) => d.to_string(),
            Value::Text(t) => inert(t),
        };
        w.write_record([r.section, &inert(&r.name), &value, &inert(&r.unit)])
            .map_err(err)?;
    }
    w.into_inner().map_err(|e| RenderError(format!("CSV: {e}")))
}

/// A text cell a spreadsheet will not run: text from event data (a department, a model
/// name) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a
/// formula when the CSV is opened, so it gets a leading `'` (OWASP, "CSV Injection").
/// Numbers are written as numbers and need none.
pub fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The figures as an XLSX workbook: sheet `Figures` (as the CSV, numbers as numbers) and
/// sheet `Users` (hashed user ids with their AI cost and tokens).
///
/// # Errors
/// [`RenderError`] if the workbook cannot be written.
pub fn xlsx(data: &ReportData, meta: &ReportMeta) -> Result<Vec<u8>, RenderError> {
    let err = |e: rust_xlsxwriter::XlsxError| RenderError(format!("XLSX: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("Figures").map_err(err)?;
    for (c, h) in ["section", "name", "value", "unit"].iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, r) in rows(data, meta).iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        sheet.write_string(row, 0, r.section).map_err(err)?;
        sheet.write_string(row, 1, &r.name).map_err(err)?;
        match &r.value {
            Value::Number(d) => sheet.write_number(row, 2, d.to_f64().unwrap_or(0.0)),
            Value::Text(s) => sheet.write_string(row, 2, s),
        }
        .map_err(err)?;
        sheet.write_string(row, 3, &r.unit).map_err(err)?;
    }
    sheet.set_column_width(1, 36).map_err(err)?;
    let users = book.add_worksheet();
    users.set_name("Users").map_err(err)?;
    for (c, h) in ["user_hash", "cost_usd", "tokens"].iter().enumerate() {
        users
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, u) in data.users.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        users.write_string(row, 0, &u.user_hash).map_err(err)?;
        users
            .write_number(row, 1, u.cost_usd.to_f64().unwrap_or(0.0))
            .map_err(err)?;
        users.write_number(row, 2, u.tokens as f64).map_err(err)?;
    }
    users.set_column_width(0, 36).map_err(err)?;
    book.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_leading_text_is_made_inert_and_other_text_is_kept() {
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(inert(formula), format!("'{formula}"));
        }
        for plain in ["support", "claude-sonnet-4-5", "a=b", ""] {
            assert_eq!(inert(plain), plain);
        }
    }
}
