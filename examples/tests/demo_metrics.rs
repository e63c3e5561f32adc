//! The demo's `GET /metrics`, in process: valid Prometheus text with livestar's figures in it,
//! and the dashboard's chart of them.

use std::collections::HashMap;

use axum::body::Body;
use http::Request;
use livestar::testing::TestClient;
use livestar_examples::demo::{self, Config};
use tower::ServiceExt;

/// One sample of a Prometheus text exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4): `# HELP`/`# TYPE` lines and samples
/// `name{label="value",...} value [timestamp]`. Panics, saying which line, on anything else.
fn parse(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = HashMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "unknown type in {line:?}"
                    );
                    types.insert(name.to_owned(), kind.to_owned());
                }
                (Some("HELP"), Some(_), _) => {}
                _ => panic!("a comment that is neither HELP nor TYPE: {line:?}"),
            }
            continue;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
        let (name, mut rest) = line.split_at(name_end);
        assert!(
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':'),
            "a bad metric name in {line:?}"
        );
        let mut labels = HashMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let close = closing_brace(inner).unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
            for pair in split_labels(&inner[..close]) {
                let (key, value) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("a label without `=` in {line:?}"));
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("an unquoted label value in {line:?}"));
                labels.insert(
                    key.to_owned(),
                    value.replace("\\\"", "\"").replace("\\\\", "\\"),
                );
            }
            rest = &inner[close + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("a value that is not a number in {line:?}")),
        };
        if let Some(timestamp) = fields.next() {
            assert!(
                timestamp.parse::<i64>().is_ok(),
                "a bad timestamp in {line:?}"
            );
        }
        assert_eq!(fields.next(), None, "trailing fields in {line:?}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// The index of the `}` that closes a label set, skipping quoted values.
fn closing_brace(labels: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in labels.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// `a="1",b="x,y"` as its pairs, commas inside quotes kept.
fn split_labels(labels: &str) -> Vec<&str> {
    let mut pairs = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in labels.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(&labels[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < labels.len() {
        pairs.push(&labels[start..]);
    }
    pairs
}

#[tokio::test]
async fn get_metrics_is_prometheus_text_with_the_live_views_figures() {
    let app = demo::app(&Config::parse(Vec::<String>::new()).expect("the default config"))
        .await
        .expect("the in-memory demo starts");
    let router = demo::router(app);
    let client = TestClient::new(router.clone());
    let mut dashboard = client
        .get(demo::dashboard::dashboard_stats::PATH)
        .send()
        .await
        .expect("the dashboard's live view");
    dashboard.next_patch().await.expect("its first view");

    let response = router
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), http::StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|kind| kind.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        response.headers()["content-type"]
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body");
    let text = std::str::from_utf8(&body).expect("UTF-8");
    let (samples, types) = parse(text);

    let dashboard_route = |sample: &&Sample| {
        sample.labels.get("route").map(String::as_str) == Some("/dashboard/live")
    };
    let streams = samples
        .iter()
        .filter(|s| s.name == "livestar_live_streams")
        .find(dashboard_route)
        .unwrap_or_else(|| panic!("no livestar_live_streams of the dashboard in:\n{text}"));
    assert_eq!(streams.value, 1.0);
    let loads = samples
        .iter()
        .filter(|s| s.name == "livestar_live_loads_total")
        .find(dashboard_route)
        .unwrap_or_else(|| panic!("no livestar_live_loads_total of the dashboard in:\n{text}"));
    assert!(loads.value >= 1.0);
    assert!(
        samples
            .iter()
            .any(|s| s.name == "livestar_sse_bytes_total" && s.value > 0.0),
        "no bytes counted in:\n{text}"
    );
    assert_eq!(
        types.get("livestar_live_streams").map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        types.get("livestar_live_renders_total").map(String::as_str),
        Some("counter")
    );
    assert!(
        samples.iter().all(|s| !s.name.starts_with("livestar_")
            || s.labels.keys().all(|k| [
                "route",
                "encoding",
                "target",
                "direction",
                "outcome",
                "le",
                "quantile"
            ]
            .contains(&k.as_str()))),
        "a livestar metric with an unexpected label in:\n{text}"
    );
}

#[test]
fn the_traffic_chart_draws_one_line_per_figure() {
    use demo::metrics::{Point, Traffic};

    let traffic = Traffic {
        points: (0..5)
            .map(|n| Point {
                renders_per_second: f64::from(n),
                streams: 2.0,
                bytes_per_second: 100.0 * f64::from(n),
            })
            .collect(),
    };
    let html = demo::dashboard::traffic_view(&traffic);
    let html = html.as_str();
    assert!(html.starts_with(r#"<div id="traffic""#), "{html}");
    assert_eq!(html.matches("<polyline").count(), 3, "{html}");
    assert!(html.contains("<b>4.0</b> renders / s"), "{html}");
    assert!(html.contains("<b>2</b> open streams"), "{html}");
    assert!(html.contains("<b>400</b> bytes / s sent"), "{html}");
}
