//! Event ingestion through `POST /v1/events` on the embedded store: keys, tenants, limits,
//! provider reports and negotiated prices.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::api_keys;
use roi_app::http::events::{EventsState, router};
use roi_app::pricing::{PriceTable, read_rows};
use roi_app::setup::{add_client, add_project};
use roi_app::usage_import::{ReportFormat, import_usage};
use roi_domain::ClientId;
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::event::MAX_REQUEST_BYTES;
use roi_domain::ports::{Clock, FixedClock};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tower::ServiceExt;

const ANTHROPIC_REPORT: &str =
    include_str!("../../../../events/usage-reports/anthropic-messages-usage-report.json");
const OPENAI_REPORT: &str =
    include_str!("../../../../events/usage-reports/openai-usage-completions.json");
const ANTHROPIC_COSTS: &str =
    include_str!("../../../../events/usage-reports/anthropic-cost-report.json");
const OPENAI_COSTS: &str = include_str!("../../../../events/usage-reports/openai-costs.json");

struct Tenants {
    store: Store,
    app: axum::Router,
    alpha: ClientId,
    beta: ClientId,
    alpha_key: String,
    beta_key: String,
    _dir: tempfile::TempDir,
}

/// Two clients, Alpha (Chicago) and Beta (Tokyo), a project and a key each.
async fn tenants() -> Tenants {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()));
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&clock)).unwrap();
    let store = Store::new(Arc::new(table), clock);
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for (name, tz) in [("Alpha", "America/Chicago"), ("Beta", "Asia/Tokyo")] {
        let draft = ClientDraft {
            company_name: name.into(),
            time_zone: Some(tz.into()),
            ..ClientDraft::default()
        };
        let (client, _) = add_client(&store, draft, "test").await.unwrap();
        let project = ProjectDraft {
            client_id: client.id.clone(),
            project_name: "Bot".into(),
            id: None,
            solution_type: None,
            status: None,
            go_live_date: "2026-01-05".into(),
            one_time_investment: dec!(10000),
            gross_margin: None,
        };
        add_project(&store, project, "test").await.unwrap();
        keys.push(
            api_keys::create(&store, &client.id, "test", "test")
                .await
                .unwrap()
                .key,
        );
        ids.push(client.id);
    }
    let app = router(Arc::new(EventsState {
        store: store.clone(),
        prices: PriceTable::shipped().clone(),
    }));
    let beta_key = keys.pop().unwrap();
    let alpha_key = keys.pop().unwrap();
    let beta = ids.pop().unwrap();
    let alpha = ids.pop().unwrap();
    Tenants {
        store,
        app,
        alpha,
        beta,
        alpha_key,
        beta_key,
        _dir: dir,
    }
}

fn usage(id: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "https://bot.example/usage",
        "type": "ai.usage", "time": "2026-11-20T15:00:00Z", "data": data,
    })
}

