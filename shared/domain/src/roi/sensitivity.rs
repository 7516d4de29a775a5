//! Sensitivity (issue 16): how far ROI moves when one input is 10 % lower or higher, all
//! else equal, for the inputs that move it most.
//!
//! The inputs are the period's totals: each benefit component (the cost change, the revenue
//! increase × margin, each value line, all × attribution), each running cost line, and the
//! one-time investment. With V the value delivered and C the costs, ROI = (V − C) / C × 100;
//! a benefit component b moved by ±10 % gives (V ± 0.1 b − C) / C, a cost component c gives
//! (V − (C ± 0.1 c)) / (C ± 0.1 c). The swing of an input is |ROI₊ − ROI₋|.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RoiInputs;

/// The change applied to each input: 10 %.
pub const SWING: Decimal = Decimal::from_parts(1, 0, 0, false, 1);

/// How many inputs a calculation keeps: the five that move ROI most.
pub const TOP: usize = 5;

/// One input's effect on ROI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// The input, as people read it ("Labour time saved", "One-time investment").
    pub input: String,
    /// The input's total over the period, USD.
    pub total_usd: Decimal,
    /// ROI with the input 10 % lower, percent (rounded to hundredths).
    pub roi_if_lower_percentage: Decimal,
    /// ROI with the input 10 % higher, percent.
    pub roi_if_higher_percentage: Decimal,
}

/// The totals of a period by input: benefits and costs (USD), summed month by month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Components {
    benefits: BTreeMap<String, Decimal>,
    costs: BTreeMap<String, Decimal>,
}

impl Components {
    /// Adds one month of `inputs`, weighted by `share` (0–1). Components beyond the decimal
    /// range are left out rather than failing the calculation.
    pub fn add_month(&mut self, inputs: &RoiInputs, share: Decimal) {
        let a = inputs.attribution.fraction();
        let benefit = |v: Decimal| v.checked_mul(a).and_then(|v| v.checked_mul(share));
        let add = |map: &mut BTreeMap<String, Decimal>, name: &str, v: Option<Decimal>| {
            if let Some(v) = v.filter(|v| !v.is_zero()) {
                let slot = map.entry(name.to_owned()).or_default();
                *slot = slot.saturating_add(v);
            }
        };
        add(
            &mut self.benefits,
            "Cost change",
            inputs
                .baseline_total_monthly_cost
                .checked_sub(inputs.ongoing_total_monthly_cost)
                .and_then(benefit),
        );
        add(
            &mut self.benefits,
            "Revenue increase",
            inputs
                .monthly_revenue_increase
                .checked_mul(inputs.gross_margin.fraction())
                .and_then(benefit),
        );
        for l in &inputs.value_lines {
            add(&mut self.benefits, &l.name, benefit(l.monthly_usd.amount()));
        }
        for l in &inputs.running_cost_lines {
            let name = if l.name == crate::Metric::AiSolutionCost.name() {
                crate::Metric::AiSolutionCost.label()
            } else {
                l.name.as_str()
            };
            add(
                &mut self.costs,
                name,
                l.monthly_usd.amount().checked_mul(share),
            );
        }
    }

    /// Scales every component by `factor` (a run-rate month × N).
    pub fn scaled(mut self, factor: Decimal) -> Self {
        for v in self.benefits.values_mut().chain(self.costs.values_mut()) {
            *v = v.saturating_mul(factor);
        }
        self
    }

