//! Daily roll-ups of a client's raw events (issue 5; seed 004 FR-016.1 usage, FR-016.2
//! cost, FR-016.3 agent performance, FR-016.4 business impact).
//!
//! A roll-up covers one client-day (the client's time zone decides where a day starts: raw
//! events are partitioned by that day at ingestion). It holds sums and counts, the distinct
//! users, and DDSketch percentiles ([`Sketch`], 1 % relative error), so weeks, months and
//! quarters are [`Rollup::merge`]s of days, without raw events. Computing a day again from
//! the same events gives the same record; a late event changes it when the day is
//! recomputed.
//!
//! The model and the fold are `roi_domain::rollup` (re-exported here); this module reads
//! the raw events and the stored roll-ups around them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use roi_domain::ClientId;
use roi_domain::event::first_open_day;

pub use roi_domain::rollup::*;

use crate::store::{Store, StoreError};

/// Why roll-ups could not be computed or read.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// `from` is after `to`, or the span is longer than [`MAX_SPAN_DAYS`].
    #[error("{0}")]
    BadRange(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A figure of the roll-up of `what` (a client's day or period) would leave its range
    /// when summed: the stored figures are not ones events could produce. Nothing is
    /// written for it.
    #[error("the roll-up of {what}: {source}")]
    Overflow {
        /// The client and the day or period.
        what: String,
        /// The figure.
        source: SumOverflow,
    },
}

impl RollupError {
    fn overflow(
        client: &ClientId,
        span: impl std::fmt::Display,
    ) -> impl FnOnce(SumOverflow) -> Self {
        let what = format!("{client} {span}");
        move |source| Self::Overflow { what, source }
    }
}

/// The longest span rolled up or read in one call, days (a year and a bit: the 12-month ROI
/// period reads that many daily roll-ups).
pub const MAX_SPAN_DAYS: i64 = 400;

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), RollupError> {
    for day in [from, to] {
        roi_domain::dates::in_window(day).map_err(RollupError::BadRange)?;
    }
    if from > to {
        return Err(RollupError::BadRange(format!("{from} is after {to}")));
    }
    if (to - from).num_days() >= MAX_SPAN_DAYS {
        return Err(RollupError::BadRange(format!(
            "{from} to {to} spans more than {MAX_SPAN_DAYS} days"
        )));
    }
    Ok(())
}

