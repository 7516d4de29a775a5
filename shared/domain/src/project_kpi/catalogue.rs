//! The shipped KPI catalogue a project picks from (issue 18): seed 002's SaaS and product
//! metrics (MRR, ARR, CAC, LTV, LTV:CAC, churn, NPS, conversion, DAU/MAU, DAU and MAU as a
//! share of registered users, retention) and seed 001's consultancy metrics (project
//! profitability, utilisation, on-time delivery).
//! Each entry's `description` gives its formula and source. Picking a computed KPI brings
//! the KPIs its formula reads ([`pick`]); the project then sets baselines, targets and
//! zones.

use super::{Formula, KpiDefinition, KpiSource, KpiUnit, MeteredFigure};
use crate::metric::Direction::{self, HigherIsBetter as Up, LowerIsBetter as Down};

fn entry(
    name: &str,
    label: &str,
    unit: KpiUnit,
    direction: Direction,
    source: KpiSource,
    description: &str,
) -> KpiDefinition {
    KpiDefinition {
        name: name.into(),
        label: label.into(),
        unit,
        direction,
        baseline: None,
        target: None,
        zones: None,
        source,
        headline: false,
        description: description.into(),
    }
}

fn computed(text: &str) -> KpiSource {
    match Formula::parse(text) {
        Ok(formula) => KpiSource::Computed { formula },
        // The unit test `every_catalogue_entry_validates` keeps this arm unreachable.
        Err(_) => KpiSource::Measured,
    }
}

fn metered(figure: MeteredFigure) -> KpiSource {
    KpiSource::Metered { figure }
}

