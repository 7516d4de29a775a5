//! The catalogue of business metrics a snapshot may hold: every field of seed 000's
//! `BaselineMetrics` (§2.1), grouped by its categories, plus the ongoing-only fields of
//! `OngoingMetrics`. Each metric knows its unit, its valid range, which direction is
//! better, and a help text for forms.
//!
//! `period_type` (day / week / month) is not a number and lives beside the values, in
//! [`VolumePeriod`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::units::MAX_MEASURED_VALUE;

/// The seed 000 categories a metric belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Cost metrics, USD.
    Cost,
    /// Time metrics.
    Time,
    /// Quality metrics.
    Quality,
    /// Customer satisfaction metrics.
    Satisfaction,
    /// Sales and revenue metrics.
    Sales,
    /// Tracked only after go-live (AI cost, uptime, adoption).
    Operations,
}

impl Category {
    /// Every category, in the seed's order.
    pub const ALL: [Category; 6] = [
        Category::Cost,
        Category::Time,
        Category::Quality,
        Category::Satisfaction,
        Category::Sales,
        Category::Operations,
    ];

    /// The name used in CSV files (`metric_category` column).
    pub fn name(self) -> &'static str {
        match self {
            Category::Cost => "cost",
            Category::Time => "time",
            Category::Quality => "quality",
            Category::Satisfaction => "satisfaction",
            Category::Sales => "sales",
            Category::Operations => "operations",
        }
    }

    /// Parses a CSV category, accepting the seed's long names too
    /// (`customer_satisfaction`, `revenue`, `sales_revenue`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "cost" | "costs" => Category::Cost,
            "time" => Category::Time,
            "quality" => Category::Quality,
            "satisfaction" | "customer_satisfaction" | "customer" => Category::Satisfaction,
            "sales" | "revenue" | "sales_revenue" | "sales/revenue" => Category::Sales,
            "operations" | "ongoing" | "ai" => Category::Operations,
            _ => return None,
        })
    }

    /// A heading for people.
    pub fn title(self) -> &'static str {
        match self {
            Category::Cost => "Cost",
            Category::Time => "Time",
            Category::Quality => "Quality",
            Category::Satisfaction => "Customer satisfaction",
            Category::Sales => "Sales and revenue",
            Category::Operations => "AI solution operations",
        }
    }
}

/// What kind of quantity a metric is: its unit and valid range (seed 000 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// USD, ≥ 0.
    Money,
    /// Percent, 0–100.
    Percent,
    /// Net Promoter Score, a whole number from −100 to 100.
    Nps,
    /// A 0–100 score (CSAT).
    Score,
    /// A whole number ≥ 0.
    Count,
    /// Minutes, ≥ 0.
    Minutes,
    /// Hours, ≥ 0.
    Hours,
    /// Whole days, ≥ 0.
    Days,
}

