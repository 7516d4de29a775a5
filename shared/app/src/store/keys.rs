//! The key table (ARCHITECTURE.md, "Key design"): the only code that formats a partition
//! key (pk) or a sort key (sk). Every key is deterministic, so every write is a safe retry.
//!
//! | record | pk | sk |
//! |---|---|---|
//! | client | `CLIENT#{client}` | `PROFILE` |
//! | client listing | `CLIENTS` | `CLIENT#{client}` |
//! | client settings | `CLIENT#{client}` | `SETTINGS` |
//! | negotiated prices | `CLIENT#{client}` | `PRICES` |
//! | project | `PROJECT#{project}` | `PROFILE` |
//! | project listing | `CLIENT#{client}` | `PROJECT#{project}` |
//! | metric snapshot | `PROJECT#{project}` | `SNAPSHOT#{date}#{kind}#{id}` |
//! | idempotency record | `PROJECT#{project}` | `IDEMPOTENCY#{sha256(key)}` (TTL 90 days) |
//! | ROI calculation | `PROJECT#{project}` | `ROI#{as_of}#{months:03}m` |
//! | project insights | `PROJECT#{project}` | `INSIGHTS#{as_of}` |
//! | reminder sent | `PROJECT#{project}` | `REMINDER#{due}#{kind}` |
//! | report version | `PROJECT#{project}` | `REPORT#{kind}#{period}#v{version:03}` |
//! | report link | `REPORTLINK#{link id}` | `LINK` (TTL: the link's expiry) |
//! | report link listing | `PROJECT#{project}` | `REPORTLINK#{link id}` (TTL: the link's expiry) |
//! | alert state | `CLIENT#{client}` | `ALERT#{rule}#{scope}` |
//! | alert notice claim | `CLIENT#{client}` | `NOTICE#{first 128 bits of sha256(rule, scope, status, level, previous notice)}` (TTL 90 days) |
//! | changed client-day | `CLIENT#{client}` | `CHANGED#{day}` (TTL 90 days) |
//! | erasure under way | `CLIENT#{client}` | `ERASING#{pseudonym}` (deleted when the erasure ends) |
//! | audit archive head | `CLIENT#{client}` | `AUDITHEAD` |
//! | audit entry | `AUDIT#{client}#{YYYY-MM}` | `{time, µs}#{first 48 bits of sha256(entry)}` |
//! | API key | `APIKEY#{sha256(key)}` | `KEY` |
//! | API key listing | `CLIENT#{client}` | `APIKEY#{key id}` |
//! | rate counter | `RATE#{key id}` | `{YYYY-MM-DDTHH:MM}` (TTL 3 minutes) |
//! | raw event | `EVENTS#{client}#{day}#{shard}` | `{time, ms}#{event id}` (TTL 90 days) |
//! | event identity claim | `EVENTID#{client}#{event id}` | `ID` (TTL 90 days) |
//! | reconciled day | `CLIENT#{client}` | `RECONCILED#{day}#{provider}` |
//! | invoiced cost | `INVOICED#{client}` | `{day}#{provider}#{first 64 bits of sha256(line)}` |
//! | sign-in claim | `SIGNIN#{nonce}` | `CLAIM` (TTL: the link's expiry) |
//! | operator session | `SESSION#{session id}` | `SESSION` (TTL: the session's expiry) |
//! | dashboard link | `DASHLINK#{link id}` | `LINK` (TTL: the link's expiry) |
//! | dashboard link listing | `CLIENT#{client}` | `DASHLINK#{link id}` (TTL: the link's expiry) |
//! | project summary | `PORTFOLIO` | `{client}#{project}` |
//! | form link | `FORMLINK#{nonce}` | `LINK` (TTL: the link's expiry) |
//! | form link listing | `PROJECT#{project}` | `FORMLINK#{nonce}` (TTL: the link's expiry) |
//! | KPI definitions | `PROJECT#{project}` | `KPIS` |
//! | KPI value | `PROJECT#{project}` | `KPIVAL#{kpi}#{date}` |
//! | daily roll-up | `ROLLUP#{client}#{day}` | `CURRENT` (the generation in force), then per generation `G{id}#` + `SUMMARY`, `USERS#{n:03}`, `usage#{dimension}#{value}`, `agent#{agent}`, `project#{project}` (a name over 200 bytes as `~{hash}`: [`group`]) |
//! | monthly roll-up | `ROLLUP#{client}#{YYYY-MM}` | `CURRENT`, then its generations' items as a day's (a closed month's days merged) |
//!
//! A project's own record sits in its partition so that `--project P` needs no client; the
//! listing item under the client lets a client's projects be listed with one query.
//! `tests` below checks every record kind against this table.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use roi_domain::event::EventKey;
use roi_domain::{ClientId, MetricSnapshot, ProjectId};
use sha2::{Digest, Sha256};

