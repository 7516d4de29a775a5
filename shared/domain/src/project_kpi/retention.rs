//! Day-N retention from daily active-user sets (issue 18; seed 002's D1/D7/D30/D90).
//!
//! A user's cohort is the first day they are seen in the sets given (their first-seen day,
//! by the user hash of session and feature events). Day-N retention is, over every cohort
//! whose day N lies within the sets' span, the users active again exactly N days after
//! their first day, as a percent of the cohort's users:
//!
//! retention(N) = Σ_cohorts |{u ∈ cohort(d) : u active on d + N}| ÷ Σ_cohorts |cohort(d)| × 100
//!
//! Users first seen on the span's first day may have been seen before it; cohorts are only
//! as complete as the span the sets cover.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

/// Day-`n` retention, percent (0–100, exact), over the users active on each day; `None`
/// when no cohort has its day `n` within the span, or the cohorts are empty.
pub fn retention(active: &BTreeMap<NaiveDate, BTreeSet<String>>, n: u32) -> Option<Decimal> {
    let last = *active.keys().next_back()?;
    let mut seen: HashSet<&str> = HashSet::new();
    let (mut cohort_users, mut retained) = (0u64, 0u64);
    for (day, users) in active {
        let cohort: Vec<&str> = users
            .iter()
            .map(String::as_str)
            .filter(|u| seen.insert(u))
            .collect();
        let Some(back) = day.checked_add_days(Days::new(u64::from(n))) else {
            continue;
        };
        if back > last {
            continue;
        }
        cohort_users += cohort.len() as u64;
        if let Some(later) = active.get(&back) {
            retained += cohort.iter().filter(|u| later.contains(**u)).count() as u64;
        }
    }
    (cohort_users > 0)
        .then(|| Decimal::from(retained) * Decimal::ONE_HUNDRED / Decimal::from(cohort_users))
}