impl MetricKind {
    /// The unit in words, as in a sentence: "must be between 0 and 100 (percent)".
    pub fn unit(self) -> &'static str {
        match self {
            MetricKind::Money => "USD",
            MetricKind::Percent => "percent",
            MetricKind::Nps => "NPS points",
            MetricKind::Score => "score (0–100)",
            MetricKind::Count => "count",
            MetricKind::Minutes => "minutes",
            MetricKind::Hours => "hours",
            MetricKind::Days => "days",
        }
    }

    /// The unit as printed beside a value or a form field's label: `%`, `USD`, and the
    /// range for the scores (`−100 to 100`, `0–100`).
    pub fn symbol(self) -> &'static str {
        match self {
            MetricKind::Money => "USD",
            MetricKind::Percent => "%",
            MetricKind::Nps => "−100 to 100",
            MetricKind::Score => "0–100",
            MetricKind::Count => "count",
            MetricKind::Minutes => "minutes",
            MetricKind::Hours => "hours",
            MetricKind::Days => "days",
        }
    }

    /// `value` for reading, thousands grouped, with its unit: `42,000 USD`, `6.5 %`,
    /// `5,200` (counts and scores without a unit).
    pub fn show(self, value: Decimal) -> String {
        let number = crate::units::grouped(value.normalize());
        match self {
            MetricKind::Count | MetricKind::Nps | MetricKind::Score => number,
            other => format!("{number} {}", other.symbol()),
        }
    }

    /// The unit spellings accepted in an import file's `unit` column (case-insensitive;
    /// an empty unit is accepted where the unit is unambiguous: counts and scores).
    pub fn accepted_units(self) -> &'static [&'static str] {
        match self {
            MetricKind::Money => &["usd", "$", "us$", "dollars"],
            MetricKind::Percent => &["percentage", "percent", "%", "pct"],
            MetricKind::Nps => &["", "nps", "score", "points"],
            MetricKind::Score => &["", "score", "points", "percent", "percentage", "%"],
            MetricKind::Count => &["", "count", "number", "integer", "items"],
            MetricKind::Minutes => &["minutes", "minute", "min", "mins"],
            MetricKind::Hours => &["hours", "hour", "h", "hrs"],
            MetricKind::Days => &["days", "day", "d"],
        }
    }

    /// Whether `unit` (as written in a file) names this kind's unit.
    pub fn accepts_unit(self, unit: &str) -> bool {
        let unit = unit.trim().to_ascii_lowercase();
        self.accepted_units().contains(&unit.as_str())
    }

    /// The valid range as `(min, max)`, inclusive. Percentages and scores stop at 100, NPS
    /// runs from −100 to 100 (seed 000 §7.1); every other kind stops at
    /// [`MAX_MEASURED_VALUE`], so that no stored measurement can overflow the ROI
    /// arithmetic (ARCHITECTURE.md, "Rules of the numbers").
    pub fn range(self) -> (Decimal, Decimal) {
        match self {
            MetricKind::Percent | MetricKind::Score => (Decimal::ZERO, Decimal::ONE_HUNDRED),
            MetricKind::Nps => (-Decimal::ONE_HUNDRED, Decimal::ONE_HUNDRED),
            _ => (Decimal::ZERO, MAX_MEASURED_VALUE),
        }
    }

    /// Whether values must be whole numbers.
    pub fn is_integer(self) -> bool {
        matches!(self, MetricKind::Nps | MetricKind::Count | MetricKind::Days)
    }

    /// Checks one value against the kind's range and integrality.
    ///
    /// # Errors
    /// A reason a person can act on, naming the unit and the value.
    pub fn check(self, value: Decimal) -> Result<(), String> {
        let (min, max) = self.range();
        if self.is_integer() && !value.fract().is_zero() {
            return Err(format!("must be a whole number, got {value}"));
        }
        if value < min || value > max {
            return Err(format!(
                "must be between {min} and {max} ({}), got {value}",
                self.unit()
            ));
        }
        Ok(())
    }
}

/// Which way a metric should move for the client to be better off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is better (revenue, accuracy, NPS).
    HigherIsBetter,
    /// Less is better (cost, time, errors).
    LowerIsBetter,
}

macro_rules! catalogue {
    ($( $variant:ident = $name:literal, $label:literal, $cat:ident, $kind:ident, $dir:ident, $help:literal; )*) => {
        /// One business metric of seed 000's schema. Its [`Metric::name`] is the seed's field
        /// name, used in CSV files, forms, JSON and storage.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Metric {
            $(
                #[doc = $help]
                $variant,
            )*
        }

        impl Metric {
            /// Every metric, grouped by category in the seed's order.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant),*];

            /// The seed's field name, e.g. `monthly_labor_cost`.
            pub fn name(self) -> &'static str {
                match self { $(Metric::$variant => $name,)* }
            }

            /// The label people read, in forms, reports and e-mails: the seed's field name in
            /// words, e.g. "Average task completion time", "Net Promoter Score (NPS)".
            pub fn label(self) -> &'static str {
                match self { $(Metric::$variant => $label,)* }
            }

            /// The seed category it is listed under.
            pub fn category(self) -> Category {
                match self { $(Metric::$variant => Category::$cat,)* }
            }

            /// Its unit and range.
            pub fn kind(self) -> MetricKind {
                match self { $(Metric::$variant => MetricKind::$kind,)* }
            }

            /// Which way is better.
            pub fn direction(self) -> Direction {
                match self { $(Metric::$variant => Direction::$dir,)* }
            }

            /// A sentence for a form's help text, from the seed's field description.
            pub fn help(self) -> &'static str {
                match self { $(Metric::$variant => $help,)* }
            }
        }
    };
}

