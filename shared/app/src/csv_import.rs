//! Reading seed 000's file templates (§4.2) into snapshot drafts:
//!
//! - `baseline-snapshot.csv`: `metric_category,metric_name,value,unit,date_captured,notes`
//! - `monthly-tracking.csv`: `measurement_date,metric_category,metric_name,value,unit,notes`
//!
//! Columns may come in any order; names are the schema's field names, and the short forms
//! of the seed's own samples (`error_rate` with unit `percentage`) are accepted. The
//! `period_type` row takes `day`, `week` or `month`. Every problem is reported with its
//! line number; a file with any problem yields no drafts at all.
//!
//! In a tracking file, a `metric_name` that is one of the project's measured KPIs (issue
//! 18) is read as that KPI's value of the date ([`ParsedSnapshot::kpi_values`]); its
//! `unit` is the KPI's (`usd`, `percent`, …, its symbol, or empty) and its category is not
//! checked.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use roi_domain::metric::VolumePeriod;
use roi_domain::project_kpi::KpiSet;
use roi_domain::snapshot::SnapshotDraft;
use roi_domain::{Category, Metric, ProjectId, SnapshotKind};
use rust_decimal::Decimal;

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    /// What was imported anyway but should be checked: a `metric_category` that is not
    /// the metric's (the name decides; the category column is only a check).
    pub warnings: Vec<LineError>,
    /// Measured KPI values of the date, by KPI name (tracking files).
    pub kpi_values: BTreeMap<String, Decimal>,
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
    kpis: &KpiSet,
    bytes: &[u8],
) -> Result<Vec<ParsedSnapshot>, ImportErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ImportErrors(vec![header_error(e.to_string())]))?
        .clone();
    let mut parser = Parser {
        template,
        project,
        kpis,
        columns: Columns::find(&headers, template)?,
        groups: BTreeMap::new(),
        errors: Vec::new(),
    };
    for record in reader.records() {
        match record {
            Ok(r) => parser.row(&r),
            Err(e) => parser.errors.push(LineError {
                line: e.position().map_or(0, |p| p.line()),
                field: "row".into(),
                reason: e.to_string(),
            }),
        }
    }
    parser.finish()
}

fn header_error(reason: String) -> LineError {
    LineError {
        line: 1,
        field: "header".into(),
        reason,
    }
}

/// Where a template's columns are in a file (matched without regard to case).
struct Columns {
    date: usize,
    category: usize,
    name: usize,
    value: usize,
    unit: usize,
    notes: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::StringRecord, template: Template) -> Result<Self, ImportErrors> {
        let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let required = [
            template.date_column(),
            "metric_category",
            "metric_name",
            "value",
            "unit",
        ];
        let found: Vec<Option<usize>> = required.iter().map(|c| column(c)).collect();
        let missing: Vec<&str> = required
            .iter()
            .zip(&found)
            .filter(|(_, i)| i.is_none())
            .map(|(c, _)| *c)
            .collect();
        if let [
            Some(date),
            Some(category),
            Some(name),
            Some(value),
            Some(unit),
        ] = found[..]
        {
            return Ok(Columns {
                date,
                category,
                name,
                value,
                unit,
                notes: column("notes"),
            });
        }
        let (file, columns) = match template {
            Template::Baseline => (
                "baseline-snapshot",
                "metric_category,metric_name,value,unit,date_captured,notes",
            ),
            Template::Tracking => (
                "monthly-tracking",
                "measurement_date,metric_category,metric_name,value,unit,notes",
            ),
        };
        Err(ImportErrors(vec![header_error(format!(
            "missing column(s) {}; a {file} file has columns {columns}",
            missing.join(", ")
        ))]))
    }
}

/// One file being read: its drafts by date, and every problem found so far.
struct Parser<'a> {
    template: Template,
    project: &'a ProjectId,
    kpis: &'a KpiSet,
    columns: Columns,
    groups: BTreeMap<NaiveDate, ParsedSnapshot>,
    errors: Vec<LineError>,
}