/// Computes and stores the roll-ups of `client` for every day of `from..=to` that can
/// still be recomputed in full, in order, replacing stored ones, and records each day's
/// change marker (`Store::mark_days_changed`) as caught up. A day's events are read page
/// by page into a [`DayFold`] (memory grows with its distinct names, not its events). A day
/// rolled up from the table is archived first (`Store::put_day_archive`, when the store
/// has an archive), so no roll-up is stored without its events kept. A day before [`first_open_day`] of the client's
/// today is final in the table (its raw events may have expired): it is rolled up from
/// its archive when there is one, and otherwise skipped (and logged), never replaced by a
/// roll-up of fewer events. WAU and MAU
/// union the users of the day with those of the stored roll-ups of the 6 and 29 days
/// before it, so a backfill runs oldest day first. Each closed month with a day rolled up
/// is then restated once ([`restate_month`]).
///
/// # Errors
/// [`RollupError`].
pub async fn rollup_days(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Rollup>, RollupError> {
    let (out, closed_months) = rollup_days_deferring_months(store, client, from, to).await?;
    for month in closed_months {
        restate_month(store, client, month).await?;
    }
    Ok(out)
}

/// [`rollup_days`] without restating the closed months: returns, beside the roll-ups, the
/// first day of each closed month with a day rolled up, for a caller that rolls up several
/// ranges (the daily job, one changed day at a time) to restate each month once after
/// them all, rather than once per range.
///
/// # Errors
/// [`RollupError`].
pub async fn rollup_days_deferring_months(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<Rollup>, BTreeSet<NaiveDate>), RollupError> {
    check_range(from, to)?;
    let today = store.client_today(store.client(client).await?.as_ref());
    let first_open = first_open_day(today);
    if from < first_open && !store.archives() {
        tracing::warn!(
            client = %client,
            %from,
            until = %first_open.min(to + chrono::Days::new(1)),
            "days whose raw events may have expired are final and kept as stored"
        );
    }
    // Read before the events: an event written after this read marks its day again, and the
    // marker then stays for the next run (`Store::day_rolled_up` checks `changed_at`).
    let changed: BTreeMap<NaiveDate, crate::store::ChangedDay> = store
        .changed_days(client)
        .await?
        .into_iter()
        .map(|m| (m.day, m))
        .collect();
    let mut users_of: BTreeMap<NaiveDate, BTreeSet<String>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut closed_months = BTreeSet::new();
    let first = if store.archives() {
        from
    } else {
        from.max(first_open)
    };
    for day in first.iter_days().take_while(|d| *d <= to) {
        // Folded as read, page by page (archived first when read from the table), so a
        // day is never held whole (issue 19).
        let mut fold = DayFold::new(client.clone(), day);
        let mut batches: BTreeSet<String> = BTreeSet::new();
        // The first figure that would leave its range; the day is then not stored.
        let mut overflow = None;
        let mut take = |e: &FoldEvent<'_>| {
            if overflow.is_none()
                && let Err(o) = fold.add(e)
            {
                overflow = Some(o);
            }
            if let Some(c) = &e.correlation_id
                && !batches.contains(c.as_str())
            {
                batches.insert(c.as_str().to_owned());
            }
        };
        if day < first_open {
            let archived = store
                .each_archived_fold_event(client, day, |e| {
                    take(e);
                    Ok(())
                })
                .await?;
            if archived.is_none() {
                tracing::info!(client = %client, %day, "final and not archived: kept as stored");
                continue;
            }
        } else {
            let mut archive = store.day_archive();
            store
                .each_event_of_day(client, day, |e| {
                    take(&FoldEvent::from(&e));
                    match archive.as_mut() {
                        Some(a) => a.add(&e),
                        None => Ok(()),
                    }
                })
                .await?;
            if let Some(archive) = archive {
                store.put_day_archive(client, day, archive).await?;
            }
        }
        if let Some(o) = overflow {
            return Err(RollupError::overflow(client, day)(o));
        }
        let mut r = fold.finish();
        // The stored users of earlier days this run has not computed.
        for back in 1..30 {
            let d = day - chrono::Days::new(back);
            if let std::collections::btree_map::Entry::Vacant(slot) = users_of.entry(d) {
                slot.insert(store.rollup_users(client, d).await?.into_iter().collect());
            }
        }
        let distinct = |days: u64| {
            let first = day - chrono::Days::new(days - 1);
            let users: BTreeSet<&String> = users_of
                .range(first..day)
                .flat_map(|(_, u)| u)
                .chain(&r.users)
                .collect();
            users.len() as u64
        };
        (r.wau, r.mau) = (Some(distinct(7)), Some(distinct(30)));
        store.put_rollup(&r).await?;
        // Kept for the next days of the range only: the daily job's one day is not copied.
        if day < to {
            users_of.insert(day, r.users.clone());
        }
        if let Some(marker) = changed.get(&day) {
            store.day_rolled_up(client, marker).await?;
        }
        // The batches (correlation ids) the day's events came in, to follow one from
        // ingestion to here; at most 10 are named.
        let named: Vec<&str> = batches.iter().take(10).map(String::as_str).collect();
        tracing::info!(
            client = %client,
            %day,
            events = r.events,
            batches = batches.len(),
            correlation_ids = ?named,
            "day rolled up"
        );
        if month_end(day) < today {
            closed_months.insert(month_start(day));
        }
        out.push(r);
    }
    Ok((out, closed_months))
}

/// The first day of `day`'s month.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The last day of `day`'s month.
pub fn month_end(day: NaiveDate) -> NaiveDate {
    month_start(day)
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(day)
}

/// Writes (or restates) the monthly roll-up of the month starting `month` from its stored
/// daily roll-ups (issue 19: a 12-month report reads 12 items, not 365). Called for each
/// closed month whose day was rolled up; a month without a daily roll-up gets none.
/// Returns whether one was written.
///
/// # Errors
/// [`RollupError::Store`], or [`RollupError::Overflow`] when the month's figures leave
/// their range.
pub async fn restate_month(
    store: &Store,
    client: &ClientId,
    month: NaiveDate,
) -> Result<bool, RollupError> {
    let (first, last) = (month_start(month), month_end(month));
    let mut days = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        if let Some(r) = store.rollup(client, day).await? {
            days.push(r);
        }
    }
    let merged = merge_days(&days, first, last)
        .map_err(RollupError::overflow(client, month.format("%Y-%m")))?;
    let Some(merged) = merged else {
        return Ok(false);
    };
    store.put_monthly_rollup(&merged).await?;
    Ok(true)
}

