//! KPI thresholds and the alert levels they give (seed 003 "Performance Targets &
//! Thresholds" and "Alert Categories"; seed 002 green / yellow / red zones; seed 004
//! FR-016.2 budget alerts per department).
//!
//! A [`Thresholds`] value holds every limit; its `Default` is seed 003's table. A client's
//! settings override any of them. [`evaluate`] turns one observed value into a [`Signal`]
//! (critical, warning, success, or nothing), naming the limit it crossed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

/// How serious a signal is (seed 003: critical, warning, success notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A target met or beaten.
    Success,
    /// Outside the comfortable range (seed 002 yellow).
    Warning,
    /// Act now (seed 002 red).
    Critical,
}

/// The KPIs watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    /// A project's ROI, percent (latest calculation).
    RoiPercentage,
    /// Agent runs that failed or timed out yesterday, percent of runs.
    ErrorRate,
    /// System uptime, percent (latest measurement).
    SystemUptime,
    /// User adoption rate, percent (latest measurement).
    FeatureAdoption,
    /// An agent's p95 run time yesterday, ms.
    LatencyP95,
    /// A department's AI cost this month, percent of its monthly budget.
    DepartmentBudget,
    /// A provider's metered cost against its cost report, |variance| percent of the
    /// invoiced cost, on the latest reconciled day (issue 17).
    CostVariance,
    /// `ai.usage` events of one model on one day that the price table does not list, so
    /// their cost is unknown (issue 17); the scope names the model and the day.
    UnpricedEvents,
    /// One of a project's own KPIs with zones (issue 18), in its unit; the scope is
    /// `{project}/{kpi}`. Its limits are its zones: warning in the yellow zone, critical in
    /// the red one.
    ProjectKpi,
}

impl Kpi {
    /// Every KPI.
    pub const ALL: [Kpi; 9] = [
        Kpi::RoiPercentage,
        Kpi::ErrorRate,
        Kpi::SystemUptime,
        Kpi::FeatureAdoption,
        Kpi::LatencyP95,
        Kpi::DepartmentBudget,
        Kpi::CostVariance,
        Kpi::UnpricedEvents,
        Kpi::ProjectKpi,
    ];

    /// The KPI whose [`Kpi::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Kpi> {
        Kpi::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What people read: "ROI", "Agent error rate", …
    pub fn label(self) -> &'static str {
        match self {
            Self::RoiPercentage => "ROI",
            Self::ErrorRate => "Agent error rate",
            Self::SystemUptime => "System uptime",
            Self::FeatureAdoption => "User adoption",
            Self::LatencyP95 => "p95 run time",
            Self::DepartmentBudget => "AI budget used",
            Self::CostVariance => "Metered cost against the provider's bill",
            Self::UnpricedEvents => "Usage events without a price",
            Self::ProjectKpi => "Project KPI",
        }
    }

    /// `value` with the KPI's unit: `96.49 %`, `1,250 ms`.
    pub fn show(self, value: Decimal) -> String {
        let number = crate::units::grouped(value.normalize());
        match self {
            Self::LatencyP95 => format!("{number} ms"),
            Self::UnpricedEvents => format!("{number} events"),
            Self::ProjectKpi => number,
            _ => format!("{number} %"),
        }
    }

    /// Whether a still-firing alert is repeated (every `alert_repeat_minutes`). Unpriced
    /// events are named once per model and day: their scope is the day.
    pub fn repeats(self) -> bool {
        self != Self::UnpricedEvents
    }

    /// The rule's name in alert keys and webhook payloads.
    pub fn name(self) -> &'static str {
        match self {
            Self::RoiPercentage => "roi_percentage",
            Self::ErrorRate => "error_rate",
            Self::SystemUptime => "system_uptime",
            Self::FeatureAdoption => "feature_adoption",
            Self::LatencyP95 => "latency_p95",
            Self::DepartmentBudget => "department_budget",
            Self::CostVariance => "cost_variance",
            Self::UnpricedEvents => "unpriced_events",
            Self::ProjectKpi => "project_kpi",
        }
    }
}