/// One row's cells and line.
struct Row<'r> {
    record: &'r csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    fn cell(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("")
    }
}

impl Parser<'_> {
    fn err(&mut self, line: u64, field: &str, reason: String) {
        self.errors.push(LineError {
            line,
            field: field.to_owned(),
            reason,
        });
    }

    fn group(&mut self, date: NaiveDate, line: u64) -> &mut ParsedSnapshot {
        group_for(&mut self.groups, self.template, self.project, date, line)
    }

    /// Reads one row: its date, category and metric, or the volume's `period_type`.
    fn row(&mut self, record: &csv::StringRecord) {
        let row = Row {
            record,
            line: record.position().map_or(0, |p| p.line()),
        };
        if record.iter().all(str::is_empty) {
            return;
        }
        let line = row.line;
        let c = &self.columns;
        let (date_text, category_text, name) =
            (row.cell(c.date), row.cell(c.category), row.cell(c.name));
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").ok();
        if date.is_none() {
            let reason = format!("'{date_text}' is not a date in YYYY-MM-DD form");
            self.err(line, self.template.date_column(), reason);
        }
        if self.template == Template::Tracking && self.kpis.get(name).is_some() {
            self.kpi(&row, date, name);
            return;
        }
        let category = Category::parse(category_text);
        if category.is_none() {
            let reason = format!(
                "'{category_text}' is not one of cost, time, quality, satisfaction, sales, operations"
            );
            self.err(line, "metric_category", reason);
        }
        if name.eq_ignore_ascii_case("period_type") {
            let period = VolumePeriod::from_str(row.cell(self.columns.value))
                .map_err(|r| self.err(line, "period_type", r))
                .ok();
            if let (Some(date), Some(period)) = (date, period) {
                let group = self.group(date, line);
                group.draft.volume_period = Some(period);
                group.lines.insert("period_type".into(), line);
            }
            return;
        }
        let Some(metric) = Metric::from_name(name) else {
            let reason = format!("'{name}' is not a metric of the seed 000 schema");
            self.err(line, "metric_name", reason);
            return;
        };
        let advisory = category
            .filter(|c| *c != metric.category())
            .map(|c| LineError {
                line,
                field: "metric_category".into(),
                reason: format!(
                    "{} belongs to {}, not {}; imported under {}",
                    metric.name(),
                    metric.category().name(),
                    c.name(),
                    metric.category().name()
                ),
            });
        self.metric(&row, date, metric, advisory);
    }

    /// Reads a KPI row's unit and value into its date's KPI values.
    fn kpi(&mut self, row: &Row<'_>, date: Option<NaiveDate>, name: &str) {
        let line = row.line;
        let Some(k) = self.kpis.get(name) else {
            return;
        };
        let unit = row.cell(self.columns.unit);
        if !(unit.is_empty() || unit.eq_ignore_ascii_case(k.unit.name()) || unit == k.unit.symbol())
        {
            let reason = format!("'{unit}' does not fit {name} (in {})", k.unit);
            self.err(line, "unit", reason);
        }
        let value_text = row.cell(self.columns.value);
        let Ok(value) = Decimal::from_str(value_text) else {
            let reason = format!("'{value_text}' is not a number");
            self.err(line, "value", reason);
            return;
        };
        if let Err(e) = crate::project_kpis::check_value(self.kpis, self.project, name, value) {
            self.err(line, "value", e.to_string());
            return;
        }
        let Some(date) = date else { return };
        let group = self.group(date, line);
        if group.kpi_values.insert(name.to_owned(), value).is_some() {
            let reason = format!("{name} is given twice for {date}");
            self.err(line, "metric_name", reason);
        }
        self.group(date, line).lines.insert(name.to_owned(), line);
    }

    /// Reads a metric row's unit, value and notes into its date's draft, with the row's
    /// `advisory` warning.
    fn metric(
        &mut self,
        row: &Row<'_>,
        date: Option<NaiveDate>,
        metric: Metric,
        advisory: Option<LineError>,
    ) {
        let line = row.line;
        let unit = row.cell(self.columns.unit);
        let kind = metric.kind();
        if !kind.accepts_unit(unit) {
            let accepted: Vec<&str> = kind
                .accepted_units()
                .iter()
                .filter(|u| !u.is_empty())
                .copied()
                .collect();
            let reason = format!(
                "'{unit}' does not fit {} (in {}); use one of: {}",
                metric.name(),
                kind.unit(),
                accepted.join(", ")
            );
            self.err(line, "unit", reason);
        }
        let value_text = row.cell(self.columns.value);
        let value = Decimal::from_str(value_text).ok();
        if value.is_none() {
            let reason = format!("'{value_text}' is not a number (for {})", metric.name());
            self.err(line, "value", reason);
        }
        let notes = self
            .columns
            .notes
            .map(|i| row.cell(i).to_owned())
            .filter(|n| !n.is_empty());
        let (Some(date), Some(value)) = (date, value) else {
            return;
        };
        let group = self.group(date, line);
        if let Some(&first) = group.lines.get(metric.name()) {
            let reason = format!("is given twice for {date} (first on line {first})");
            self.err(line, metric.name(), reason);
            return;
        }
        group.draft.values.insert(metric, value);
        group.warnings.extend(advisory);
        if let Some(n) = notes {
            group.draft.notes.insert(metric, n);
        }
        group.lines.insert(metric.name().to_owned(), line);
    }

    /// The drafts, oldest first, or every problem in line order.
    fn finish(mut self) -> Result<Vec<ParsedSnapshot>, ImportErrors> {
        if self.template == Template::Baseline && self.groups.len() > 1 {
            let dates: Vec<String> = self.groups.keys().map(ToString::to_string).collect();
            let reason = format!(
                "a baseline has one capture date; this file has {}",
                dates.join(", ")
            );
            self.err(0, "date_captured", reason);
        }
        if self.groups.is_empty() && self.errors.is_empty() {
            self.err(0, "file", "holds no metric rows".into());
        }
        if self.errors.is_empty() {
            Ok(self.groups.into_values().collect())
        } else {
            self.errors.sort_by_key(|e| e.line);
            Err(ImportErrors(self.errors))
        }
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
        warnings: Vec::new(),
        kpi_values: BTreeMap::new(),
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
        let parsed = parse(
            Template::Baseline,
            &project(),
            &KpiSet::default(),
            csv.as_bytes(),
        )
        .unwrap();
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
        let parsed = parse(
            Template::Tracking,
            &project(),
            &KpiSet::default(),
            csv.as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].draft.values.len(), 2);
        assert_eq!(parsed[1].draft.kind, SnapshotKind::Ongoing);
    }

    #[test]
    fn a_category_that_is_not_the_metrics_is_a_warning_naming_its_line() {
        let csv = "measurement_date,metric_category,metric_name,value,unit,notes\n\
                   2025-03-31,cost,ai_solution_cost,3150,USD,\n\
                   2025-03-31,cost,total_monthly_cost,40000,USD,\n";
        let parsed = parse(
            Template::Tracking,
            &project(),
            &KpiSet::default(),
            csv.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            parsed[0].draft.values[&Metric::AiSolutionCost],
            Decimal::from(3150)
        );
        let warnings: Vec<String> = parsed[0].warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "line 2: metric_category: ai_solution_cost belongs to operations, not cost; imported under operations"
            ]
        );
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
        let err = parse(
            Template::Baseline,
            &project(),
            &KpiSet::default(),
            csv.as_bytes(),
        )
        .unwrap_err();
        let got: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "value"),
                (3, "metric_name"),
                (4, "unit"),
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
            &KpiSet::default(),
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
        let err = parse(
            Template::Baseline,
            &project(),
            &KpiSet::default(),
            csv.as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.0[0].field, "date_captured");
    }
}
