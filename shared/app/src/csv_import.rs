//! Reading seed 000's file templates (§4.2) into snapshot drafts:
//!
//! - `baseline-snapshot.csv`: `metric_category,metric_name,value,unit,date_captured,notes`
//! - `monthly-tracking.csv`: `measurement_date,metric_category,metric_name,value,unit,notes`
//!
//! Columns may come in any order; names are the schema's field names, and the short forms
//! of the seed's own samples (`error_rate` with unit `percentage`) are accepted. The
//! `period_type` row takes `day`, `week` or `month`. Every problem is reported with its
//! line number; a file with any problem yields no drafts at all.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use roi_domain::metric::VolumePeriod;
use roi_domain::snapshot::SnapshotDraft;
use roi_domain::{Category, Metric, ProjectId, SnapshotKind};
use rust_decimal::Decimal;

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (the header is line 1); 0 for the file as a whole.
    pub line: u64,
    /// The column or metric concerned.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.field, self.reason)
        } else {
            write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
        }
    }
}

/// Every problem found in a file, in line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors(pub Vec<LineError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) found; nothing was stored:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// Which template a file follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `baseline-snapshot.csv`: one baseline, dated by `date_captured`.
    Baseline,
    /// `monthly-tracking.csv`: ongoing measurements, one per `measurement_date`.
    Tracking,
}

impl Template {
    fn date_column(self) -> &'static str {
        match self {
            Template::Baseline => "date_captured",
            Template::Tracking => "measurement_date",
        }
    }
    fn kind(self) -> SnapshotKind {
        match self {
            Template::Baseline => SnapshotKind::Baseline,
            Template::Tracking => SnapshotKind::Ongoing,
        }
    }
}

/// A draft with the line of each metric, so validation errors can name their line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSnapshot {
    /// The draft.
    pub draft: SnapshotDraft,
    /// The line each value came from.
    pub lines: BTreeMap<String, u64>,
    /// The first line of the group (for errors about the whole snapshot).
    pub first_line: u64,
}

impl ParsedSnapshot {
    /// The line to blame for an error about `field`.
    pub fn line_of(&self, field: &str) -> u64 {
        self.lines.get(field).copied().unwrap_or(self.first_line)
    }
}