/// The stored roll-ups of `from..=to` merged into one (days without a roll-up add
/// nothing), or `None` when no day has one: a whole month in the range is read as its
/// monthly roll-up when one is stored ([`restate_month`]), every other day as its daily
/// roll-up.
///
/// # Errors
/// [`RollupError`].
pub async fn period(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<Rollup>, RollupError> {
    check_range(from, to)?;
    let mut pieces = Vec::new();
    let mut day = from;
    while day <= to {
        let end = month_end(day);
        if day == month_start(day)
            && end <= to
            && let Some(m) = store.monthly_rollup(client, day).await?
        {
            pieces.push(m);
        } else {
            for d in day.iter_days().take_while(|d| *d <= end.min(to)) {
                if let Some(r) = store.rollup(client, d).await? {
                    pieces.push(r);
                }
            }
        }
        let Some(next) = end.succ_opt() else { break };
        day = next;
    }
    merge_days(&pieces, from, to).map_err(RollupError::overflow(
        client,
        format_args!("{from} to {to}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    /// Deterministic skewed values (log-uniform over 1 ms to 100 s), like latencies.
    fn latencies(n: usize) -> Vec<f64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                10f64.powf(5.0 * u)
            })
            .collect()
    }

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn capped_maps_keep_the_largest_and_their_total() {
        let mut counts: BTreeMap<String, u64> =
            (0..500u64).map(|i| (format!("f{i:03}"), i)).collect();
        let total: u64 = counts.values().sum();
        cap_counts(&mut counts, MAX_NAMED_ENTRIES);
        assert_eq!(counts.len(), MAX_NAMED_ENTRIES + 1);
        assert_eq!(counts.values().sum::<u64>(), total);
        assert!(counts.contains_key("f499") && !counts.contains_key("f000"));
        let mut groups: BTreeMap<String, UsageTotals> = (0..300u64)
            .map(|i| {
                let t = UsageTotals {
                    events: 1,
                    input_tokens: i,
                    cost_usd: Decimal::from(i),
                    ..UsageTotals::default()
                };
                (format!("u{i:03}"), t)
            })
            .collect();
        cap_groups(&mut groups, 10).unwrap();
        assert_eq!(groups.len(), 11);
        assert_eq!(groups[OTHER].events, 290);
        let cost: Decimal = groups.values().map(|t| t.cost_usd).sum();
        assert_eq!(cost, Decimal::from((0..300u64).sum::<u64>()));
        // a small map is left alone
        let mut few = BTreeMap::from([("a".to_owned(), 1u64)]);
        cap_counts(&mut few, MAX_NAMED_ENTRIES);
        assert_eq!(few.len(), 1);
    }

    #[test]
    fn sketch_percentiles_are_within_one_percent_of_exact_ones() {
        let values = latencies(100_000);
        let mut sketch = Sketch::new();
        values.iter().for_each(|v| sketch.add(*v));
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.5, 0.95, 0.99] {
            let (estimate, truth) = (sketch.quantile(q).unwrap(), exact(&sorted, q));
            let error = (estimate - truth).abs() / truth;
            assert!(error <= 0.01, "q{q}: {estimate} vs {truth} ({error:.4})");
        }
    }

    #[test]
    fn merged_sketches_answer_as_one_sketch_of_everything() {
        let values = latencies(20_000);
        let (mut a, mut b, mut whole) = (Sketch::new(), Sketch::new(), Sketch::new());
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 {
                a.add(*v)
            } else {
                b.add(*v)
            }
            whole.add(*v);
        }
        a.merge(&b);
        assert_eq!(a.count(), 20_000);
        for q in [0.5, 0.95, 0.99] {
            assert_eq!(a.quantile(q), whole.quantile(q));
        }
        // and a sketch survives its stored form
        let text = serde_json::to_string(&a).unwrap();
        let back: Sketch = serde_json::from_str(&text).unwrap();
        assert_eq!(back.quantile(0.95), a.quantile(0.95));
        assert_eq!(back.count(), a.count());
    }
}