catalogue! {
    MonthlyLaborCost = "monthly_labor_cost", "Monthly labor cost", Cost, Money, LowerIsBetter,
        "Monthly cost of the staff doing the work the AI supports (salaries and contractors), USD.";
    AnnualLaborCost = "annual_labor_cost", "Annual labor cost", Cost, Money, LowerIsBetter,
        "Annual cost of that staff, USD.";
    MonthlySoftwareCost = "monthly_software_cost", "Monthly software cost", Cost, Money, LowerIsBetter,
        "Monthly cost of software and tools used for the process (not the AI solution), USD.";
    AnnualSoftwareCost = "annual_software_cost", "Annual software cost", Cost, Money, LowerIsBetter,
        "Annual cost of that software, USD.";
    MonthlyOverheadCost = "monthly_overhead_cost", "Monthly overhead cost", Cost, Money, LowerIsBetter,
        "Monthly overhead attributable to the process (space, management, training), USD.";
    MonthlyErrorCost = "monthly_error_cost", "Monthly error cost", Cost, Money, LowerIsBetter,
        "Monthly cost of errors: rework, refunds, penalties, USD.";
    TotalMonthlyCost = "total_monthly_cost", "Total monthly cost", Cost, Money, LowerIsBetter,
        "Total monthly cost of the process, USD. Leave empty to use the sum of labor, software, overhead and error cost.";
    TotalAnnualCost = "total_annual_cost", "Total annual cost", Cost, Money, LowerIsBetter,
        "Total annual cost of the process, USD.";
    AvgTaskCompletionTime = "avg_task_completion_time", "Average task completion time", Time, Minutes, LowerIsBetter,
        "Average time to complete one task, in minutes.";
    VolumePerPeriod = "volume_per_period", "Volume per period", Time, Count, HigherIsBetter,
        "Number of tasks handled per period; say which period (day, week or month) with it.";
    ReworkHoursPerWeek = "rework_hours_per_week", "Rework hours per week", Time, Hours, LowerIsBetter,
        "Hours per week spent redoing work, in hours.";
    ErrorRatePercentage = "error_rate_percentage", "Error rate", Quality, Percent, LowerIsBetter,
        "Share of tasks with an error, percent (0-100).";
    AccuracyRatePercentage = "accuracy_rate_percentage", "Accuracy rate", Quality, Percent, HigherIsBetter,
        "Share of tasks done right the first time, percent (0-100).";
    QualityControlHoursPerWeek = "quality_control_hours_per_week", "Quality control hours per week", Quality, Hours, LowerIsBetter,
        "Hours per week spent checking work, in hours.";
    CostPerError = "cost_per_error", "Cost per error", Quality, Money, LowerIsBetter,
        "Average cost of one error, USD.";
    NpsScore = "nps_score", "Net Promoter Score (NPS)", Satisfaction, Nps, HigherIsBetter,
        "Net Promoter Score, a whole number from -100 to 100.";
    CsatScore = "csat_score", "Customer satisfaction (CSAT)", Satisfaction, Score, HigherIsBetter,
        "Customer satisfaction (CSAT) score, 0-100.";
    ComplaintsPerMonth = "complaints_per_month", "Complaints per month", Satisfaction, Count, LowerIsBetter,
        "Customer complaints received per month.";
    AvgResponseTimeHours = "avg_response_time_hours", "Average response time", Satisfaction, Hours, LowerIsBetter,
        "Average time to respond to a customer, in hours.";
    ChurnRatePercentage = "churn_rate_percentage", "Churn rate", Satisfaction, Percent, LowerIsBetter,
        "Share of customers lost per period, percent (0-100).";
    ConversionRatePercentage = "conversion_rate_percentage", "Conversion rate", Sales, Percent, HigherIsBetter,
        "Share of leads that become customers, percent (0-100).";
    AvgDealSize = "avg_deal_size", "Average deal size", Sales, Money, HigherIsBetter,
        "Average value of a won deal, USD.";
    SalesCycleDays = "sales_cycle_days", "Sales cycle", Sales, Days, LowerIsBetter,
        "Average days from first contact to a won deal.";
    LeadResponseTimeHours = "lead_response_time_hours", "Lead response time", Sales, Hours, LowerIsBetter,
        "Average time to answer a new lead, in hours.";
    LeadsPerMonth = "leads_per_month", "Leads per month", Sales, Count, HigherIsBetter,
        "New leads per month.";
    MonthlyRevenue = "monthly_revenue", "Monthly revenue", Sales, Money, HigherIsBetter,
        "Revenue per month from the process, USD.";
    EstimatedMonthlyLostRevenue = "estimated_monthly_lost_revenue", "Estimated monthly lost revenue", Sales, Money, LowerIsBetter,
        "Estimated revenue lost per month (missed leads, churn), USD.";
    AiSolutionCost = "ai_solution_cost", "AI solution cost per month", Operations, Money, LowerIsBetter,
        "Monthly cost of running the AI solution (API, hosting, licences), USD. Ongoing measurements only.";
    SystemUptimePercentage = "system_uptime_percentage", "System uptime", Operations, Percent, HigherIsBetter,
        "Share of time the AI solution was available, percent (0-100). Ongoing measurements only.";
    UserAdoptionRate = "user_adoption_rate", "User adoption rate", Operations, Percent, HigherIsBetter,
        "Share of intended users who use the AI solution, percent (0-100). Ongoing measurements only.";
}