/// Parses a file of `template` for `project` into one draft per date, oldest first.
///
/// # Errors
/// [`ImportErrors`] listing every problem with its line: missing columns, unknown metric
/// names, a metric under the wrong category, units that do not fit the metric, values that
/// are not numbers, bad dates, a metric given twice for one date, more than one date in a
/// baseline file, an empty file.
pub fn parse(
    template: Template,
    project: &ProjectId,
    bytes: &[u8],
) -> Result<Vec<ParsedSnapshot>, ImportErrors> {
    let mut errors = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(ImportErrors(vec![LineError {
                line: 1,
                field: "header".into(),
                reason: e.to_string(),
            }]));
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required = [
        template.date_column(),
        "metric_category",
        "metric_name",
        "value",
        "unit",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ImportErrors(vec![LineError {
            line: 1,
            field: "header".into(),
            reason: format!(
                "missing column(s) {}; a {} file has columns {}",
                missing.join(", "),
                match template {
                    Template::Baseline => "baseline-snapshot",
                    Template::Tracking => "monthly-tracking",
                },
                match template {
                    Template::Baseline =>
                        "metric_category,metric_name,value,unit,date_captured,notes",
                    Template::Tracking =>
                        "measurement_date,metric_category,metric_name,value,unit,notes",
                }
            ),
        }]));
    }
    let idx = |name: &str| column(name).unwrap_or(usize::MAX);
    let (i_date, i_cat, i_name, i_value, i_unit, i_notes) = (
        idx(template.date_column()),
        idx("metric_category"),
        idx("metric_name"),
        idx("value"),
        idx("unit"),
        column("notes"),
    );

    let mut groups: BTreeMap<NaiveDate, ParsedSnapshot> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(LineError {
                    line,
                    field: "row".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let mut err = |field: &str, reason: String| {
            errors.push(LineError {
                line,
                field: field.to_owned(),
                reason,
            });
        };
        let date = NaiveDate::parse_from_str(cell(i_date), "%Y-%m-%d")
            .map_err(|_| {
                err(
                    template.date_column(),
                    format!("'{}' is not a date in YYYY-MM-DD form", cell(i_date)),
                )
            })
            .ok();
        let name = cell(i_name);
        let category = Category::parse(cell(i_cat));
        if category.is_none() {
            err(
                "metric_category",
                format!(
                    "'{}' is not one of cost, time, quality, satisfaction, sales, operations",
                    cell(i_cat)
                ),
            );
        }
        let notes = i_notes
            .map(|i| cell(i).to_owned())
            .filter(|n| !n.is_empty());

        if name.eq_ignore_ascii_case("period_type") {
            let period = VolumePeriod::from_str(cell(i_value))
                .map_err(|r| err("period_type", r))
                .ok();
            if let (Some(date), Some(period)) = (date, period) {
                let group = group_for(&mut groups, template, project, date, line);
                group.draft.volume_period = Some(period);
                group.lines.insert("period_type".into(), line);
            }
            continue;
        }
        let Some(metric) = Metric::from_name(name) else {
            err(
                "metric_name",
                format!("'{name}' is not a metric of the seed 000 schema"),
            );
            continue;
        };
        if let Some(c) = category.filter(|c| *c != metric.category()) {
            err(
                "metric_category",
                format!(
                    "{} is a {} metric, not {}",
                    metric.name(),
                    metric.category().name(),
                    c.name()
                ),
            );
        }
        let unit = cell(i_unit);
        if !metric.kind().accepts_unit(unit) {
            err(
                "unit",
                format!(
                    "'{unit}' does not fit {} (in {}); use one of: {}",
                    metric.name(),
                    metric.kind().unit(),
                    metric
                        .kind()
                        .accepted_units()
                        .iter()
                        .filter(|u| !u.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let value = Decimal::from_str(cell(i_value))
            .map_err(|_| {
                err(
                    "value",
                    format!(
                        "'{}' is not a number (for {})",
                        cell(i_value),
                        metric.name()
                    ),
                )
            })
            .ok();
        if let (Some(date), Some(value)) = (date, value) {
            let group = group_for(&mut groups, template, project, date, line);
            if let Some(first) = group.lines.get(metric.name()) {
                let first = *first;
                err(
                    metric.name(),
                    format!("is given twice for {date} (first on line {first})"),
                );
                continue;
            }
            group.draft.values.insert(metric, value);
            if let Some(n) = notes {
                group.draft.notes.insert(metric, n);
            }
            group.lines.insert(metric.name().to_owned(), line);
        }
    }
    if template == Template::Baseline && groups.len() > 1 {
        let dates: Vec<String> = groups.keys().map(ToString::to_string).collect();
        errors.push(LineError {
            line: 0,
            field: "date_captured".into(),
            reason: format!(
                "a baseline has one capture date; this file has {}",
                dates.join(", ")
            ),
        });
    }
    if groups.is_empty() && errors.is_empty() {
        errors.push(LineError {
            line: 0,
            field: "file".into(),
            reason: "holds no metric rows".into(),
        });
    }
    if errors.is_empty() {
        Ok(groups.into_values().collect())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportErrors(errors))
    }
}

fn group_for<'a>(
    groups: &'a mut BTreeMap<NaiveDate, ParsedSnapshot>,
    template: Template,
    project: &ProjectId,
    date: NaiveDate,
    line: u64,
) -> &'a mut ParsedSnapshot {
    groups.entry(date).or_insert_with(|| ParsedSnapshot {
        draft: SnapshotDraft::new(project.clone(), template.kind(), date),
        lines: BTreeMap::new(),
        first_line: line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectId {
        "acme-bot".parse().unwrap()
    }

    #[test]
    fn the_seed_sample_rows_import_as_written() {
        // GIVEN the sample rows of seed 000 §4.2, verbatim
        let csv = "metric_category,metric_name,value,unit,date_captured,notes\n\
                   cost,monthly_labor_cost,15000,USD,2025-01-15,3 FTE @ avg $5k/month\n\
                   cost,monthly_software_cost,500,USD,2025-01-15,CRM + tools\n\
                   time,avg_task_completion_time,45,minutes,2025-01-15,\n\
                   quality,error_rate,8.5,percentage,2025-01-15,\n";
        // WHEN parsed as a baseline
        let parsed = parse(Template::Baseline, &project(), csv.as_bytes()).unwrap();
        // THEN one draft holds every value under the schema's names
        assert_eq!(parsed.len(), 1);
        let d = &parsed[0].draft;
        assert_eq!(d.values[&Metric::ErrorRatePercentage], Decimal::new(85, 1));
        assert_eq!(d.notes[&Metric::MonthlyLaborCost], "3 FTE @ avg $5k/month");
        assert_eq!(parsed[0].line_of("error_rate_percentage"), 5);
    }

    #[test]
    fn tracking_rows_group_into_one_measurement_per_date() {
        let csv = "measurement_date,metric_category,metric_name,value,unit,notes\n\
                   2025-02-28,cost,monthly_labor_cost,14000,USD,Reduced 1 FTE\n\
                   2025-02-28,time,avg_task_completion_time,30,minutes,AI assistance enabled\n\
                   2025-03-31,quality,error_rate,4.2,percentage,Significant improvement\n";
        let parsed = parse(Template::Tracking, &project(), csv.as_bytes()).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].draft.values.len(), 2);
        assert_eq!(parsed[1].draft.kind, SnapshotKind::Ongoing);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_number() {
        let csv = "metric_category,metric_name,value,unit,date_captured,notes\n\
                   cost,monthly_labor_cost,15k,USD,2025-01-15,\n\
                   cost,happiness_index,3,USD,2025-01-15,\n\
                   time,avg_task_completion_time,45,USD,2025-01-15,\n\
                   quality,monthly_software_cost,500,USD,2025-01-15,\n\
                   quality,error_rate,8.5,percentage,2025-13-01,\n\
                   quality,error_rate,8.5,percentage,2025-01-15,\n\
                   quality,error_rate,8.6,percentage,2025-01-15,\n";
        let err = parse(Template::Baseline, &project(), csv.as_bytes()).unwrap_err();
        let got: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "value"),
                (3, "metric_name"),
                (4, "unit"),
                (5, "metric_category"),
                (6, "date_captured"),
                (8, "error_rate_percentage"),
            ]
        );
        assert!(
            err.to_string()
                .contains("line 2: value: '15k' is not a number")
        );
    }

    #[test]
    fn a_file_with_the_wrong_columns_names_the_missing_ones() {
        let err = parse(
            Template::Tracking,
            &project(),
            b"date,name,value\n2025-01-01,x,1\n",
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(
            err.0[0].reason.contains("measurement_date"),
            "{}",
            err.0[0].reason
        );
    }

    #[test]
    fn a_baseline_with_two_dates_is_refused() {
        let csv = "metric_category,metric_name,value,unit,date_captured,notes\n\
                   cost,monthly_labor_cost,1,USD,2025-01-15,\n\
                   cost,monthly_software_cost,1,USD,2025-01-16,\n";
        let err = parse(Template::Baseline, &project(), csv.as_bytes()).unwrap_err();
        assert_eq!(err.0[0].field, "date_captured");
    }
}
