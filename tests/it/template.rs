//! The SAM template (`infra/template.yaml`): `sam validate --lint`, cfn-lint and checkov
//! pass, and the template as CloudFormation expands it (aws-sam-translator) grants no `*`
//! action or resource and wires every function as the application expects.
//!
//! The tools live in virtual environments under `target/iac/` that `tests/run.sh`
//! installs (`checkov`: cfn-lint, checkov, aws-sam-translator; `sam`: the SAM CLI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn tool(venv: &str, name: &str) -> PathBuf {
    let path = root().join("target/iac").join(venv).join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash tests/run.sh`, which installs the template tools",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> Output {
    let out = command
        .current_dir(root().join("infra"))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn cfn_lint_passes() {
    run(Command::new(tool("checkov", "cfn-lint")).arg("template.yaml"));
}

#[test]
fn sam_validate_lint_passes() {
    let out =
        run(Command::new(tool("sam", "sam")).args(["validate", "--lint", "-t", "template.yaml"]));
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is a valid SAM Template"), "{said}");
}

#[test]
fn checkov_passes_and_every_suppression_says_why() {
    let out = run(Command::new(tool("checkov", "checkov")).args([
        "-f",
        "template.yaml",
        "--framework",
        "cloudformation",
        "--skip-download",
        "--compact",
        "-o",
        "json",
    ]));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["failed"], 0, "{summary}");
    assert!(summary["passed"].as_u64().unwrap() >= 20, "{summary}");
    let skipped = report["results"]["skipped_checks"].as_array().unwrap();
    for s in skipped {
        let reason = s["check_result"]["suppress_comment"].as_str().unwrap_or("");
        assert!(
            reason.len() > 20,
            "{} on {} is suppressed without a reason",
            s["check_id"],
            s["resource"]
        );
    }
}

fn expanded() -> Value {
    let script = root().join("tests/sam_expand.py");
    let out = run(Command::new(tool("checkov", "python"))
        .arg(script)
        .arg("template.yaml"));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// Whether a policy element holds a wildcard other than one trailing `/*` under a named key
/// prefix: `*`, `s3:*`, `arn:aws:s3:::*` are; `${ReportsBucket.Arn}/reports/*` is not.
fn is_wildcard(v: &Value) -> bool {
    let text = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(s) => as_list(s).first().and_then(|t| t.as_str()).unwrap_or(""),
            None => return false,
        },
        _ => return false,
    };
    match text.strip_suffix("/*") {
        Some(prefix) => prefix.contains('*') || prefix.ends_with(':') || !prefix.contains('/'),
        None => text.contains('*'),
    }
}

#[test]
fn expanded_template_grants_no_wildcard_and_wires_every_function() {
    let template = expanded();
    let resources = template["Resources"].as_object().unwrap();

    let mut statements = 0;
    for (name, r) in resources {
        let docs: Vec<&Value> = match r["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => as_list(&r["Properties"]["Policies"])
                .into_iter()
                .map(|p| &p["PolicyDocument"])
                .collect(),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                vec![&r["Properties"]["PolicyDocument"]]
            }
            _ => continue,
        };
        for doc in docs {
            for st in as_list(&doc["Statement"]) {
                statements += 1;
                for action in as_list(&st["Action"]) {
                    let a = action.as_str().unwrap();
                    assert!(!a.contains('*'), "{name} allows the action {a}");
                }
                for resource in as_list(&st["Resource"]) {
                    assert!(
                        !is_wildcard(resource),
                        "{name} names the resource {resource}"
                    );
                }
                assert!(st.get("NotAction").is_none() && st.get("NotResource").is_none());
            }
        }
        for arn in as_list(&r["Properties"]["ManagedPolicyArns"]) {
            let arn = arn.as_str().unwrap();
            assert!(
                arn.ends_with("/AWSLambdaBasicExecutionRole")
                    || arn.ends_with("/AWSXrayWriteOnlyAccess"),
                "{name} has the managed policy {arn}"
            );
        }
    }
    assert!(statements >= 20, "only {statements} statements found");

    let functions = [
        ("SubmitFormFunction", false),
        ("ConsoleFunction", false),
        ("IngestEventsFunction", false),
        ("ComputeRoiFunction", true),
        ("GenerateReportFunction", true),
    ];
    for (name, scheduled) in functions {
        let p = &resources[name]["Properties"];
        assert_eq!(p["Runtime"], "provided.al2023", "{name}");
        assert_eq!(p["Architectures"][0], "arm64", "{name}");
        assert_eq!(p["Handler"], "bootstrap", "{name}");
        assert_eq!(p["TracingConfig"]["Mode"], "Active", "{name}");
        assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON", "{name}");
        let env = p["Environment"]["Variables"].as_object().unwrap();
        assert!(env.contains_key("ROI_TABLE"), "{name}");
        assert!(
            !env.contains_key("ROI_FORM_SECRET"),
            "{name}: the key comes from Secrets Manager"
        );
        let log_group = p["LoggingConfig"]["LogGroup"]["Ref"].as_str().unwrap();
        assert!(resources[log_group]["Properties"]["RetentionInDays"].is_object());
        let alarm = resources.values().any(|r| {
            r["Type"] == "AWS::CloudWatch::Alarm"
                && r["Properties"]["MetricName"] == "Errors"
                && r["Properties"]["Dimensions"][0]["Value"]["Ref"] == name
        });
        assert!(alarm, "{name} has no error alarm");
        if scheduled {
            let on_failure = &resources[&format!("{name}EventInvokeConfig")]["Properties"]["DestinationConfig"]
                ["OnFailure"]["Destination"];
            assert_eq!(on_failure["Fn::GetAtt"][0], "FailureQueue", "{name}");
        }
    }

    let schedules: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Scheduler::Schedule")
        .collect();
    let inputs: Vec<Value> = schedules
        .iter()
        .map(|s| {
            let t = &s["Properties"]["Target"];
            assert_eq!(
                t["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0],
                "FailureQueue"
            );
            serde_json::from_str(t["Input"].as_str().unwrap()).unwrap()
        })
        .collect();
    for job in ["daily", "alert_check"] {
        assert!(inputs.iter().any(|i| i["job"] == job), "no {job} schedule");
    }
    for kind in ["weekly", "monthly", "quarterly", "annual", "executive"] {
        assert!(
            inputs.iter().any(|i| i["kind"] == kind),
            "no {kind} report schedule"
        );
    }
    let alert = schedules
        .iter()
        .find(|s| {
            s["Properties"]["Target"]["Input"]
                .as_str()
                .unwrap()
                .contains("alert_check")
        })
        .unwrap();
    assert_eq!(alert["Properties"]["ScheduleExpression"], "rate(5 minutes)");

    // The HTTP API's routes are the routers' routes, with stage throttling.
    let api = &resources["HttpApi"]["Properties"]["Body"]["paths"];
    for (path, method) in [
        ("/forms/{token}", "get"),
        ("/forms/{token}", "post"),
        ("/r/{token}", "get"),
        ("/v1/events", "post"),
        ("/v1/traces", "post"),
        ("/v1/rollups/daily/{date}", "get"),
        ("/v1/rollups/weekly/{date}", "get"),
        ("/v1/roi/current", "get"),
    ] {
        assert!(api[path][method].is_object(), "no route {method} {path}");
    }
    // the console's routes, on the same API, to the console function
    let console_routes: std::collections::BTreeSet<&str> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|r| {
            assert_eq!(r["Properties"]["ApiId"]["Ref"], "HttpApi");
            r["Properties"]["RouteKey"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        console_routes,
        [
            "GET /console",
            "GET /console/{proxy+}",
            "GET /d/{token}",
            "POST /console/{proxy+}"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        resources["ConsoleIntegration"]["Properties"]["IntegrationUri"]["Fn::GetAtt"][0],
        "ConsoleFunction"
    );
    let stage = &resources["HttpApiApiGatewayDefaultStage"]["Properties"];
    assert!(stage["DefaultRouteSettings"]["ThrottlingBurstLimit"].is_object());
    assert!(stage["DefaultRouteSettings"]["ThrottlingRateLimit"].is_object());
    assert!(template["Outputs"]["ApiUrl"].is_object());

    // Storage as the single-table design and the seeds' retention want it.
    let table = &resources["Table"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    let bucket = &resources["ReportsBucket"]["Properties"];
    let block = &bucket["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k], true, "{k}");
    }
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    // reports are read over TLS only (issue 13)
    let tls = &resources["ReportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (
            tls["Effect"].as_str(),
            tls["Condition"]["Bool"]["aws:SecureTransport"].as_str()
        ),
        (Some("Deny"), Some("false"))
    );
    // and a report whose e-mail failed raises an alarm
    let delivery = &resources["ReportDeliveryFailures"]["Properties"];
    assert_eq!(delivery["MetricName"], "report_delivery_failed");

    // Scheduled work fans out on SQS, one unit per client (issue 13): compute-roi queues
    // and consumes them with partial batch failures; a unit failing three times is
    // dead-lettered, with an alarm.
    let compute = &resources["ComputeRoiFunction"]["Properties"];
    assert_eq!(
        compute["Environment"]["Variables"]["ROI_JOB_QUEUE_URL"]["Ref"],
        "JobQueue"
    );
    let queue = &resources["JobQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "JobDeadLetterQueue"
    );
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"], 3);
    assert!(
        queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * compute["Timeout"].as_u64().unwrap(),
        "a unit stays hidden while compute-roi may still run it"
    );
    let mapping = &resources["ComputeRoiUnits"]["Properties"];
    assert_eq!(mapping["EventSourceArn"]["Fn::GetAtt"][0], "JobQueue");
    assert_eq!(
        mapping["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    // a unit's failing step alarms at once, on the counter `roi_app::jobs` increments,
    // in the namespace and with the dimension the functions' EMF documents carry
    let failed = &resources["JobUnitsFailedAlarm"]["Properties"];
    let env = &resources["ComputeRoiFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(failed["MetricName"], "job_units_failed");
    assert_eq!(failed["Namespace"], env["ROI_METRICS_NAMESPACE"]);
    assert_eq!(
        failed["Dimensions"][0],
        serde_json::json!({"Name": "function", "Value": "compute-roi"})
    );
    assert_eq!(failed["AlarmActions"][0]["Ref"], "AlarmTopic");
    let dead = &resources["JobDeadLetterAlarm"]["Properties"];
    assert_eq!(
        (
            dead["MetricName"].as_str(),
            dead["Dimensions"][0]["Value"]["Fn::GetAtt"][0].as_str()
        ),
        (
            Some("ApproximateNumberOfMessagesVisible"),
            Some("JobDeadLetterQueue")
        )
    );

    // Each role allows only the table actions its function's code calls (reviewed for
    // issue 13: BatchGetItem is the event claims and raw-key checks of ingestion; BatchWrite
    // and Delete are ingestion's batches, the roll-up generations and released claims).
    for (function, actions) in [
        ("SubmitFormFunction", vec!["GetItem", "Query", "PutItem"]),
        // the console deletes only sessions (sign-out), by the condition below
        (
            "ConsoleFunction",
            vec!["GetItem", "Query", "PutItem", "DeleteItem"],
        ),
        (
            "IngestEventsFunction",
            vec![
                "GetItem",
                "Query",
                "PutItem",
                "BatchGetItem",
                "BatchWriteItem",
            ],
        ),
        (
            "ComputeRoiFunction",
            vec![
                "GetItem",
                "Query",
                "PutItem",
                "BatchWriteItem",
                "DeleteItem",
            ],
        ),
        (
            "GenerateReportFunction",
            vec!["GetItem", "Query", "PutItem"],
        ),
    ] {
        let role = &resources[&format!("{function}Role")]["Properties"]["Policies"];
        let allowed: std::collections::BTreeSet<String> = as_list(role)
            .into_iter()
            .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
            .filter(|st| st["Effect"] == "Allow")
            .flat_map(|st| as_list(&st["Action"]))
            .filter_map(|a| a.as_str()?.strip_prefix("dynamodb:").map(str::to_owned))
            .collect();
        let expected: std::collections::BTreeSet<String> =
            actions.into_iter().map(str::to_owned).collect();
        assert_eq!(allowed, expected, "{function}");
    }
    let console = as_list(&resources["ConsoleFunctionRole"]["Properties"]["Policies"])
        .into_iter()
        .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
        .find(|st| st["Sid"] == "SignOutDeletesTheSession")
        .expect("the console's delete statement");
    assert_eq!(
        console["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0],
        "SESSION#*"
    );
}

#[test]
fn wildcard_detection_catches_what_it_must() {
    for wild in [
        serde_json::json!("*"),
        serde_json::json!("s3:*"),
        serde_json::json!("arn:aws:dynamodb:us-east-1:1:table/*"),
        serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}),
        serde_json::json!({"Fn::Sub": "*"}),
    ] {
        assert!(is_wildcard(&wild), "{wild}");
    }
    for named in [
        serde_json::json!({"Fn::Sub": "${ReportsBucket.Arn}/reports/*"}),
        serde_json::json!({"Fn::GetAtt": ["Table", "Arn"]}),
        serde_json::json!("arn:aws:sqs:us-east-1:1:failures"),
    ] {
        assert!(!is_wildcard(&named), "{named}");
    }
}