impl Metric {
    /// Finds a metric by its field name. The short forms the seed's own sample files use
    /// are accepted too: a `*_percentage` metric without the suffix (`error_rate`), and
    /// `nps` / `csat` for the scores.
    pub fn from_name(name: &str) -> Option<Metric> {
        let name = name.trim().to_ascii_lowercase();
        Metric::ALL.iter().copied().find(|m| {
            let full = m.name();
            full == name
                || full.strip_suffix("_percentage") == Some(name.as_str())
                || full.strip_suffix("_score") == Some(name.as_str())
        })
    }

    /// Whether only ongoing measurements carry it (seed 000 `OngoingMetrics`, "Additional
    /// tracking").
    pub fn is_ongoing_only(self) -> bool {
        self.category() == Category::Operations
    }

    /// The four components whose sum is the total monthly cost when it is not given
    /// (issue 2's definition).
    pub const COST_COMPONENTS: [Metric; 4] = [
        Metric::MonthlyLaborCost,
        Metric::MonthlySoftwareCost,
        Metric::MonthlyOverheadCost,
        Metric::MonthlyErrorCost,
    ];
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::from_name(s).ok_or_else(|| format!("'{s}' is not a known metric name"))
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The period `volume_per_period` counts over (seed 000 `period_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumePeriod {
    /// Per day.
    Day,
    /// Per week.
    Week,
    /// Per month.
    Month,
}

impl VolumePeriod {
    /// Every period, shortest first.
    pub const ALL: [VolumePeriod; 3] = [VolumePeriod::Day, VolumePeriod::Week, VolumePeriod::Month];

    /// `day`, `week` or `month`, as written in forms and files.
    pub fn name(self) -> &'static str {
        match self {
            VolumePeriod::Day => "day",
            VolumePeriod::Week => "week",
            VolumePeriod::Month => "month",
        }
    }
}

impl FromStr for VolumePeriod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(VolumePeriod::Day),
            "week" | "weekly" => Ok(VolumePeriod::Week),
            "month" | "monthly" => Ok(VolumePeriod::Month),
            other => Err(format!("'{other}' is not one of day, week, month")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn every_metric_name_round_trips_and_the_seed_short_forms_resolve() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(*m));
        }
        assert_eq!(
            Metric::from_name("error_rate"),
            Some(Metric::ErrorRatePercentage)
        );
        assert_eq!(Metric::from_name("nps"), Some(Metric::NpsScore));
        assert_eq!(Metric::from_name("made_up"), None);
    }

    #[test]
    fn kinds_check_range_and_integrality() {
        assert!(MetricKind::Nps.check(dec!(-100)).is_ok());
        assert!(MetricKind::Nps.check(dec!(12.5)).is_err());
        assert!(MetricKind::Percent.check(dec!(100.5)).is_err());
        assert!(MetricKind::Money.check(dec!(-1)).is_err());
        assert!(MetricKind::Count.check(dec!(3)).is_ok());
    }

    #[test]
    fn every_kind_stops_at_its_documented_maximum() {
        assert_eq!(MAX_MEASURED_VALUE, dec!(1_000_000_000_000));
        for kind in [
            MetricKind::Money,
            MetricKind::Count,
            MetricKind::Minutes,
            MetricKind::Hours,
            MetricKind::Days,
        ] {
            assert!(kind.check(MAX_MEASURED_VALUE).is_ok(), "{kind:?}");
            let beyond = kind.check(MAX_MEASURED_VALUE + Decimal::ONE).unwrap_err();
            assert!(beyond.contains("between 0 and 1000000000000"), "{beyond}");
        }
        // the poisoned form value of issue 13 is refused
        let huge: Decimal = "50000000000000000000000000000".parse().unwrap();
        assert!(MetricKind::Money.check(huge).is_err());
    }

    #[test]
    fn the_seed_sample_units_are_accepted() {
        assert!(
            Metric::ErrorRatePercentage
                .kind()
                .accepts_unit("percentage")
        );
        assert!(Metric::MonthlyLaborCost.kind().accepts_unit("USD"));
        assert!(Metric::AvgTaskCompletionTime.kind().accepts_unit("minutes"));
        assert!(!Metric::AvgTaskCompletionTime.kind().accepts_unit("USD"));
    }
}