/// The partition listing every client.
pub const CLIENTS: &str = "CLIENTS";
/// The sort key of a client's or project's own record.
pub const PROFILE: &str = "PROFILE";
/// The sort key of a client's settings.
pub const SETTINGS: &str = "SETTINGS";
/// The sort key of a client's negotiated prices.
pub const PRICES: &str = "PRICES";
/// The sort key of an API key's hash record.
pub const API_KEY: &str = "KEY";
/// The sort key of a report link's record.
pub const LINK: &str = "LINK";
/// The sort key of an event identity claim.
pub const EVENT_CLAIM: &str = "ID";
/// The sort key of a sign-in claim.
pub const CLAIM: &str = "CLAIM";
/// The sort key of a session.
pub const SESSION: &str = "SESSION";
/// The partition of every project's summary.
pub const PORTFOLIO: &str = "PORTFOLIO";
/// The sort key naming a roll-up day's generation in force.
pub const CURRENT: &str = "CURRENT";
/// A project's KPI definitions, under its partition.
pub const KPIS: &str = "KPIS";
/// `AUDITHEAD`: a client's last sealed audit batch, under its partition.
pub const AUDIT_HEAD: &str = "AUDITHEAD";

/// Sort-key prefixes, for queries over one kind of record in a partition.
pub mod prefix {
    /// Client listing items under [`super::CLIENTS`].
    pub const CLIENT: &str = "CLIENT#";
    /// Project listing items under a client.
    pub const PROJECT: &str = "PROJECT#";
    /// Metric snapshots under a project.
    pub const SNAPSHOT: &str = "SNAPSHOT#";
    /// ROI calculations under a project.
    pub const ROI: &str = "ROI#";
    /// Insights under a project.
    pub const INSIGHTS: &str = "INSIGHTS#";
    /// Alert states under a client.
    pub const ALERT: &str = "ALERT#";
    /// API key listing items under a client.
    pub const API_KEY: &str = "APIKEY#";
    /// Changed-day markers under a client.
    pub const CHANGED: &str = "CHANGED#";
    /// Erasures under way under a client.
    pub const ERASING: &str = "ERASING#";
    /// Report versions under a project.
    pub const REPORT: &str = "REPORT#";
    /// Reconciled days under a client.
    pub const RECONCILED: &str = "RECONCILED#";
    /// Console-made form link listing items under a project.
    pub const FORM_LINK: &str = "FORMLINK#";
    /// Dashboard link listing items under a client.
    pub const DASHBOARD_LINK: &str = "DASHLINK#";
    /// Report link listing items under a project.
    pub const REPORT_LINK: &str = "REPORTLINK#";
    /// Measured KPI values under a project.
    pub const KPI_VALUE: &str = "KPIVAL#";
    /// A roll-up generation's summary, after its generation prefix.
    pub const SUMMARY: &str = "SUMMARY";
    /// A roll-up generation's user chunks, after its generation prefix.
    pub const USERS: &str = "USERS#";
    /// A roll-up generation's usage groups (`usage#{dimension}#{value}`).
    pub const USAGE: &str = "usage#";
    /// A roll-up generation's agents.
    pub const AGENT: &str = "agent#";
    /// A roll-up generation's projects.
    pub const PROJECT_GROUP: &str = "project#";
}

/// `CLIENT#{client}`: a client's partition, and its listing's sort key under [`CLIENTS`].
pub fn client(id: &ClientId) -> String {
    format!("{}{id}", prefix::CLIENT)
}

/// `PROJECT#{project}`: a project's partition, and its listing's sort key under its client.
pub fn project(id: &ProjectId) -> String {
    format!("{}{id}", prefix::PROJECT)
}