/// The largest limit in size, 10¹².
const MAX_LIMIT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Limits of one KPI. For a KPI where higher is better, `critical` and `warning` are lower
/// limits and `success` an upper one; where lower is better, the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Critical beyond this.
    pub critical: Decimal,
    /// Warning beyond this.
    pub warning: Decimal,
    /// Success notification beyond this, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Decimal>,
    /// Whether higher values are better.
    pub higher_is_better: bool,
}

impl Limits {
    /// Checks the limits' order: where higher is better, critical ≤ warning < success;
    /// where lower is better, critical ≥ warning > success. Each within ±10¹².
    ///
    /// # Errors
    /// The reason, in words.
    pub fn check(&self) -> Result<(), String> {
        let bound = Decimal::from(1_000_000_000_000i64);
        for v in [Some(self.critical), Some(self.warning), self.success]
            .into_iter()
            .flatten()
        {
            if v.abs() > bound {
                return Err(format!("{v} is beyond ±10^12"));
            }
        }
        let (outer, inner) = if self.higher_is_better {
            (
                self.critical <= self.warning,
                "critical must not be above warning",
            )
        } else {
            (
                self.critical >= self.warning,
                "critical must not be below warning",
            )
        };
        if !outer {
            return Err(inner.into());
        }
        if let Some(s) = self.success {
            let ok = if self.higher_is_better {
                s > self.warning
            } else {
                s < self.warning
            };
            if !ok {
                return Err(if self.higher_is_better {
                    "success must be above warning".into()
                } else {
                    "success must be below warning".into()
                });
            }
        }
        Ok(())
    }
}

/// Every limit. `Default` is seed 003's table with a ROI limit for every client (below 0 %
/// after payback); a client overrides fields in its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// ROI %: by default critical < 0 once the project is past its payback; seed 003's
    /// critical < 200, warning < 500, success > 710 in [`Thresholds::seed_003`].
    pub roi_percentage: Limits,
    /// Error rate %: warning > 2, critical > 5, success < 1 (seed 003).
    pub error_rate: Limits,
    /// Uptime %: warning < 99.5, critical < 99, success > 99.9 (seed 003).
    pub system_uptime: Limits,
    /// Adoption %: warning < 60, critical < 40, success > 80 (seed 003 "Feature Adoption").
    pub feature_adoption: Limits,
    /// Agent p95 ms: warning > 3,000, critical > 5,000, success < 2,000 (seed 003 "Coaching
    /// Analysis", the slowest of its AI operations).
    pub latency_p95_ms: Limits,
    /// Budget used this month, %: warning > 80, critical > 100 (seed 004 FR-016.2 budget
    /// alerts; the 80 % early warning is ours).
    pub department_budget: Limits,
    /// Monthly AI budget per department, USD (seed 004 US-016.2.2); none by default.
    pub department_budgets_usd: BTreeMap<String, Decimal>,
    /// |Metered − invoiced| ÷ invoiced, %: warning > 1 (the reconciliation's tolerance,
    /// issue 17), critical > 5.
    pub cost_variance: Limits,
    /// Unpriced `ai.usage` events of a model in a day: warning > 0, critical > 1,000.
    pub unpriced_events: Limits,
}

impl Default for Thresholds {
    /// Seed 003's table, except ROI: critical below 0 %, and only once the project is past
    /// its payback (see `roi_app::alerts::observe`), so a healthy project that is still
    /// paying back raises nothing (issue 16). [`Thresholds::seed_003`] keeps the seed's ROI
    /// limits as a preset.
    fn default() -> Self {
        Self {
            roi_percentage: Limits {
                critical: Decimal::ZERO,
                warning: Decimal::ZERO,
                success: None,
                higher_is_better: true,
            },
            ..Self::seed_003()
        }
    }
}

