//! The console's router as a browser drives it: sign-in links (used, expired, altered),
//! sessions, CSRF, the refusals of every signed-in route, and a measurement confirmed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::outbox::OutboxMailer;
use roi_app::console::auth::{ConsoleAuth, Operators};
use roi_app::console::dashboard::DashboardLinks;
use roi_app::form_link::FormSigner;
use roi_app::http::console::{ConsoleState, router};
use roi_app::reports::{ReportLinks, ReportServices};
use tower::ServiceExt;

use crate::{World, world};

const SECRET: &[u8] = b"console-secret-console-secret-console!";
const OPERATOR: &str = "am@consultancy.example";
/// An account manager, who sees only the clients assigned to them.
const OTHER: &str = "other@consultancy.example";

struct Console {
    w: World,
    app: axum::Router,
    auth: ConsoleAuth,
    outbox: tempfile::TempDir,
}

async fn console() -> Console {
    let w = world().await;
    w.measured().await;
    let signer = FormSigner::new(SECRET).unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let auth = ConsoleAuth::new(
        &signer,
        Operators::parse(&format!("{OPERATOR}:admin, {OTHER}")).unwrap(),
        "https://roi.example",
    );
    let state = ConsoleState {
        store: w.store.clone(),
        auth: auth.clone(),
        reports: ReportServices {
            store: w.store.clone(),
            blobs: Arc::new(DirBlobStore::new(
                outbox.path().join("blobs"),
                "https://roi.example",
                SECRET,
                Arc::clone(w.store.clock()),
            )),
            mailer: Arc::new(OutboxMailer::new(
                outbox.path().join("outbox"),
                Arc::clone(w.store.clock()),
            )),
            mail_from: "roi@consultancy.example".into(),
            links: ReportLinks::new(&signer, "https://roi.example"),
        },
        forms: signer.clone(),
        dashboards: DashboardLinks::new(&signer, "https://roi.example"),
    };
    Console {
        app: router(Arc::new(state)),
        w,
        auth,
        outbox,
    }
}

fn path_of(url: &str) -> &str {
    url.trim_start_matches("https://roi.example")
}