impl Tenants {
    async fn post(
        &self,
        key: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut req = Request::post("/v1/events").header(header::CONTENT_TYPE, content_type);
        if let Some(k) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, parts.headers, value)
    }

    async fn events(&self, client: &ClientId, day: &str) -> Vec<roi_app::ingest::StoredEvent> {
        self.store
            .events_of_day(client, day.parse().unwrap())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_key_of_one_client_never_writes_anothers_events() {
    // GIVEN clients Alpha and Beta, each with a project and a key
    let t = tenants().await;
    let beta_project = format!("{}-bot", t.beta);
    // WHEN Alpha's key sends an event naming Beta in every place a payload could
    let body = json!([
        usage(
            "a-1",
            json!({"model": "claude-haiku-4-5", "input_tokens": 10, "output_tokens": 1})
        ),
        usage(
            "a-2",
            json!({"model": "claude-haiku-4-5", "input_tokens": 10, "output_tokens": 1, "project": beta_project})
        ),
    ]);
    let mut first = body[0].clone();
    first["subject"] = json!(t.beta.to_string());
    first["clientid"] = json!(t.beta.to_string());
    let body = json!([first, body[1]]);
    let (status, _, answer) = t
        .post(
            Some(&t.alpha_key),
            "application/cloudevents-batch+json",
            body.to_string(),
        )
        .await;
    // THEN the first is stored as Alpha's, the one naming Beta's project is rejected
    assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted");
    assert_eq!(answer["results"][1]["status"], "rejected");
    assert_eq!(answer["results"][1]["field"], "data.project");
    assert_eq!(t.events(&t.alpha, "2026-11-20").await.len(), 1);
    for day in ["2026-11-20", "2026-11-21"] {
        assert!(
            t.events(&t.beta, day).await.is_empty(),
            "nothing under Beta"
        );
    }
    // AND Beta's own key writes under Beta, on Beta's (Tokyo) day
    let (status, _, _) = t
        .post(
            Some(&t.beta_key),
            "application/cloudevents+json",
            usage("b-1", json!({"model": "gpt-4o", "input_tokens": 5, "output_tokens": 5, "project": beta_project})).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t.events(&t.beta, "2026-11-21").await.len(), 1);
    assert_eq!(t.events(&t.alpha, "2026-11-20").await.len(), 1);
}

#[tokio::test]
async fn keys_are_checked_before_anything_else() {
    let t = tenants().await;
    let one = usage(
        "k-1",
        json!({"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1}),
    )
    .to_string();
    let ct = "application/cloudevents+json";
    // no key, a malformed header, an unknown key: 401 with a Bearer challenge
    for key in [
        None,
        Some("not-a-key"),
        Some("roi_0123abcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let (status, headers, body) = t.post(key, ct, one.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(body["status"], 401);
    }
    // a revoked key: 403, and nothing stored
    let key_id = &t.alpha_key[4..12];
    api_keys::revoke(&t.store, &t.alpha, key_id, "test")
        .await
        .unwrap();
    let (status, _, body) = t.post(Some(&t.alpha_key), ct, one.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(t.events(&t.alpha, "2026-11-20").await.is_empty());
    // the other client's key still works
    assert_eq!(t.post(Some(&t.beta_key), ct, one).await.0, StatusCode::OK);
}

#[tokio::test]
async fn request_level_problems_get_a_problem_document() {
    let t = tenants().await;
    let key = Some(t.alpha_key.as_str());
    // over 1 MiB
    let big = format!("[{}]", " ".repeat(MAX_REQUEST_BYTES));
    let (status, _, body) = t.post(key, "application/cloudevents-batch+json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["detail"].as_str().unwrap().contains("1 MiB"), "{body}");
    // a media type of another kind
    let (status, _, body) = t.post(key, "text/csv", "a,b").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/x-ndjson")
    );
    // a batch that is not an array, and an empty one
    for bad in ["{\"a\":1", "[]"] {
        let (status, _, body) = t.post(key, "application/cloudevents-batch+json", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["type"], "/problems/malformed-body");
    }
    // an NDJSON line that is not JSON is that event's problem only
    let lines = format!(
        "{}\nnot json\n",
        usage(
            "n-1",
            json!({"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1})
        )
    );
    let (status, _, body) = t.post(key, "application/x-ndjson", lines).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["results"][1]["field"], "event");
}

#[tokio::test]
async fn provider_reports_import_as_priced_events_once() {
    // GIVEN Alpha and the two sample reports
    let t = tenants().await;
    let prices = PriceTable::shipped();
    // WHEN the Anthropic report is imported
    let report = import_usage(
        &t.store,
        prices,
        &t.alpha,
        ANTHROPIC_REPORT,
        ReportFormat::Anthropic,
        None,
        "test",
    )
    .await
    .unwrap();
    // THEN one event per result, each priced with its snapshot's row
    assert_eq!((report.accepted, report.rejected), (3, 0));
    // the buckets start at midnight UTC: Chicago's 17th and 18th
    assert_eq!(t.events(&t.alpha, "2026-11-17").await.len(), 2);
    assert_eq!(t.events(&t.alpha, "2026-11-18").await.len(), 1);
    let sonnet = t
        .events(&t.alpha, "2026-11-17")
        .await
        .into_iter()
        .find(|e| e.priced_as.as_deref() == Some("claude-sonnet-4-5"))
        .unwrap();
    // 182,400 × $3 + 24,000 × $3.75 + 1,150,000 × $0.30 + 61,200 × $15, per million,
    // + 349 web searches × $10 per 1,000
    assert_eq!(sonnet.cost_usd, Some(dec!(5.3902)));
    // WHEN the OpenAI report is imported
    let report = import_usage(
        &t.store,
        prices,
        &t.alpha,
        OPENAI_REPORT,
        ReportFormat::OpenAi,
        None,
        "test",
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 2);
    let mini = t
        .events(&t.alpha, "2026-11-20")
        .await
        .into_iter()
        .find(|e| e.priced_as.as_deref() == Some("gpt-4.1-mini"))
        .unwrap();
    // cached tokens are taken out of the input: 307,200 × $0.40 + 204,800 × $0.10 +
    // 96,000 × $1.60, per million
    assert_eq!(mini.cost_usd, Some(dec!(0.29696)));
    // THEN importing both again adds nothing
    for (text, format) in [
        (ANTHROPIC_REPORT, ReportFormat::Anthropic),
        (OPENAI_REPORT, ReportFormat::OpenAi),
    ] {
        let again = import_usage(&t.store, prices, &t.alpha, text, format, None, "test")
            .await
            .unwrap();
        assert_eq!(again.accepted, 0);
        assert_eq!(again.duplicate, again.results.len());
    }
    let audit = t.store.audit_entries(&t.alpha, "2026-11").await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "usage_imported")
            .count(),
        4
    );
    // AND a file of the other format is refused as a whole
    assert!(
        import_usage(
            &t.store,
            prices,
            &t.alpha,
            OPENAI_REPORT,
            ReportFormat::Anthropic,
            None,
            "test"
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn negotiated_prices_price_a_clients_events_and_name_their_version() {
    let t = tenants().await;
    let rows = read_rows(
        "provider,model,input,output,cache_read,cache_write,cache_write_1h\n\
         openai,gpt-4o,2.00,8.00,1.00,2.00,2.00\n",
    )
    .unwrap();
    t.store.put_price_overrides(&t.alpha, &rows).await.unwrap();
    let event = usage(
        "p-1",
        json!({"model": "gpt-4o", "input_tokens": 1_000_000, "output_tokens": 0}),
    );
    for key in [&t.alpha_key, &t.beta_key] {
        let (status, _, _) = t
            .post(Some(key), "application/cloudevents+json", event.to_string())
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let alpha = &t.events(&t.alpha, "2026-11-20").await[0];
    assert_eq!(alpha.cost_usd, Some(dec!(2)));
    assert!(
        alpha
            .price_version
            .as_deref()
            .unwrap()
            .starts_with("2026-11-30+alpha.")
    );
    let beta = &t.events(&t.beta, "2026-11-21").await[0];
    assert_eq!(beta.cost_usd, Some(dec!(2.5)), "Beta pays list price");
    assert_eq!(beta.price_version.as_deref(), Some("2026-11-30"));
}

#[tokio::test]
async fn a_flood_from_one_key_is_refused_while_another_clients_events_still_land() {
    // GIVEN Alpha limited to 5 requests a minute, Beta with the defaults
    let t = tenants().await;
    let mut settings = t.store.settings(&t.alpha).await.unwrap();
    settings.requests_per_minute = 5;
    t.store.put_settings(&t.alpha, &settings).await.unwrap();
    let event = |i: usize| {
        json!({"specversion": "1.0", "id": format!("r-{i}"), "source": "s", "type": "ai.usage",
               "time": "2026-11-21T10:00:00Z", "data": {"model": "claude-haiku-4-5", "input_tokens": 1, "output_tokens": 1}})
    };
    let post = |key: String, i: usize| {
        let app = t.app.clone();
        async move {
            let req = axum::http::Request::post("/v1/events")
                .header(header::CONTENT_TYPE, "application/cloudevents+json")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(axum::body::Body::from(event(i).to_string()))
                .unwrap();
            app.oneshot(req).await.unwrap()
        }
    };
    // WHEN Alpha sends 10 requests in one minute, and Beta one after them
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..10 {
        let res = post(t.alpha_key.clone(), i).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = res.headers().get(header::RETRY_AFTER).cloned();
        }
        statuses.push(res.status());
    }
    let beta = post(t.beta_key.clone(), 99).await;
    // THEN Alpha's first 5 land and the rest are told when to come back
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        5
    );
    assert_eq!(
        retry_after.unwrap(),
        "60",
        "the clock stands at a whole minute"
    );
    // AND Beta's event lands
    assert_eq!(beta.status(), StatusCode::OK);
    // AND an events budget refuses a batch that would exceed it
    settings.requests_per_minute = 1000;
    settings.events_per_minute = 3;
    t.store.put_settings(&t.beta, &settings).await.unwrap();
    let batch: Vec<Value> = (100..105).map(event).collect();
    let req = axum::http::Request::post("/v1/events")
        .header(header::CONTENT_TYPE, "application/cloudevents-batch+json")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.beta_key))
        .body(axum::body::Body::from(Value::from(batch).to_string()))
        .unwrap();
    let res = t.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_sample_cost_reports_reconcile_to_zero_and_a_doctored_one_is_flagged() {
    use roi_app::cost_import::import_cost;
    use roi_app::reconcile::reconcile;
    // GIVEN Alpha's sample usage reports, imported and priced at list price
    let t = tenants().await;
    for (text, format) in [
        (ANTHROPIC_REPORT, ReportFormat::Anthropic),
        (OPENAI_REPORT, ReportFormat::OpenAi),
    ] {
        import_usage(
            &t.store,
            PriceTable::shipped(),
            &t.alpha,
            text,
            format,
            None,
            "t",
        )
        .await
        .unwrap();
    }
    // WHEN the providers' cost reports of the same days are imported (twice: no change)
    for _ in 0..2 {
        let a = import_cost(
            &t.store,
            &t.alpha,
            ANTHROPIC_COSTS,
            ReportFormat::Anthropic,
            "t",
        )
        .await
        .unwrap();
        // 18 Nov: 0.5472 + 0.09 + 0.345 + 0.918 + 3.49 (349 searches) + 0.94 + 0.44;
        // 19 Nov: 0.6039 + 0.0675 + 0.036 + 0.396 + 1.056
        assert_eq!((a.lines, a.total_usd), (12, dec!(8.9296)));
        let o = import_cost(&t.store, &t.alpha, OPENAI_COSTS, ReportFormat::OpenAi, "t")
            .await
            .unwrap();
        // 0.12288 + 0.02048 + 0.1536 (gpt-4.1-mini) + 0.16 + 0.128 (gpt-4o)
        assert_eq!((o.lines, o.total_usd), (5, dec!(0.58496)));
    }
    let (from, to) = ("2026-11-18".parse().unwrap(), "2026-11-21".parse().unwrap());
    let rows = reconcile(&t.store, &t.alpha, from, to).await.unwrap();
    // THEN each UTC day and provider reconciles to zero variance
    let days: Vec<(String, String, Decimal)> = rows
        .iter()
        .map(|r| (r.day.to_string(), r.provider.clone(), r.metered_usd))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-18".into(), "anthropic".into(), dec!(6.7702)),
            ("2026-11-19".into(), "anthropic".into(), dec!(2.1594)),
            ("2026-11-21".into(), "openai".into(), dec!(0.58496)),
        ]
    );
    for r in &rows {
        assert_eq!(r.variance_usd, Some(Decimal::ZERO), "{r:?}");
        assert!(!r.over_tolerance);
    }
    // WHEN a doctored report bills 18 Nov's web search at $4.49 instead of $3.49
    let doctored = ANTHROPIC_COSTS.replacen("\"349\"", "\"449\"", 1);
    assert_ne!(doctored, ANTHROPIC_COSTS);
    let imported = import_cost(&t.store, &t.alpha, &doctored, ReportFormat::Anthropic, "t")
        .await
        .unwrap();
    assert!(imported.reconciled[0].over_tolerance);
    let rows = reconcile(&t.store, &t.alpha, from, to).await.unwrap();
    // THEN that day is $1 under-metered: −12.87 % of 7.7702, over the 1 % tolerance
    let first = &rows[0];
    assert_eq!(first.invoiced_usd, Some(dec!(7.7702)));
    assert_eq!(first.variance_usd, Some(dec!(-1)));
    assert_eq!(first.variance_percentage, Some(dec!(-12.87)));
    assert!(first.over_tolerance);
    assert!(!rows[1].over_tolerance);
    // AND the alert check observes the latest reconciled day per provider: 19 Nov for
    // Anthropic (0 %), 21 Nov for OpenAI
    let alpha = t.store.client(&t.alpha).await.unwrap().unwrap();
    let settings = t.store.settings(&t.alpha).await.unwrap();
    let observed =
        roi_app::alerts::observe(&t.store, &alpha, &settings, "2026-11-21".parse().unwrap())
            .await
            .unwrap();
    let variance: Vec<_> = observed
        .iter()
        .filter(|o| o.kpi == roi_domain::kpi::Kpi::CostVariance)
        .map(|o| (o.scope.as_str(), o.value))
        .collect();
    assert_eq!(
        variance,
        [("anthropic", dec!(0.00)), ("openai", dec!(0.00))]
    );
    // AND when the doctored day is the latest one, its variance fires a warning and more
    let observed =
        roi_app::alerts::observe(&t.store, &alpha, &settings, "2026-11-18".parse().unwrap())
            .await
            .unwrap();
    let v = observed
        .iter()
        .find(|o| o.kpi == roi_domain::kpi::Kpi::CostVariance && o.scope == "anthropic")
        .unwrap()
        .value;
    assert_eq!(v, dec!(12.87));
    let signal = roi_domain::kpi::evaluate(
        roi_domain::kpi::Kpi::CostVariance,
        "anthropic",
        v,
        settings.thresholds.cost_variance,
    )
    .unwrap();
    assert_eq!(signal.level, roi_domain::kpi::Level::Critical);
    // WHEN each day's report also bills 2.5 container-hours of code execution ($0.125),
    // which no usage report or event meters
    let code = r#""results": [
   {"currency": "USD", "amount": "12.5", "description": "Code Execution Usage",
    "cost_type": "code_execution", "model": null, "token_type": null},"#;
    let with_code = ANTHROPIC_COSTS.replace("\"results\": [", code);
    assert_ne!(with_code, ANTHROPIC_COSTS);
    import_cost(&t.store, &t.alpha, &with_code, ReportFormat::Anthropic, "t")
        .await
        .unwrap();
    let rows = reconcile(&t.store, &t.alpha, from, to).await.unwrap();
    // THEN it is shown apart, and the day still reconciles to zero
    let nov19 = &rows[1];
    assert_eq!(nov19.day.to_string(), "2026-11-19");
    assert_eq!(nov19.unmetered_usd, dec!(0.125));
    assert_eq!(nov19.invoiced_usd, Some(dec!(2.1594)));
    assert_eq!(nov19.variance_usd, Some(Decimal::ZERO));
    assert!(!nov19.over_tolerance);
    // AND Beta's days hold none of it
    assert!(
        reconcile(&t.store, &t.beta, from, to)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unpriced_model_is_named_once_a_day_and_priced_later_by_a_reprice() {
    use roi_app::pricing::reprice;
    use roi_app::rollup::rollup_days;
    use roi_domain::kpi::Kpi;
    // GIVEN Alpha's event for a model the table does not list, rolled up
    let t = tenants().await;
    let event = usage(
        "u-1",
        json!({"model": "acme-llm-2", "input_tokens": 2_000_000, "output_tokens": 0}),
    );
    let (status, _, _) = t
        .post(
            Some(&t.alpha_key),
            "application/cloudevents+json",
            event.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let day = "2026-11-20".parse().unwrap();
    let before = rollup_days(&t.store, &t.alpha, day, day).await.unwrap();
    // THEN its cost is unknown, not zero: counted as unpriced, not in the cost
    assert_eq!(t.events(&t.alpha, "2026-11-20").await[0].cost_usd, None);
    assert_eq!(before[0].usage.unpriced_events, 1);
    assert_eq!(before[0].usage.cost_usd, Decimal::ZERO);
    // AND the next day's alert check names the model and the day
    let alpha = t.store.client(&t.alpha).await.unwrap().unwrap();
    let settings = t.store.settings(&t.alpha).await.unwrap();
    let observed =
        roi_app::alerts::observe(&t.store, &alpha, &settings, "2026-11-21".parse().unwrap())
            .await
            .unwrap();
    let unpriced: Vec<_> = observed
        .iter()
        .filter(|o| o.kpi == Kpi::UnpricedEvents)
        .map(|o| (o.scope.as_str(), o.value))
        .collect();
    assert_eq!(unpriced, [("acme-llm-2 on 2026-11-20", dec!(1))]);
    assert!(!Kpi::UnpricedEvents.repeats());
    // WHEN the client's price for the model is added and the day repriced (twice)
    let rows = read_rows(
        "provider,model,input,output,cache_read,cache_write,cache_write_1h\n\
         acme,acme-llm-2,1.50,6,0.15,1.5,1.5\n",
    )
    .unwrap();
    t.store.put_price_overrides(&t.alpha, &rows).await.unwrap();
    let done = reprice(&t.store, &t.alpha, day, day, "test").await.unwrap();
    assert_eq!(
        (done.newly_priced, done.repriced, done.still_unpriced),
        (1, 0, 0)
    );
    assert_eq!(done.change_usd, dec!(3));
    let again = reprice(&t.store, &t.alpha, day, day, "test").await.unwrap();
    assert_eq!((again.newly_priced, again.repriced), (0, 0), "{again:?}");
    // THEN the event costs 2 MTok × $1.50 and the day's roll-up is restated
    let stored = &t.events(&t.alpha, "2026-11-20").await[0];
    assert_eq!(stored.cost_usd, Some(dec!(3)));
    assert!(
        stored
            .price_version
            .as_deref()
            .unwrap()
            .starts_with("2026-11-30+alpha.")
    );
    let after = t.store.rollup(&t.alpha, day).await.unwrap().unwrap();
    assert_eq!(
        (after.usage.unpriced_events, after.usage.cost_usd),
        (0, dec!(3))
    );
    // AND the audit log says what changed
    let audit = t.store.audit_entries(&t.alpha, "2026-11").await.unwrap();
    assert!(audit.iter().any(|e| {
        e.action == "events_repriced"
            && e.detail
                .contains("1 newly priced, 0 repriced, 0 still unpriced, 3 USD")
    }));
}

/// `POST /v1/traces` in OTLP/JSON (the sample of `events/otlp/`): the GenAI span is
/// stored once as a priced `ai.usage` event (a resent export is a duplicate), the HTTP
/// span is ignored; a wrong media type, an unreadable body and a missing key are refused.
#[tokio::test]
async fn an_otlp_json_export_stores_its_genai_span_once() {
    let t = tenants().await;
    let body = include_str!("../../../../events/otlp/genai-spans.json");
    let send = |key: Option<&str>, content_type: &str, body: &str| {
        let mut req = Request::post("/v1/traces").header(header::CONTENT_TYPE, content_type);
        if let Some(k) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        let app = t.app.clone();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let (status, answer) = send(Some(&t.alpha_key), "application/json", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer, "{}",
        "an ExportTraceServiceResponse with nothing rejected"
    );
    // 2026-11-21T10:00:01.5Z is the 21st in Chicago
    let day = "2026-11-21".parse().unwrap();
    let stored: Vec<_> = t
        .store
        .events_of_day(&t.alpha, day)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.source == roi_app::otlp::SOURCE)
        .collect();
    assert_eq!(stored.len(), 1, "the HTTP span is not an event");
    let e = &stored[0];
    let roi_domain::event::EventData::AiUsage(u) = &e.data else {
        panic!("{e:?}")
    };
    // 2,400 input tokens include the 400 written to the cache
    assert_eq!(
        (u.input_tokens, u.cache_write_tokens, u.output_tokens),
        (2000, 400, 600)
    );
    assert_eq!(
        u.department.as_deref(),
        Some("customer-service"),
        "from the resource"
    );
    // Sonnet 4.5: 2,000 × 3.00 + 400 × 3.75 + 600 × 15.00 per million tokens
    assert_eq!(e.cost_usd, Some(dec!(0.0165)));
    assert!(
        u.user.as_deref().is_some_and(|h| h != "agent-0042"),
        "the user id is hashed"
    );
    // the same export again: nothing new
    let (status, _) = send(Some(&t.alpha_key), "application/json", body).await;
    assert_eq!(status, StatusCode::OK);
    let again = t.store.events_of_day(&t.alpha, day).await.unwrap().len();
    assert_eq!(again, 1);
    // refusals
    assert_eq!(
        send(Some(&t.alpha_key), "text/plain", body).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send(
            Some(&t.alpha_key),
            "application/x-protobuf",
            "not protobuf at all"
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(None, "application/json", body).await.0,
        StatusCode::UNAUTHORIZED
    );
}