/// Every catalogue entry, inputs first.
pub fn catalogue() -> Vec<KpiDefinition> {
    use KpiSource::Measured;
    use KpiUnit::{Count, Hours, Percent, Ratio, Usd};
    vec![
        // Inputs, entered each period (seed 002 §2, seed 001 §3).
        entry(
            "mrr",
            "Monthly recurring revenue",
            Usd,
            Up,
            Measured,
            "Recurring revenue of the month, USD (seed 002, MRR).",
        ),
        entry(
            "new_customers",
            "New customers",
            Count,
            Up,
            Measured,
            "Customers won in the month.",
        ),
        entry(
            "sales_marketing_spend",
            "Sales and marketing spend",
            Usd,
            Down,
            Measured,
            "Sales and marketing cost of the month, USD.",
        ),
        entry(
            "arpu",
            "Average revenue per user",
            Usd,
            Up,
            Measured,
            "Average monthly revenue per paying customer, USD (seed 002, ARPU).",
        ),
        entry(
            "gross_margin",
            "Gross margin",
            Percent,
            Up,
            Measured,
            "Gross margin, percent of revenue.",
        ),
        entry(
            "customers_start",
            "Customers at the start of the month",
            Count,
            Up,
            Measured,
            "Paying customers on the month's first day.",
        ),
        entry(
            "customers_lost",
            "Customers lost",
            Count,
            Down,
            Measured,
            "Paying customers who left during the month.",
        ),
        entry(
            "promoters",
            "Promoters",
            Count,
            Up,
            Measured,
            "Survey answers of 9 or 10.",
        ),
        entry(
            "passives",
            "Passives",
            Count,
            Up,
            Measured,
            "Survey answers of 7 or 8.",
        ),
        entry(
            "detractors",
            "Detractors",
            Count,
            Down,
            Measured,
            "Survey answers of 0 to 6.",
        ),
        entry(
            "visitors",
            "Visitors",
            Count,
            Up,
            Measured,
            "Unique visitors or leads in the month.",
        ),
        entry(
            "conversions",
            "Conversions",
            Count,
            Up,
            Measured,
            "Visitors or leads who became customers.",
        ),
        entry(
            "contract_value",
            "Contract value",
            Usd,
            Up,
            Measured,
            "The project's contract value, USD (seed 001).",
        ),
        entry(
            "delivery_cost",
            "Delivery cost",
            Usd,
            Down,
            Measured,
            "Cost of delivering the project so far: staff time and expenses, USD (seed 001).",
        ),
        entry(
            "billable_hours",
            "Billable hours",
            Hours,
            Up,
            Measured,
            "Hours billed to clients in the period (seed 001).",
        ),
        entry(
            "available_hours",
            "Available hours",
            Hours,
            Up,
            Measured,
            "Hours the team could work in the period.",
        ),
        entry(
            "milestones_due",
            "Milestones due",
            Count,
            Up,
            Measured,
            "Milestones due in the period (seed 001).",
        ),
        entry(
            "milestones_on_time",
            "Milestones on time",
            Count,
            Up,
            Measured,
            "Milestones delivered by their due date.",
        ),
        entry(
            "registered_users",
            "Registered users",
            Count,
            Up,
            Measured,
            "Users with an account on the period's last day (seed 002).",
        ),
        // Metered from the events.
        entry(
            "dau",
            "Daily active users",
            Count,
            Up,
            metered(MeteredFigure::Dau),
            "Distinct users with an event on the period's last day (roll-ups).",
        ),
        entry(
            "mau",
            "Monthly active users",
            Count,
            Up,
            metered(MeteredFigure::Mau),
            "Distinct users with an event in the 30 days to the period's last day (roll-ups).",
        ),
        entry(
            "agent_success_rate",
            "Agent success rate",
            Percent,
            Up,
            metered(MeteredFigure::AgentSuccessRate),
            "Agent runs that succeeded, percent of runs in the period (agent.execution events).",
        ),
        entry(
            "ai_cost",
            "AI cost",
            Usd,
            Down,
            metered(MeteredFigure::AiCostUsd),
            "Priced AI usage of the period, USD (ai.usage events).",
        ),
        entry(
            "retention_d1",
            "Day-1 retention",
            Percent,
            Up,
            metered(MeteredFigure::RetentionD1),
            "Users active 1 day after their first day, percent of each cohort (session and feature events; seed 002).",
        ),
        entry(
            "retention_d7",
            "Day-7 retention",
            Percent,
            Up,
            metered(MeteredFigure::RetentionD7),
            "Users active 7 days after their first day, percent (seed 002).",
        ),
        entry(
            "retention_d30",
            "Day-30 retention",
            Percent,
            Up,
            metered(MeteredFigure::RetentionD30),
            "Users active 30 days after their first day, percent (seed 002).",
        ),
        entry(
            "retention_d90",
            "Day-90 retention",
            Percent,
            Up,
            metered(MeteredFigure::RetentionD90),
            "Users active 90 days after their first day, percent (seed 002).",
        ),
        // Computed (seed 002 §2, seed 001 §3).
        entry(
            "arr",
            "Annual recurring revenue",
            Usd,
            Up,
            computed("mrr * 12"),
            "ARR = MRR × 12 (seed 002).",
        ),
        entry(
            "cac",
            "Customer acquisition cost",
            Usd,
            Down,
            computed("sales_marketing_spend / new_customers"),
            "CAC = sales and marketing spend ÷ new customers (seed 002).",
        ),
        entry(
            "churn",
            "Customer churn",
            Percent,
            Down,
            computed("customers_lost / customers_start * 100"),
            "Churn = customers lost ÷ customers at the start × 100 (seed 002).",
        ),
        entry(
            "ltv",
            "Customer lifetime value",
            Usd,
            Up,
            computed("arpu * gross_margin / churn"),
            "LTV = ARPU × gross margin ÷ churn, both in percent (seed 002).",
        ),
        entry(
            "ltv_to_cac",
            "LTV:CAC",
            Ratio,
            Up,
            computed("ltv / cac"),
            "LTV ÷ CAC; 3 or more is healthy (seed 002).",
        ),
        entry(
            "nps",
            "Net Promoter Score",
            Count,
            Up,
            computed("(promoters - detractors) / (promoters + passives + detractors) * 100"),
            "NPS = (promoters − detractors) ÷ answers × 100, from −100 to 100 (seed 002).",
        ),
        entry(
            "conversion",
            "Conversion rate",
            Percent,
            Up,
            computed("conversions / visitors * 100"),
            "Conversions ÷ visitors × 100 (seed 002).",
        ),
        entry(
            "dau_mau",
            "DAU/MAU",
            Percent,
            Up,
            computed("dau / mau * 100"),
            "Stickiness: DAU ÷ MAU × 100 (seed 002).",
        ),
        entry(
            "dau_share",
            "DAU share of registered users",
            Percent,
            Up,
            computed("dau / registered_users * 100"),
            "DAU ÷ registered users × 100 (seed 002).",
        ),
        entry(
            "mau_share",
            "MAU share of registered users",
            Percent,
            Up,
            computed("mau / registered_users * 100"),
            "MAU ÷ registered users × 100 (seed 002).",
        ),
        entry(
            "project_profitability",
            "Project profitability",
            Percent,
            Up,
            computed("(contract_value - delivery_cost) / contract_value * 100"),
            "(Contract value − delivery cost) ÷ contract value × 100 (seed 001).",
        ),
        entry(
            "utilisation",
            "Utilisation",
            Percent,
            Up,
            computed("billable_hours / available_hours * 100"),
            "Billable hours ÷ available hours × 100 (seed 001).",
        ),
        entry(
            "on_time_delivery",
            "On-time delivery",
            Percent,
            Up,
            computed("milestones_on_time / milestones_due * 100"),
            "Milestones on time ÷ milestones due × 100 (seed 001).",
        ),
    ]
}

/// The catalogue entry `name` with every entry its formula reads (recursively), inputs
/// first; `None` for a name the catalogue does not have.
pub fn pick(name: &str) -> Option<Vec<KpiDefinition>> {
    let all = catalogue();
    let mut out: Vec<KpiDefinition> = Vec::new();
    fn add(name: &str, all: &[KpiDefinition], out: &mut Vec<KpiDefinition>) -> bool {
        if out.iter().any(|k| k.name == name) {
            return true;
        }
        let Some(k) = all.iter().find(|k| k.name == name) else {
            return false;
        };
        if let KpiSource::Computed { formula } = &k.source {
            for n in formula.names() {
                add(n, all, out);
            }
        }
        out.push(k.clone());
        true
    }
    add(name, &all, &mut out).then_some(out)
}