impl Console {
    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut r = Request::get(path);
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        self.send(r.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let mut r =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        self.send(r.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Asks for a link by e-mail and reads it from the outbox.
    async fn emailed_link(&self) -> String {
        self.emailed_link_of(OPERATOR).await
    }

    async fn emailed_link_of(&self, operator: &str) -> String {
        let (status, _, page) = self
            .post(
                "/console/sign-in",
                None,
                &format!("email={}", operator.replace('@', "%40")),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("on its way"), "{page}");
        // the one sign-in e-mail in the outbox, taken out of it
        let (path, mail) = std::fs::read_dir(self.outbox.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read_to_string(p).unwrap()))
            .find(|(_, m)| m.contains("sign-in link"))
            .expect("the sign-in e-mail");
        std::fs::remove_file(path).unwrap();
        let mail = mail.replace("=\r\n", "").replace("=\n", "");
        let at = mail.find("https://roi.example/console/sign-in/").unwrap();
        mail[at..]
            .split(|c: char| c.is_whitespace() || c == '<' || c == '"')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Signs in through an e-mailed link; returns the cookie header value and the page's
    /// CSRF token.
    async fn sign_in(&self) -> (String, String) {
        self.sign_in_as(OPERATOR).await
    }

    async fn sign_in_as(&self, operator: &str) -> (String, String) {
        let link = self.emailed_link_of(operator).await;
        let (status, _, page) = self.get(path_of(&link), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&format!("Sign in as {operator}")));
        let (status, headers, _) = self.post(path_of(&link), None, "").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Max-Age=43200",
            "Path=/console",
        ] {
            assert!(set.contains(attr), "{set} lacks {attr}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let (_, _, page) = self.get("/console", Some(&cookie)).await;
        let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        let csrf = page[at..].split('"').next().unwrap().to_owned();
        (cookie, csrf)
    }
}

#[tokio::test]
async fn without_a_session_every_route_sends_the_browser_to_sign_in() {
    let c = console().await;
    let p = c.w.project.to_string();
    for path in [
        "/console".to_owned(),
        format!("/console/projects/{p}"),
        format!("/console/projects/{p}/reports/monthly/2025-04/1/pdf"),
    ] {
        let (status, headers, _) = c.get(&path, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/console/sign-in");
        // a forged cookie is no session
        let (status, _, _) = c.get(&path, Some("roi_session=eyJzIjoiMSJ9.AAAA")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let json = c
            .send(
                Request::get(&path)
                    .header(header::ACCEPT, "application/json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(json.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    for path in [
        "/console/sign-out".to_owned(),
        format!("/console/projects/{p}/status"),
        format!("/console/projects/{p}/measurements/x"),
        format!("/console/projects/{p}/reports/monthly/2025-04/1/approve"),
        "/console/clients/acme-logistics/dashboard-links".to_owned(),
        "/console/clients/acme-logistics/dashboard-links/x/revoke".to_owned(),
    ] {
        let (status, _, _) = c.post(&path, None, "csrf=x").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
    }
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_never_when_altered_or_expired() {
    let c = console().await;
    let (cookie, csrf) = c.sign_in().await;
    let (status, _, page) = c.get("/console", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Acme Logistics"),
        "the portfolio lists the client"
    );
    for h in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(
            c.get("/console", Some(&cookie)).await.1.contains_key(h),
            "{h}"
        );
    }
    // used
    let link = c.emailed_link().await;
    assert_eq!(
        c.post(path_of(&link), None, "").await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(c.post(path_of(&link), None, "").await.0, StatusCode::GONE);
    // altered: one character of the signature changed
    let fresh = c.emailed_link().await;
    let mut altered = fresh.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        c.post(path_of(&altered), None, "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get(path_of(&altered), None).await.0,
        StatusCode::FORBIDDEN
    );
    // expired: made 16 minutes ago
    let old = c
        .auth
        .sign_in_link(
            OPERATOR,
            c.w.store.clock().now() - chrono::Duration::minutes(16),
        )
        .unwrap()
        .unwrap();
    assert_eq!(c.post(path_of(&old), None, "").await.0, StatusCode::GONE);
    // not an operator: the same answer, and no e-mail
    let before = std::fs::read_dir(c.outbox.path().join("outbox"))
        .unwrap()
        .count();
    let (status, _, page) = c
        .post("/console/sign-in", None, "email=someone%40else.example")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("on its way"));
    assert_eq!(
        std::fs::read_dir(c.outbox.path().join("outbox"))
            .unwrap()
            .count(),
        before
    );
    // sign-out ends the session: the cookie opens nothing afterwards
    let (status, _, _) = c
        .post("/console/sign-out", Some(&cookie), &format!("csrf={csrf}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        c.get("/console", Some(&cookie)).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let c = console().await;
    let (cookie, csrf) = c.sign_in().await;
    let p = c.w.project.to_string();
    let path = format!("/console/projects/{p}/status");
    for form in [
        "status=deployed".to_owned(),
        "status=deployed&csrf=forged".to_owned(),
    ] {
        let (status, _, _) = c.post(&path, Some(&cookie), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
    }
    let stored = c.w.store.project(&c.w.project).await.unwrap().unwrap();
    assert_eq!(stored.status, roi_domain::ProjectStatus::Planning);
    // with the token the change is made, audited with the operator's address
    let (status, _, _) = c
        .post(
            &path,
            Some(&cookie),
            &format!("status=deployed&csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = c.w.store.project(&c.w.project).await.unwrap().unwrap();
    assert_eq!(stored.status, roi_domain::ProjectStatus::Deployed);
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let audit = c.w.store.audit_entries(&client, "2025-05").await.unwrap();
    assert!(audit.iter().any(|e| e.action == "project_changed"
        && e.actor == OPERATOR
        && e.detail.contains("deployed")));
    // the portfolio's summary follows
    let summary = c.w.store.summaries().await.unwrap();
    assert_eq!(summary[0].status, "deployed");
}

#[tokio::test]
async fn a_measurement_needing_review_is_confirmed_or_rejected_with_a_reason() {
    let c = console().await;
    let jump = roi_app::measurements::import_tracking(
        &c.w.store,
        &c.w.project,
        include_bytes!("fixtures/tracking-jump.csv"),
        "test",
    )
    .await
    .unwrap();
    let id = jump.snapshots[0].0.id().to_string();
    let (cookie, csrf) = c.sign_in().await;
    let p = c.w.project.to_string();
    let (_, _, page) = c
        .get(&format!("/console/projects/{p}"), Some(&cookie))
        .await;
    assert!(page.contains("needs review") && page.contains(&format!("confirm-{id}")));
    let path = format!("/console/projects/{p}/measurements/{id}");
    // a rejection needs a reason
    let (status, _, page) = c
        .post(
            &path,
            Some(&cookie),
            &format!("decision=reject&reason=&csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("needs a reason"), "{page}");
    let (status, _, _) = c
        .post(
            &path,
            Some(&cookie),
            &format!("decision=confirm&reason=checked+with+the+client&csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let s =
        c.w.store
            .snapshots(&c.w.project)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.id().to_string() == id)
            .unwrap();
    assert_eq!(s.status(), roi_domain::SnapshotStatus::Recorded);
    assert_eq!(s.reviewed().unwrap().by, OPERATOR);
    // deciding again is refused: it no longer needs review
    let (status, _, _) = c
        .post(
            &path,
            Some(&cookie),
            &format!("decision=reject&reason=x&csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_dashboard_link_shows_the_client_and_stops_when_revoked() {
    let c = console().await;
    roi_app::compute::recompute_project(
        &c.w.store,
        &c.w.store.project(&c.w.project).await.unwrap().unwrap(),
    )
    .await
    .unwrap();
    // what the daily job does after computing
    roi_app::console::summary::refresh(&c.w.store, &c.w.project)
        .await
        .unwrap();
    let (cookie, csrf) = c.sign_in().await;
    let (status, _, page) = c
        .post(
            "/console/clients/acme-logistics/dashboard-links",
            Some(&cookie),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at = page.find("https://roi.example/d/").unwrap();
    let url = page[at..].split('<').next().unwrap().to_owned();
    let (status, _, page) = c.get(path_of(&url), None).await;
    assert_eq!(status, StatusCode::OK);
    let roi = c.w.store.latest_roi(&c.w.project).await.unwrap().unwrap();
    assert!(
        page.contains(&format!("{} %", roi.roi_percentage.round_dp(1))),
        "the headline ROI"
    );
    assert!(
        !page.contains("am@consultancy") && !page.contains("csrf"),
        "no operator data"
    );
    let link_id =
        c.w.store
            .dashboard_links_of(&"acme-logistics".parse().unwrap())
            .await
            .unwrap()[0]
            .link_id
            .clone();
    let (status, _, _) = c
        .post(
            &format!("/console/clients/acme-logistics/dashboard-links/{link_id}/revoke"),
            Some(&cookie),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(c.get(path_of(&url), None).await.0, StatusCode::GONE);
    assert_eq!(c.get("/d/not-a-token", None).await.0, StatusCode::FORBIDDEN);
}

/// The form fields of a refused page, by the ids of their error messages.
fn errors_of(page: &str) -> Vec<String> {
    page.match_indices("-error\">")
        .map(|(at, _)| {
            let start = page[..at].rfind("id=\"").unwrap() + 4;
            page[start..at].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn clients_and_projects_are_added_and_edited_with_every_bad_field_named() {
    let c = console().await;
    let (cookie, csrf) = c.sign_in().await;
    let cookie = Some(cookie.as_str());
    // a new client: every bad field named, nothing stored
    let (status, _, page) = c
        .post(
            "/console/new-client",
            cookie,
            &format!("csrf={csrf}&company_name=&time_zone=Mars%2FOlympus&report_recipients=not-an-address"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        errors_of(&page),
        ["company_name", "time_zone", "report_recipients"],
        "{page}"
    );
    assert!(page.contains("Please correct 3 fields"), "{page}");
    assert_eq!(c.w.store.clients().await.unwrap().len(), 1);
    let (status, headers, _) = c
        .post(
            "/console/new-client",
            cookie,
            &format!("csrf={csrf}&company_name=Globex+Freight&time_zone=Europe%2FBerlin&status=prospect&report_recipients=cfo%40globex.example"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/console/clients/globex-freight");
    let (status, _, page) = c.get("/console/clients/globex-freight", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Globex Freight") && page.contains("Europe/Berlin"));

    // the profile: a negative contract and an impossible date are both named
    let (status, _, page) = c
        .post(
            "/console/clients/globex-freight/profile",
            cookie,
            &format!("csrf={csrf}&company_name=Globex+Freight&status=active&contract_value=-5&onboarding_date=2026-13-01"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        errors_of(&page),
        ["onboarding_date", "contract_value"],
        "{page}"
    );
    assert!(page.contains("value=\"-5\""), "the typed value is kept");
    let (status, _, _) = c
        .post(
            "/console/clients/globex-freight/profile",
            cookie,
            &format!("csrf={csrf}&company_name=Globex+Freight&status=active&contract_value=120000&onboarding_date=2026-10-01&company_size=51-200+employees&primary_contact=Ana+Ruiz"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let globex =
        c.w.store
            .client(&"globex-freight".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(globex.status, roi_domain::client::ClientStatus::Active);
    assert_eq!(
        globex.profile.contract_value.map(|m| m.amount()),
        Some(120000.into())
    );
    assert_eq!(globex.profile.primary_contact.as_deref(), Some("Ana Ruiz"));
    assert_eq!(
        globex.time_zone,
        chrono_tz::Europe::Berlin,
        "the time zone is kept"
    );

    // settings: out of range refused, then stored
    let (status, _, page) = c
        .post(
            "/console/clients/globex-freight/settings",
            cookie,
            &format!("csrf={csrf}&account_manager_email=am%40consultancy.example&requests_per_minute=0&events_per_minute=1000"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors_of(&page), ["requests_per_minute"], "{page}");
    let (status, _, _) = c
        .post(
            "/console/clients/globex-freight/settings",
            cookie,
            &format!("csrf={csrf}&account_manager_email=am%40consultancy.example&requests_per_minute=120&events_per_minute=1000&auto_send_reports=on&hourly_rate_usd=42.50"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let s = c.w.store.settings(&globex.id).await.unwrap();
    assert!(s.auto_send_reports);
    assert_eq!(s.requests_per_minute, 120);
    assert_eq!(s.hourly_rate_usd, Some("42.50".parse().unwrap()));

    // thresholds: a reversed pair named; then stored with a department budget
    let mut form = format!("csrf={csrf}");
    for (kpi, _) in roi_app::console::edit::THRESHOLDS {
        let (w, c) = if kpi == "error_rate" {
            ("6", "3") // lower is better: critical below warning is refused
        } else {
            ("", "")
        };
        form.push_str(&format!("&{kpi}-warning={w}&{kpi}-critical={c}"));
    }
    let (status, _, page) = c
        .post("/console/clients/globex-freight/thresholds", cookie, &form)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named = errors_of(&page);
    assert!(
        named.contains(&"error_rate-warning".to_owned()),
        "{named:?}"
    );
    assert!(
        named.contains(&"roi_percentage-critical".to_owned()),
        "{named:?}"
    );
    let mut form = format!("csrf={csrf}&department_budgets=support%3D2000%2C+sales%3D1500");
    let stored =
        roi_app::console::edit::threshold_values(&c.w.store.settings(&globex.id).await.unwrap());
    for (k, v) in &stored {
        if !k.ends_with("-direction") && k != "department_budgets" {
            let v = if k == "error_rate-warning" {
                "3"
            } else {
                v.as_str()
            };
            form.push_str(&format!("&{k}={v}"));
        }
    }
    let (status, _, _) = c
        .post("/console/clients/globex-freight/thresholds", cookie, &form)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let t = c.w.store.settings(&globex.id).await.unwrap().thresholds;
    assert_eq!(t.error_rate.warning, 3.into());
    assert_eq!(t.department_budgets_usd["support"], 2000.into());

    // a project: the missing investment named; then added, and its dates checked
    let (status, _, page) = c
        .post(
            "/console/clients/globex-freight/projects",
            cookie,
            &format!("csrf={csrf}&project_name=Claims+Bot&go_live_date=2026-11-02"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors_of(&page), ["one_time_investment"], "{page}");
    let (status, headers, _) = c
        .post(
            "/console/clients/globex-freight/projects",
            cookie,
            &format!("csrf={csrf}&project_name=Claims+Bot&go_live_date=2026-11-02&one_time_investment=30000&start_date=2026-08-01&status=development"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page_path = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(page_path, "/console/projects/globex-freight-claims-bot");
    let (status, _, page) = c
        .post(
            &format!("{page_path}/edit"),
            cookie,
            &format!("csrf={csrf}&project_name=Claims+Bot&one_time_investment=30000&completion_date=2026-10-01"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors_of(&page), ["completion_date"], "{page}");
    let stored =
        c.w.store
            .project(&"globex-freight-claims-bot".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored.start_date, Some("2026-08-01".parse().unwrap()));
    assert_eq!(stored.completion_date, None, "nothing stored on error");
    // the portfolio lists it at once
    let (_, _, page) = c.get("/console", cookie).await;
    assert!(page.contains("Globex Freight · Claims Bot"), "{page}");

    // an API key, shown once, then revoked
    let (status, _, page) = c
        .post(
            "/console/clients/globex-freight/api-keys",
            cookie,
            &format!("csrf={csrf}&name=claims-crm"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let marker = "id=\"new-key\">";
    let at = page.find(marker).unwrap() + marker.len();
    let key = page[at..].split('<').next().unwrap().to_owned();
    let auth = roi_app::api_keys::authenticate(&c.w.store, Some(&format!("Bearer {key}")))
        .await
        .unwrap();
    assert_eq!(auth.client_id, globex.id);
    let (status, _, _) = c
        .post(
            &format!(
                "/console/clients/globex-freight/api-keys/{}/revoke",
                auth.key_id
            ),
            cookie,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        roi_app::api_keys::authenticate(&c.w.store, Some(&format!("Bearer {key}")))
            .await
            .is_err()
    );

    // a form link for the project, signed for it
    let (status, _, page) = c
        .post(
            &format!("{page_path}/form-links"),
            cookie,
            &format!("csrf={csrf}&kind=ongoing&due=2026-12-02&days=10"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let marker = "https://roi.example/forms/";
    let at = page.find(marker).unwrap() + marker.len();
    let token = page[at..].split('<').next().unwrap();
    let claims = FormSigner::new(SECRET)
        .unwrap()
        .verify(token, c.w.store.clock().now())
        .unwrap();
    assert_eq!(claims.project.as_str(), "globex-freight-claims-bot");
    assert_eq!(claims.due, Some("2026-12-02".parse().unwrap()));
    // it opens the form until it is revoked in the console, then 410
    let forms = roi_app::http::forms::router(Arc::new(roi_app::http::forms::FormsState {
        store: c.w.store.clone(),
        signer: FormSigner::new(SECRET).unwrap(),
    }));
    let open = || async {
        forms
            .clone()
            .oneshot(
                Request::get(format!("/forms/{token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap()
            .status()
    };
    assert_eq!(open().await, StatusCode::OK);
    let (status, _, _) = c
        .post(
            &format!("{page_path}/form-links/{}/revoke", claims.nonce),
            cookie,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(open().await, StatusCode::GONE);
}

#[tokio::test]
async fn an_account_manager_reaches_no_route_of_a_client_not_theirs() {
    let c = console().await;
    roi_app::console::summary::refresh(&c.w.store, &c.w.project)
        .await
        .unwrap();
    let (cookie, csrf) = c.sign_in_as(OTHER).await;
    let cookie = Some(cookie.as_str());
    let p = c.w.project.to_string();
    // the portfolio does not list the client
    let (status, _, page) = c.get("/console", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Acme Logistics"), "{page}");
    // every route naming the client or its project answers as if it did not exist
    for path in [
        format!("/console/projects/{p}"),
        format!("/console/projects/{p}/reports/monthly/2025-04/1/pdf"),
        "/console/clients/acme-logistics".to_owned(),
    ] {
        assert_eq!(
            c.get(&path, cookie).await.0,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    for (path, form) in [
        (format!("/console/projects/{p}/status"), "status=deployed"),
        (
            format!("/console/projects/{p}/edit"),
            "project_name=Taken&one_time_investment=1",
        ),
        (format!("/console/projects/{p}/form-links"), "kind=ongoing"),
        (format!("/console/projects/{p}/form-links/0123/revoke"), ""),
        (
            format!("/console/projects/{p}/measurements/x"),
            "decision=confirm",
        ),
        (
            format!("/console/projects/{p}/reports/monthly/2025-04/1/approve"),
            "",
        ),
        (
            format!("/console/projects/{p}/reports/monthly/2025-04/1/withdraw"),
            "reason=x",
        ),
        (
            "/console/clients/acme-logistics/profile".to_owned(),
            "company_name=Taken",
        ),
        (
            "/console/clients/acme-logistics/settings".to_owned(),
            "requests_per_minute=1&events_per_minute=1",
        ),
        ("/console/clients/acme-logistics/thresholds".to_owned(), ""),
        (
            "/console/clients/acme-logistics/projects".to_owned(),
            "project_name=X",
        ),
        (
            "/console/clients/acme-logistics/api-keys".to_owned(),
            "name=stolen",
        ),
        (
            "/console/clients/acme-logistics/api-keys/0123abcd/revoke".to_owned(),
            "",
        ),
        (
            "/console/clients/acme-logistics/dashboard-links".to_owned(),
            "",
        ),
        (
            "/console/clients/acme-logistics/dashboard-links/x/revoke".to_owned(),
            "",
        ),
    ] {
        let (status, _, _) = c.post(&path, cookie, &format!("csrf={csrf}&{form}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}");
    }
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let stored = c.w.store.project(&c.w.project).await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        roi_domain::ProjectStatus::Planning,
        "nothing changed"
    );
    assert!(c.w.store.api_keys_of(&client).await.unwrap().is_empty());
    assert!(
        c.w.store
            .dashboard_links_of(&client)
            .await
            .unwrap()
            .is_empty()
    );
    // once the client names them as its account manager, it is theirs
    let mut settings = c.w.store.settings(&client).await.unwrap();
    settings.account_manager_email = Some(OTHER.into());
    c.w.store.put_settings(&client, &settings).await.unwrap();
    roi_app::console::summary::refresh(&c.w.store, &c.w.project)
        .await
        .unwrap();
    assert_eq!(
        c.get(&format!("/console/projects/{p}"), cookie).await.0,
        StatusCode::OK
    );
    assert!(c.get("/console", cookie).await.2.contains("Acme Logistics"));
}

#[tokio::test]
async fn the_client_page_shows_the_cost_reconciliation() {
    let c = console().await;
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    // the sample Anthropic cost report, moved to the world's last week (no usage metered:
    // every day is over the tolerance)
    let report = include_str!("../../../../events/usage-reports/anthropic-cost-report.json")
        .replace("2026-11-18", "2025-04-28")
        .replace("2026-11-19", "2025-04-29")
        .replace("2026-11-20", "2025-04-30");
    roi_app::cost_import::import_cost(
        &c.w.store,
        &client,
        &report,
        roi_app::usage_import::ReportFormat::Anthropic,
        "test",
    )
    .await
    .unwrap();
    let (cookie, _) = c.sign_in().await;
    let (status, _, page) = c
        .get("/console/clients/acme-logistics", Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows =
        c.w.store
            .reconciled_since(&client, "2025-04-01".parse().unwrap())
            .await
            .unwrap();
    assert!(!rows.is_empty());
    for r in rows.iter().filter(|r| r.invoiced_usd.is_some()) {
        assert!(
            page.contains(&format!("<td>{}</td><td>{}</td>", r.day, r.provider)),
            "{page}"
        );
        assert!(page.contains(&roi_domain::units::usd_cents(r.invoiced_usd.unwrap())));
    }
    assert!(
        page.contains("badge crit"),
        "metered nothing against an invoice: flagged"
    );
}