impl Thresholds {
    /// Seed 003's table as written for one platform targeting 710 % ROI: ROI critical below
    /// 200 %, warning below 500 %, success above 710 %; a preset to put in a client's
    /// settings.
    pub fn seed_003() -> Self {
        let lower = |critical, warning, success| Limits {
            critical,
            warning,
            success: Some(success),
            higher_is_better: false,
        };
        let higher = |critical, warning, success| Limits {
            critical,
            warning,
            success: Some(success),
            higher_is_better: true,
        };
        Self {
            roi_percentage: higher(dec!(200), dec!(500), dec!(710)),
            error_rate: lower(dec!(5), dec!(2), dec!(1)),
            system_uptime: higher(dec!(99), dec!(99.5), dec!(99.9)),
            feature_adoption: higher(dec!(40), dec!(60), dec!(80)),
            latency_p95_ms: lower(dec!(5000), dec!(3000), dec!(2000)),
            department_budget: Limits {
                critical: dec!(100),
                warning: dec!(80),
                success: None,
                higher_is_better: false,
            },
            department_budgets_usd: BTreeMap::new(),
            cost_variance: Limits {
                critical: dec!(5),
                warning: dec!(1),
                success: None,
                higher_is_better: false,
            },
            unpriced_events: Limits {
                critical: dec!(1000),
                warning: Decimal::ZERO,
                success: None,
                higher_is_better: false,
            },
        }
    }

    /// The limits of `kpi`.
    pub fn limits(&self, kpi: Kpi) -> Limits {
        match kpi {
            Kpi::RoiPercentage => self.roi_percentage,
            Kpi::ErrorRate => self.error_rate,
            Kpi::SystemUptime => self.system_uptime,
            Kpi::FeatureAdoption => self.feature_adoption,
            Kpi::LatencyP95 => self.latency_p95_ms,
            Kpi::DepartmentBudget => self.department_budget,
            Kpi::CostVariance => self.cost_variance,
            Kpi::UnpricedEvents => self.unpriced_events,
            // observed only with limits of their own (their zones): never from these
            Kpi::ProjectKpi => Limits {
                critical: -MAX_LIMIT,
                warning: -MAX_LIMIT,
                success: None,
                higher_is_better: true,
            },
        }
    }
}

/// One KPI value out of its comfortable range, or beating its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// Which KPI.
    pub kpi: Kpi,
    /// What it is about: a project id, an agent, a department, or `client`.
    pub scope: String,
    /// How serious.
    pub level: Level,
    /// The observed value, in the KPI's unit.
    pub value: Decimal,
    /// The limit crossed.
    pub limit: Decimal,
    /// Whether higher values are better (so a critical value is *below* its limit).
    #[serde(default)]
    pub higher_is_better: bool,
}

impl Signal {
    /// A sentence for people, with the KPI's label and unit and which side of the limit
    /// the value is: "Agent error rate of ticket-triage is 6.2 %, above the critical limit
    /// of 5 %", "ROI of acme-bot is 96.49 %, below the warning limit of 100 %".
    pub fn message(&self) -> String {
        let (side, beaten) = if self.higher_is_better {
            ("below", "above")
        } else {
            ("above", "below")
        };
        let what = match self.level {
            Level::Critical => format!("{side} the critical limit of"),
            Level::Warning => format!("{side} the warning limit of"),
            Level::Success => format!("{beaten} the target of"),
        };
        format!(
            "{} of {} is {}, {what} {}",
            self.kpi.label(),
            self.scope,
            self.kpi.show(self.value),
            self.kpi.show(self.limit)
        )
    }
}