    /// The [`TOP`] inputs by swing, largest first, with `investment` as a cost input.
    /// Empty when the costs are zero.
    pub fn sensitivity(&self, investment: Decimal) -> Vec<Sensitivity> {
        let value = self
            .benefits
            .values()
            .fold(Decimal::ZERO, |a, b| a.saturating_add(*b));
        let costs = self
            .costs
            .values()
            .fold(investment, |a, b| a.saturating_add(*b));
        let roi = |v: Decimal, c: Decimal| {
            v.checked_sub(c)
                .and_then(|n| n.checked_div(c))
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
        };
        let mut out: Vec<Sensitivity> = Vec::new();
        let mut push = |name: &str, total: Decimal, is_cost: bool| {
            let delta = total.saturating_mul(SWING);
            let (lower, higher) = if is_cost {
                (
                    roi(value, costs.saturating_sub(delta)),
                    roi(value, costs.saturating_add(delta)),
                )
            } else {
                (
                    roi(value.saturating_sub(delta), costs),
                    roi(value.saturating_add(delta), costs),
                )
            };
            if let (Some(lower), Some(higher)) = (lower, higher) {
                out.push(Sensitivity {
                    input: name.to_owned(),
                    total_usd: crate::units::round_money(total),
                    roi_if_lower_percentage: crate::units::round_ratio(lower),
                    roi_if_higher_percentage: crate::units::round_ratio(higher),
                });
            }
        };
        if costs.is_zero() {
            return Vec::new();
        }
        for (name, total) in &self.benefits {
            push(name, *total, false);
        }
        for (name, total) in &self.costs {
            push(name, *total, true);
        }
        if !investment.is_zero() {
            push("One-time investment", investment, true);
        }
        out.sort_by(|a, b| {
            let swing = |s: &Sensitivity| {
                s.roi_if_higher_percentage
                    .saturating_sub(s.roi_if_lower_percentage)
                    .abs()
            };
            swing(b).cmp(&swing(a)).then_with(|| a.input.cmp(&b.input))
        });
        out.truncate(TOP);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roi::MonthlyLine;
    use crate::units::{Money, Percentage};
    use rust_decimal_macros::dec;

    #[test]
    fn each_input_moves_roi_as_worked_by_hand_and_the_largest_swing_comes_first() {
        // one month: cost change 6,000, revenue 4,000 × 50 %, a value line 500; AI 1,000
        let inputs = RoiInputs {
            months: 1,
            one_time_investment: Money::try_from(dec!(9000)).unwrap(),
            baseline_total_monthly_cost: dec!(20000),
            ongoing_total_monthly_cost: dec!(14000),
            monthly_revenue_increase: dec!(4000),
            gross_margin: Percentage::try_from(dec!(50)).unwrap(),
            value_lines: vec![MonthlyLine {
                name: "Errors avoided".into(),
                monthly_usd: Money::try_from(dec!(500)).unwrap(),
            }],
            running_cost_lines: vec![MonthlyLine {
                name: "ai_solution_cost".into(),
                monthly_usd: Money::try_from(dec!(1000)).unwrap(),
            }],
            attribution: Percentage::HUNDRED,
        };
        let mut c = Components::default();
        c.add_month(&inputs, Decimal::ONE);
        // V = 8,500; C = 10,000; ROI = −15 %
        let s = c.sensitivity(dec!(9000));
        assert_eq!(s.len(), 5);
        // investment ±900: (8,500 − 9,100) / 9,100 = −6.59 %; (8,500 − 10,900) / 10,900 = −22.02 %
        assert_eq!(s[0].input, "One-time investment");
        assert_eq!(s[0].roi_if_lower_percentage, dec!(-6.59));
        assert_eq!(s[0].roi_if_higher_percentage, dec!(-22.02));
        // cost change ±600: −21 % / −9 %
        assert_eq!(s[1].input, "Cost change");
        assert_eq!(s[1].roi_if_lower_percentage, dec!(-21.00));
        assert_eq!(s[1].roi_if_higher_percentage, dec!(-9.00));
        assert_eq!(s[2].input, "Revenue increase");
        assert_eq!(s[2].total_usd, dec!(2000.00));
        assert_eq!(s[3].input, "AI solution cost per month");
        assert_eq!(s[4].input, "Errors avoided");
        // a run rate of 3 months triples every total
        let three = c.clone().scaled(dec!(3));
        let cost_change = three
            .sensitivity(dec!(9000))
            .into_iter()
            .find(|s| s.input == "Cost change")
            .unwrap();
        assert_eq!(cost_change.total_usd, dec!(18000.00));
    }
}