/// `SNAPSHOT#{date}#{kind}#{id}`.
pub fn snapshot(s: &MetricSnapshot) -> String {
    format!(
        "{}{}#{}#{}",
        prefix::SNAPSHOT,
        s.measured_on(),
        s.kind(),
        s.id()
    )
}

/// `IDEMPOTENCY#{sha256(key)}`: an `Idempotency-Key` header is the caller's text, of any
/// length, so it is hashed.
pub fn idempotency(key: &str) -> String {
    format!(
        "IDEMPOTENCY#{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

/// `ROI#{as_of}#{months:03}m`.
pub fn roi(as_of: NaiveDate, months: u32) -> String {
    format!("{}{as_of}#{months:03}m", prefix::ROI)
}

/// `INSIGHTS#{as_of}`.
pub fn insights(as_of: NaiveDate) -> String {
    format!("{}{as_of}", prefix::INSIGHTS)
}

/// `REMINDER#{due}#{kind}`.
pub fn reminder(due: NaiveDate, kind: &str) -> String {
    format!("REMINDER#{due}#{kind}")
}

/// `ALERT#{rule}#{scope}`.
pub fn alert(rule: &str, scope: &str) -> String {
    format!("{}{rule}#{scope}", prefix::ALERT)
}

/// `NOTICE#{first 128 bits of sha256(notice), hex}`: notices are named by free text (a scope
/// is a department or agent name), so they are hashed.
pub fn notice(notice: &str) -> String {
    format!(
        "NOTICE#{}",
        hex::encode(&Sha256::digest(notice.as_bytes())[..16])
    )
}

/// `ERASING#{pseudonym}`.
pub fn erasing(pseudonym: &str) -> String {
    format!("{}{pseudonym}", prefix::ERASING)
}

/// `CHANGED#{day}`.
pub fn changed_day(day: NaiveDate) -> String {
    format!("{}{day}", prefix::CHANGED)
}

/// `AUDIT#{client}#{YYYY-MM}`: one partition per client and month.
pub fn audit_month(client: &ClientId, month: &str) -> String {
    format!("AUDIT#{client}#{month}")
}

/// The audit entry at `at` with content hash `id`: pk [`audit_month`] of `at`'s month, sk
/// `{time with microseconds}#{id}`.
pub fn audit(client: &ClientId, at: DateTime<Utc>, id: &str) -> (String, String) {
    (
        audit_month(client, &at.format("%Y-%m").to_string()),
        format!("{}#{id}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
    )
}

/// `APIKEY#{sha256(key)}`: the record requests are authenticated by.
pub fn api_key(hash: &str) -> String {
    format!("{}{hash}", prefix::API_KEY)
}

/// `APIKEY#{key id}`: an API key's listing under its client.
pub fn api_key_listing(key_id: &str) -> String {
    format!("{}{key_id}", prefix::API_KEY)
}

/// The rate counter of an API key and minute: pk `RATE#{key id}`, sk `{YYYY-MM-DDTHH:MM}`.
pub fn rate(key_id: &str, minute: DateTime<Utc>) -> (String, String) {
    (
        rate_counters(key_id),
        minute.format("%Y-%m-%dT%H:%M").to_string(),
    )
}

/// `EVENTS#{client}#{day}#{shard}`: one shard of a client-day's raw events; the day's
/// events are the union of shards `0..EVENT_SHARDS`.
pub fn raw_events(client: &ClientId, day: NaiveDate, shard: u8) -> String {
    format!("EVENTS#{client}#{day}#{shard}")
}

/// A raw event's key: pk [`raw_events`], sk `{time, RFC 3339 with ms}#{event id}`.
pub fn raw_event(client: &ClientId, key: &EventKey) -> (String, String) {
    (
        raw_events(client, key.day, key.shard),
        format!(
            "{}#{}",
            key.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            key.event_id
        ),
    )
}

/// An event's identity claim: pk `EVENTID#{client}#{event id}`, sk [`EVENT_CLAIM`]. It does
/// not depend on `time` (ARCHITECTURE.md: the dedup record).
pub fn event_claim(client: &ClientId, key: &EventKey) -> (String, &'static str) {
    event_claim_of(client, &key.event_id)
}

/// The identity claim of the event with id `event_id` (the part of a raw event's sort key
/// after its `#`).
pub fn event_claim_of(client: &ClientId, event_id: &str) -> (String, &'static str) {
    (format!("EVENTID#{client}#{event_id}"), EVENT_CLAIM)
}

/// `RATE#{key id}`: the partition of an API key's rate counters.
pub fn rate_counters(key_id: &str) -> String {
    format!("RATE#{key_id}")
}

/// `{client}#`: the sort-key prefix of a client's project summaries under [`PORTFOLIO`].
pub fn summaries_of(client: &ClientId) -> String {
    format!("{client}#")
}

/// `audit/{client}/{YYYY}/{day}.json`: the blob key (not a table key) of a client's audit
/// batch of one UTC day.
pub fn audit_batch(client: &ClientId, day: NaiveDate) -> String {
    format!("audit/{client}/{}/{day}.json", day.format("%Y"))
}

/// `events/{client}/{YYYY}/{day}.ndjson.gz`: the blob key (not a table key) of a
/// client-day's archived raw events.
pub fn archived_events(client: &ClientId, day: NaiveDate) -> String {
    format!("events/{client}/{}/{day}.ndjson.gz", day.format("%Y"))
}

/// `ROLLUP#{client}#{day}`.
pub fn rollup(client: &ClientId, day: NaiveDate) -> String {
    format!("ROLLUP#{client}#{day}")
}

/// `ROLLUP#{client}#{YYYY-MM}`: a closed month's roll-up (`month` its first day), laid out
/// as a day's.
pub fn monthly_rollup(client: &ClientId, month: NaiveDate) -> String {
    format!("ROLLUP#{client}#{}", month.format("%Y-%m"))
}

/// `G{generation}#`: the sort-key prefix of a roll-up generation's items.
pub fn generation(generation: &str) -> String {
    format!("G{generation}#")
}

/// `{generation prefix}{sk}`: an item (or prefix, e.g. [`prefix::AGENT`]) of a generation.
pub fn in_generation(generation: &str, sk: &str) -> String {
    format!("{generation}{sk}")
}

/// `{generation prefix}USERS#{n:03}`.
pub fn rollup_users(generation: &str, n: usize) -> String {
    format!("{generation}{}{n:03}", prefix::USERS)
}

/// `{generation prefix}usage#{dimension}#`: the prefix of one dimension's groups.
pub fn usage_dimension(generation: &str, dimension: &str) -> String {
    format!("{generation}{}{dimension}#", prefix::USAGE)
}

/// The longest group name (a department, model, agent, project… from event data) written
/// into a roll-up sort key as it is, bytes; a longer one is hashed ([`group`]).
pub const MAX_NAME_BYTES_IN_KEY: usize = 200;

/// The sort key of a roll-up group item: `{prefix}{name}` while the name is at most
/// [`MAX_NAME_BYTES_IN_KEY`] bytes, else `{prefix}~{first 128 bits of SHA-256(name), hex}`.
/// Either way under 300 bytes, far from DynamoDB's 1,024.
pub fn group(prefix: &str, name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES_IN_KEY {
        format!("{prefix}{name}")
    } else {
        format!(
            "{prefix}~{}",
            hex::encode(&Sha256::digest(name.as_bytes())[..16])
        )
    }
}

/// `RECONCILED#{day}#{provider}`: one day and provider of a client's reconciliation.
pub fn reconciled(day: NaiveDate, provider: &str) -> String {
    format!("{}{day}#{provider}", prefix::RECONCILED)
}

/// `INVOICED#{client}`: the partition of a client's imported provider cost lines.
pub fn invoiced_costs(client: &ClientId) -> String {
    format!("INVOICED#{client}")
}

/// `{day}#{provider}#{line}`: one cost line of a provider's report for a UTC day; `line` is
/// a hash of what identifies the line (re-importing the report overwrites it).
pub fn invoiced_cost(day: NaiveDate, provider: &str, line: &str) -> String {
    format!("{day}#{provider}#{line}")
}

/// The sort keys of the cost lines of `from..=to`, both inclusive.
pub fn invoiced_days(from: NaiveDate, to: NaiveDate) -> (String, String) {
    (format!("{from}#"), format!("{to}#~"))
}

/// `REPORT#{kind}#{period}#v`: the prefix of one report's versions.
pub fn report_versions(kind: &str, period: &str) -> String {
    format!("{}{kind}#{period}#v", prefix::REPORT)
}

/// `REPORT#{kind}#{period}#v{version:03}`.
pub fn report(kind: &str, period: &str, version: u32) -> String {
    format!("{}{version:03}", report_versions(kind, period))
}

/// `REPORTLINK#{link id}`: a report link's partition, and its listing's sort key.
pub fn report_link(link_id: &str) -> String {
    format!("{}{link_id}", prefix::REPORT_LINK)
}

/// `SIGNIN#{nonce}`.
pub fn sign_in(nonce: &str) -> String {
    format!("SIGNIN#{nonce}")
}

/// `SESSION#{session id}`.
pub fn session(id: &str) -> String {
    format!("SESSION#{id}")
}

/// `DASHLINK#{link id}`: a dashboard link's partition, and its listing's sort key.
pub fn dashboard_link(id: &str) -> String {
    format!("{}{id}", prefix::DASHBOARD_LINK)
}

/// `FORMLINK#{nonce}`: a console-made form link's partition, and its listing's sort key.
pub fn form_link(nonce: &str) -> String {
    format!("{}{nonce}", prefix::FORM_LINK)
}

/// `KPIVAL#{kpi}#{date}`: a measured KPI's value of a day.
pub fn kpi_value(kpi: &str, on: chrono::NaiveDate) -> String {
    format!("{}{kpi}#{on}", prefix::KPI_VALUE)
}

/// `{client}#{project}` under [`PORTFOLIO`]: a client's projects sort together.
pub fn summary(client: &ClientId, project: &ProjectId) -> String {
    format!("{client}#{project}")
}

/// The record kind of a stored key, as named in the table above (`"raw event"`, `"KPI
/// value"`, …), or `None` for a key no record kind has. A roll-up's generation items are
/// its `"daily roll-up"`.
pub fn record_kind(pk: &str, sk: &str) -> Option<&'static str> {
    let (head, _) = pk.split_once('#').unwrap_or((pk, ""));
    let sk_head = sk.split_once('#').map_or(sk, |(h, _)| h);
    Some(match (head, sk_head) {
        ("CLIENTS", _) => "client listing",
        ("PORTFOLIO", _) => "project summary",
        ("CLIENT", PROFILE) => "client",
        ("CLIENT", SETTINGS) => "client settings",
        ("CLIENT", PRICES) => "negotiated prices",
        ("CLIENT", "PROJECT") => "project listing",
        ("CLIENT", "ALERT") => "alert state",
        ("CLIENT", "NOTICE") => "alert notice claim",
        ("CLIENT", "CHANGED") => "changed client-day",
        ("CLIENT", "ERASING") => "erasure under way",
        ("CLIENT", AUDIT_HEAD) => "audit archive head",
        ("CLIENT", "APIKEY") => "API key listing",
        ("CLIENT", "RECONCILED") => "reconciled day",
        ("CLIENT", "DASHLINK") => "dashboard link listing",
        ("PROJECT", PROFILE) => "project",
        ("PROJECT", "SNAPSHOT") => "metric snapshot",
        ("PROJECT", "IDEMPOTENCY") => "idempotency record",
        ("PROJECT", "ROI") => "ROI calculation",
        ("PROJECT", "INSIGHTS") => "project insights",
        ("PROJECT", "REMINDER") => "reminder sent",
        ("PROJECT", "REPORT") => "report version",
        ("PROJECT", "REPORTLINK") => "report link listing",
        ("PROJECT", "FORMLINK") => "form link listing",
        ("PROJECT", KPIS) => "KPI definitions",
        ("PROJECT", "KPIVAL") => "KPI value",
        ("REPORTLINK", _) => "report link",
        ("AUDIT", _) => "audit entry",
        ("APIKEY", _) => "API key",
        ("RATE", _) => "rate counter",
        ("EVENTS", _) => "raw event",
        ("EVENTID", _) => "event identity claim",
        ("INVOICED", _) => "invoiced cost",
        ("SIGNIN", _) => "sign-in claim",
        ("SESSION", _) => "operator session",
        ("DASHLINK", _) => "dashboard link",
        ("FORMLINK", _) => "form link",
        ("ROLLUP", _) if pk.rsplit('#').next().is_some_and(|m| m.len() == 7) => "monthly roll-up",
        ("ROLLUP", _) => "daily roll-up",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of the module docs, one row per record kind: (record, pk, sk).
    fn documented() -> Vec<(String, String, String)> {
        include_str!("keys.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | "))
            .filter(|l| !l.starts_with("record |") && !l.starts_with("---"))
            .map(|l| {
                let cells: Vec<String> = l
                    .split(" | ")
                    .map(|c| c.trim_end_matches(" |").to_owned())
                    .collect();
                (cells[0].clone(), cells[1].clone(), cells[2].clone())
            })
            .collect()
    }

    /// Whether `key` has the documented `shape`: the literal parts in order, with something
    /// in each `{…}` placeholder (a shape's parenthesised note is ignored).
    fn has_shape(key: &str, shape: &str) -> bool {
        let shape = shape.split(" (").next().unwrap_or(shape).trim_matches('`');
        let mut rest = key;
        for (i, literal) in shape.split(['{', '}']).enumerate() {
            if i % 2 == 1 {
                continue; // a placeholder
            }
            match (i, rest.find(literal)) {
                (0, Some(0)) => rest = &rest[literal.len()..],
                (0, _) => return false,
                (_, Some(at)) if !literal.is_empty() => rest = &rest[at + literal.len()..],
                (_, None) => return false,
                _ => {}
            }
        }
        shape.ends_with('}') || rest.is_empty()
    }

    #[test]
    fn every_record_kind_has_the_documented_key_shape() {
        let c: ClientId = "acme-logistics".parse().unwrap();
        let p: ProjectId = "acme-logistics-support-assistant".parse().unwrap();
        let d: NaiveDate = "2026-11-20".parse().unwrap();
        let t: DateTime<Utc> = "2026-11-20T15:04:05.123456Z".parse().unwrap();
        let e = EventKey::new(chrono_tz::UTC, "crm", "e-1", t);
        let (audit_pk, audit_sk) = audit(&c, t, "0a1b2c3d4e5f");
        let (rate_pk, rate_sk) = rate("k1", t);
        let (raw_pk, raw_sk) = raw_event(&c, &e);
        let (claim_pk, claim_sk) = event_claim(&c, &e);
        let g = generation("00ff00ff00ff00ff");
        let mut draft =
            roi_domain::SnapshotDraft::new(p.clone(), roi_domain::SnapshotKind::Baseline, d);
        draft.values.extend([
            (roi_domain::Metric::TotalMonthlyCost, 1000.into()),
            (roi_domain::Metric::AvgTaskCompletionTime, 30.into()),
            (roi_domain::Metric::ErrorRatePercentage, 5.into()),
        ]);
        let measured = draft
            .validate(roi_domain::snapshot::SnapshotContext::default(), t)
            .unwrap();
        let built: Vec<(&str, String, String)> = vec![
            ("client", client(&c), PROFILE.into()),
            ("client listing", CLIENTS.into(), client(&c)),
            ("client settings", client(&c), SETTINGS.into()),
            ("negotiated prices", client(&c), PRICES.into()),
            ("project", project(&p), PROFILE.into()),
            ("project listing", client(&c), project(&p)),
            ("metric snapshot", project(&p), snapshot(&measured)),
            ("idempotency record", project(&p), idempotency("key-1")),
            ("ROI calculation", project(&p), roi(d, 12)),
            ("project insights", project(&p), insights(d)),
            ("reminder sent", project(&p), reminder(d, "due")),
            (
                "report version",
                project(&p),
                report("monthly", "2026-10", 2),
            ),
            ("report link", report_link("l1"), LINK.into()),
            ("report link listing", project(&p), report_link("l1")),
            (
                "alert state",
                client(&c),
                alert("roi_percentage", "project"),
            ),
            (
                "alert notice claim",
                client(&c),
                notice("roi|project|firing"),
            ),
            ("changed client-day", client(&c), changed_day(d)),
            (
                "erasure under way",
                client(&c),
                erasing("u_0123456789abcdef"),
            ),
            ("audit archive head", client(&c), AUDIT_HEAD.into()),
            ("audit entry", audit_pk, audit_sk),
            ("API key", api_key("9f86d081"), API_KEY.into()),
            ("API key listing", client(&c), api_key_listing("k1")),
            ("rate counter", rate_pk, rate_sk),
            ("raw event", raw_pk, raw_sk.clone()),
            ("event identity claim", claim_pk, claim_sk.into()),
            ("reconciled day", client(&c), reconciled(d, "anthropic")),
            (
                "invoiced cost",
                invoiced_costs(&c),
                invoiced_cost(d, "anthropic", "0a1b2c3d4e5f6a7b"),
            ),
            ("sign-in claim", sign_in("n1"), CLAIM.into()),
            ("operator session", session("s1"), SESSION.into()),
            ("dashboard link", dashboard_link("l1"), LINK.into()),
            ("dashboard link listing", client(&c), dashboard_link("l1")),
            ("project summary", PORTFOLIO.into(), summary(&c, &p)),
            ("form link", form_link("n1"), LINK.into()),
            ("form link listing", project(&p), form_link("n1")),
            ("KPI definitions", project(&p), KPIS.into()),
            ("KPI value", project(&p), kpi_value("nps", d)),
            ("daily roll-up", rollup(&c, d), CURRENT.into()),
            ("monthly roll-up", monthly_rollup(&c, d), CURRENT.into()),
        ];
        let table = documented();
        assert_eq!(
            table.iter().map(|(r, _, _)| r.as_str()).collect::<Vec<_>>(),
            built.iter().map(|(r, _, _)| *r).collect::<Vec<_>>(),
            "every documented record kind is built here, in the table's order"
        );
        for (record, pk, sk) in &built {
            assert_eq!(record_kind(pk, sk), Some(*record), "{pk} / {sk}");
        }
        for (pk, sk) in [
            ("OTHER#1", "X"),
            ("CLIENT#acme", "NEW#1"),
            ("PROJECT#p", "X"),
        ] {
            assert_eq!(record_kind(pk, sk), None, "{pk} / {sk}");
        }
        for ((record, pk_shape, sk_shape), (_, pk, sk)) in table.iter().zip(&built) {
            assert!(
                has_shape(pk, pk_shape),
                "{record}: pk {pk} is not {pk_shape}"
            );
            let sk_shape = sk_shape.split(", then").next().unwrap_or(sk_shape);
            assert!(
                has_shape(sk, sk_shape),
                "{record}: sk {sk} is not {sk_shape}"
            );
        }
        // the roll-up generation's items
        for sk in [
            in_generation(&g, prefix::SUMMARY),
            rollup_users(&g, 0),
            group(&usage_dimension(&g, "department"), "support"),
            group(&in_generation(&g, prefix::AGENT), "triage"),
            group(&in_generation(&g, prefix::PROJECT_GROUP), p.as_str()),
        ] {
            assert!(sk.starts_with("G00ff00ff00ff00ff#"), "{sk}");
        }
        assert!(has_shape(&raw_sk, "`{time, ms}#{event id}`"));
        assert_eq!(raw_sk.split('#').next(), Some("2026-11-20T15:04:05.123Z"));
    }

    #[test]
    fn the_shape_check_catches_a_wrong_key() {
        assert!(has_shape("CLIENT#acme", "`CLIENT#{client}`"));
        assert!(!has_shape("PROJECT#acme", "`CLIENT#{client}`"));
        assert!(!has_shape("PROFILE2", "`PROFILE`"));
        assert!(has_shape(
            "AUDIT#acme#2026-11",
            "`AUDIT#{client}#{YYYY-MM}`"
        ));
        assert!(!has_shape("AUDIT#acme", "`AUDIT#{client}#{YYYY-MM}`"));
    }

    #[test]
    fn long_group_names_are_hashed_within_the_key_limit() {
        let long = "𝔇".repeat(256);
        let sk = group("G1#usage#department#", &long);
        assert!(sk.len() < 300 && sk.contains('~'), "{sk}");
        assert_eq!(group("p#", "support"), "p#support");
    }
}