/// The signal `value` of `kpi` gives under `limits`, or `None` inside the comfortable range.
pub fn evaluate(kpi: Kpi, scope: &str, value: Decimal, limits: Limits) -> Option<Signal> {
    let beyond = |limit: Decimal| {
        if limits.higher_is_better {
            value < limit
        } else {
            value > limit
        }
    };
    let better = |limit: Decimal| {
        if limits.higher_is_better {
            value > limit
        } else {
            value < limit
        }
    };
    let (level, limit) = if beyond(limits.critical) {
        (Level::Critical, limits.critical)
    } else if beyond(limits.warning) {
        (Level::Warning, limits.warning)
    } else {
        match limits.success {
            Some(target) if better(target) => (Level::Success, target),
            _ => return None,
        }
    };
    Some(Signal {
        kpi,
        scope: scope.to_owned(),
        level,
        value,
        limit,
        higher_is_better: limits.higher_is_better,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_a_negative_roi_is_an_alert() {
        let t = Thresholds::default();
        let level = |v| evaluate(Kpi::RoiPercentage, "p", v, t.roi_percentage).map(|s| s.level);
        assert_eq!(level(dec!(-0.01)), Some(Level::Critical));
        assert_eq!(level(dec!(0)), None);
        assert_eq!(level(dec!(96.49)), None);
        assert_eq!(level(dec!(5000)), None);
        assert_eq!(t.error_rate, Thresholds::seed_003().error_rate);
    }

    #[test]
    fn seed_003s_table_gives_each_zone() {
        let t = Thresholds::seed_003();
        let level = |kpi, v| evaluate(kpi, "p", v, t.limits(kpi)).map(|s| s.level);
        assert_eq!(level(Kpi::RoiPercentage, dec!(150)), Some(Level::Critical));
        assert_eq!(level(Kpi::RoiPercentage, dec!(450)), Some(Level::Warning));
        assert_eq!(level(Kpi::RoiPercentage, dec!(600)), None);
        assert_eq!(level(Kpi::RoiPercentage, dec!(800)), Some(Level::Success));
        assert_eq!(level(Kpi::ErrorRate, dec!(5.1)), Some(Level::Critical));
        assert_eq!(level(Kpi::ErrorRate, dec!(2.5)), Some(Level::Warning));
        assert_eq!(level(Kpi::ErrorRate, dec!(1.5)), None);
        assert_eq!(level(Kpi::ErrorRate, dec!(0.5)), Some(Level::Success));
        assert_eq!(level(Kpi::SystemUptime, dec!(98.9)), Some(Level::Critical));
        assert_eq!(level(Kpi::SystemUptime, dec!(99.4)), Some(Level::Warning));
        assert_eq!(level(Kpi::FeatureAdoption, dec!(39)), Some(Level::Critical));
        assert_eq!(level(Kpi::LatencyP95, dec!(3500)), Some(Level::Warning));
        assert_eq!(
            level(Kpi::DepartmentBudget, dec!(101)),
            Some(Level::Critical)
        );
        assert_eq!(
            level(Kpi::DepartmentBudget, dec!(50)),
            None,
            "no success level"
        );
    }

    #[test]
    fn a_client_overrides_one_limit_and_keeps_the_rest() {
        let t: Thresholds = serde_json::from_str(
            r#"{"error_rate": {"critical": "10", "warning": "4", "higher_is_better": false}}"#,
        )
        .unwrap();
        assert_eq!(
            evaluate(Kpi::ErrorRate, "p", dec!(6), t.error_rate).map(|s| s.level),
            Some(Level::Warning)
        );
        assert_eq!(t.roi_percentage, Thresholds::default().roi_percentage);
        let s = evaluate(Kpi::ErrorRate, "triage", dec!(12.50), t.error_rate).unwrap();
        assert_eq!(
            s.message(),
            "Agent error rate of triage is 12.5 %, above the critical limit of 10 %"
        );
        let roi = evaluate(
            Kpi::RoiPercentage,
            "acme-bot",
            dec!(96.49),
            Thresholds::seed_003().roi_percentage,
        )
        .unwrap();
        assert_eq!(
            roi.message(),
            "ROI of acme-bot is 96.49 %, below the critical limit of 200 %"
        );
        assert_eq!(Kpi::from_name("latency_p95"), Some(Kpi::LatencyP95));
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_shipped_limits_are_in_order_and_a_reversed_pair_is_refused() {
        for t in [Thresholds::default(), Thresholds::seed_003()] {
            let all = serde_json::to_value(&t).unwrap();
            for (name, v) in all.as_object().unwrap() {
                if let Ok(l) = serde_json::from_value::<Limits>(v.clone()) {
                    assert_eq!(l.check(), Ok(()), "{name}");
                }
            }
        }
        let reversed = Limits {
            critical: dec!(2),
            warning: dec!(5),
            success: None,
            higher_is_better: false,
        };
        assert_eq!(
            reversed.check(),
            Err("critical must not be below warning".into())
        );
        let success_inside = Limits {
            critical: dec!(40),
            warning: dec!(60),
            success: Some(dec!(50)),
            higher_is_better: true,
        };
        assert!(success_inside.check().unwrap_err().contains("success"));
    }
}
