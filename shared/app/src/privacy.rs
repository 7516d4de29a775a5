//! The data lifecycle (issue 20). So far: moving stored legacy user hashes to keyed
//! pseudonyms ([`crate::pseudonym`]) in place.

use chrono::Days;
use roi_domain::event::EVENT_TTL_DAYS;
use roi_domain::{Client, ClientId};
use serde::Serialize;

use crate::pseudonym::{PseudonymKey, is_legacy};
use crate::store::{Store, StoreError};

/// The longest history scanned for roll-ups, days (before the client's earliest go-live
/// nothing is rolled up).
pub const MAX_HISTORY_DAYS: u64 = 3_660;

/// What a migration changed for one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Migrated {
    /// The client.
    pub client_id: String,
    /// Raw events whose user was rekeyed.
    pub events: usize,
    /// Daily roll-ups whose user sets or per-user usage were rekeyed.
    pub rollup_days: usize,
    /// Users rekeyed in those roll-ups (counted once per day).
    pub rollup_users: usize,
}

/// Rekeys `client`'s stored legacy user hashes: the raw events still kept (their last
/// [`EVENT_TTL_DAYS`] days) and every daily roll-up since its earliest go-live (its user
/// set and its per-user usage). Distinct users stay distinct and the same user keeps one
/// pseudonym across old and new days, so DAU/WAU/MAU and retention are continuous (the
/// days whose events changed are marked changed, so the next scheduled run restates their
/// WAU and MAU). Keyed pseudonyms are left as they are, so running it again changes nothing.
///
/// # Errors
/// [`StoreError`]; what was rekeyed before the failure stays rekeyed, and a rerun finishes.
pub async fn migrate_pseudonyms(store: &Store, client: &Client) -> Result<Migrated, StoreError> {
    let key = store.pseudonym_key().await?;
    let today = store.client_today(Some(client));
    let mut done = Migrated {
        client_id: client.id.to_string(),
        ..Migrated::default()
    };
    for back in 0..=EVENT_TTL_DAYS {
        let Some(day) = today.checked_sub_days(Days::new(back as u64)) else {
            break;
        };
        let legacy = store
            .events_of_day(&client.id, day)
            .await?
            .iter()
            .any(|e| e.data.attribution().user.is_some_and(is_legacy));
        if !legacy {
            continue;
        }
        // marked first: the next scheduled run restates the day's WAU and MAU over the
        // rekeyed user sets, even when this run stops before the end
        store
            .mark_days_changed(&client.id, &std::collections::BTreeSet::from([day]))
            .await?;
        done.events += store
            .rewrite_events_of_day(&client.id, day, |e| {
                let Some(user) = e.data.user_mut() else {
                    return false;
                };
                if !is_legacy(user) {
                    return false;
                }
                *user = key.rekey(user);
                true
            })
            .await?;
    }
    let first = store
        .projects_of(&client.id)
        .await?
        .iter()
        .map(|p| p.go_live_date)
        .min()
        .unwrap_or(today)
        .max(today - Days::new(MAX_HISTORY_DAYS));
    for day in first.iter_days().take_while(|d| *d <= today) {
        if let Some(users) = rekey_rollup(store, &key, &client.id, day).await? {
            done.rollup_days += 1;
            done.rollup_users += users;
        }
    }
    tracing::info!(client = %client.id, events = done.events, rollup_days = done.rollup_days, "pseudonyms migrated");
    Ok(done)
}

/// Rekeys one stored roll-up; the users rekeyed, or `None` when it had no legacy hash.
async fn rekey_rollup(
    store: &Store,
    key: &PseudonymKey,
    client: &ClientId,
    day: chrono::NaiveDate,
) -> Result<Option<usize>, StoreError> {
    let Some(mut r) = store.rollup(client, day).await? else {
        return Ok(None);
    };
    let legacy = r.users.iter().filter(|u| is_legacy(u)).count();
    let by_user =
        r.by.get("user")
            .is_some_and(|g| g.keys().any(|u| is_legacy(u)));
    if legacy == 0 && !by_user {
        return Ok(None);
    }
    r.users = r
        .users
        .into_iter()
        .map(|u| if is_legacy(&u) { key.rekey(&u) } else { u })
        .collect();
    if let Some(groups) = r.by.remove("user") {
        let rekeyed = groups
            .into_iter()
            .map(|(u, t)| (if is_legacy(&u) { key.rekey(&u) } else { u }, t))
            .collect();
        r.by.insert("user".into(), rekeyed);
    }
    store.put_rollup(&r).await?;
    Ok(Some(legacy))
}
