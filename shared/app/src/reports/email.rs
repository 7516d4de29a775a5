//! The report e-mail: a short summary, the link and its expiry.

use chrono::{DateTime, Utc};
use roi_domain::ports::Email;

use super::{ReportData, ReportRecord};

/// The report e-mail: a short summary, the link and its expiry, as text and HTML.
pub fn report_email(
    from: &str,
    to: &[String],
    record: &ReportRecord,
    data: &ReportData,
    url: &str,
    expires_at: DateTime<Utc>,
) -> Email {
    let subject = format!(
        "{}: {} — {} {}{}",
        data.client_name,
        data.title,
        data.project_name,
        data.period.label,
        if record.restated { " (restated)" } else { "" }
    );
    let headline = match &data.roi {
        Some(r) => format!(
            "ROI since go-live: {} %. Payback: {}. Cost savings: {} a month.",
            r.roi_percentage.round_dp(1),
            r.payback_period_months
                .map_or("not yet in sight".into(), |m| format!(
                    "{} months",
                    m.round_dp(1)
                )),
            roi_domain::units::usd(r.cost_savings_monthly)
        ),
        None => "ROI is not computable yet for this period.".into(),
    };
    let text = format!(
        "{title} for {project}, {from} to {to}.\n\n{headline}\n\nOpen the report (PDF):\n{url}\n\nThe link works until {expires}. Version {v}{restated}.\n",
        title = data.title,
        project = data.project_name,
        from = data.period.from,
        to = data.period.to,
        expires = expires_at.format("%Y-%m-%d"),
        v = record.version,
        restated = if record.restated {
            ", restating an earlier version"
        } else {
            ""
        },
    );
    let html = crate::templates::render(
        "email/report.html",
        minijinja::context! {
            title => &data.title,
            project => &data.project_name,
            from => data.period.from.to_string(),
            to => data.period.to.to_string(),
            headline,
            url,
            expires => expires_at.format("%Y-%m-%d").to_string(),
            version => record.version,
            restated => record.restated,
        },
    )
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "the report e-mail template failed; sending text only");
        minijinja::HtmlEscape(&text).to_string()
    });
    Email {
        from: from.to_owned(),
        to: to.to_vec(),
        subject,
        text,
        html,
    }
}
