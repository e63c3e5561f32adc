//! Runs every golden case of the official Datastar SDK test suite against the `/test` endpoint
//! of `livestar-examples` (built only with livestar's public API), comparing as the official
//! runner does (see `datastar-sdk-cases/README.md`), plus a byte-for-byte comparison of our
//! canonical field order where the golden file uses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::body::Body;
use http::{Request, StatusCode};
use tower::ServiceExt;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datastar-sdk-cases")
}

/// Every case folder below `get/` or `post/`, with its method.
fn cases() -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    for method in ["get", "post"] {
        let dir = cases_dir().join(method);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("readable case folder").path();
            cases.push((method.to_owned(), path));
        }
    }
    cases.sort();
    cases
}

async fn run_case(method: &str, input: &str) -> (StatusCode, String) {
    let request = match method {
        "get" => {
            let query: String = url_encode(input);
            Request::get(format!("/test?datastar={query}"))
                .header("accept", "text/event-stream")
                .header("datastar-request", "true")
                .body(Body::empty())
        }
        _ => Request::post("/test")
            .header("accept", "text/event-stream")
            .header("datastar-request", "true")
            .header("content-type", "application/json")
            .body(Body::from(input.to_owned())),
    }
    .expect("valid request");
    let response = livestar_examples::sdk_test::router()
        .oneshot(request)
        .await
        .expect("infallible router");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        String::from_utf8(body.to_vec()).expect("UTF-8 body"),
    )
}

fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One event as the official runner compares it.
#[derive(Debug, PartialEq)]
struct ComparableEvent {
    fields: BTreeMap<String, String>,
    data: BTreeMap<String, Vec<String>>,
}

fn parse_events(body: &str) -> Vec<ComparableEvent> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut fields = BTreeMap::new();
            let mut data: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for line in block.lines() {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.trim();
                if name == "data" {
                    let (key, rest) = value.split_once(' ').unwrap_or((value, ""));
                    data.entry(key.to_owned())
                        .or_default()
                        .push(rest.to_owned());
                } else {
                    fields.insert(name.to_owned(), value.to_owned());
                }
            }
            if let Some(lines) = data.remove("elements") {
                data.insert(
                    "elements".to_owned(),
                    vec![normalise_html(&lines.join("\n"))],
                );
            }
            ComparableEvent { fields, data }
        })
        .collect()
}

/// Parses HTML and writes it back with each element's attributes sorted.
fn normalise_html(html: &str) -> String {
    fn walk(node: ego_tree::NodeRef<'_, scraper::Node>, out: &mut String) {
        match node.value() {
            scraper::Node::Element(element) => {
                let mut attrs: Vec<_> = element.attrs().collect();
                attrs.sort();
                out.push('<');
                out.push_str(element.name());
                for (name, value) in attrs {
                    out.push_str(&format!(" {name}={value:?}"));
                }
                out.push('>');
                for child in node.children() {
                    walk(child, out);
                }
                out.push_str(&format!("</{}>", element.name()));
            }
            scraper::Node::Text(text) => out.push_str(text),
            _ => {
                for child in node.children() {
                    walk(child, out);
                }
            }
        }
    }
    let fragment = scraper::Html::parse_fragment(html);
    let mut out = String::new();
    walk(fragment.tree.root(), &mut out);
    out
}

#[tokio::test]
async fn every_golden_case_passes() {
    let cases = cases();
    assert_eq!(
        cases.len(),
        20,
        "the suite has 19 GET cases and 1 POST case"
    );
    let mut failures = Vec::new();
    for (method, dir) in &cases {
        let input = std::fs::read_to_string(dir.join("input.json")).expect("input.json");
        let expected = std::fs::read_to_string(dir.join("output.txt")).expect("output.txt");
        let (status, body) = run_case(method, &input).await;
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        if status != StatusCode::OK {
            failures.push(format!("{method}/{name}: status {status}: {body}"));
            continue;
        }
        let (got, want) = (parse_events(&body), parse_events(&expected));
        if got != want {
            failures.push(format!(
                "{method}/{name}:\n--- expected\n{expected}\n--- got\n{body}\n"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn golden_cases_in_canonical_order_match_byte_for_byte() {
    // Where the golden output already lists fields in the canonical order, ours is identical.
    let mut compared = 0;
    for (method, dir) in cases() {
        let input = std::fs::read_to_string(dir.join("input.json")).expect("input.json");
        let expected = std::fs::read_to_string(dir.join("output.txt")).expect("output.txt");
        let (_, body) = run_case(&method, &input).await;
        let canonical = expected.find("data: mode").is_none_or(|mode| {
            expected
                .find("data: selector")
                .is_none_or(|selector| selector < mode)
        });
        if canonical && !expected.contains("<script") {
            assert_eq!(body.trim_end(), expected.trim_end(), "{}", dir.display());
            compared += 1;
        }
    }
    assert!(
        compared >= 14,
        "only {compared} cases were in canonical order"
    );
}

#[tokio::test]
async fn malformed_input_is_a_400_not_a_panic() {
    for input in [
        "not json",
        r#"{"events": 3}"#,
        r#"{"events": [{"type": "explode"}]}"#,
        r#"{"events": [{"type": "patchElements", "elements": "<p></p>", "mode": "sideways"}]}"#,
        r#"{"events": [{"type": "patchSignals"}]}"#,
    ] {
        let (status, body) = run_case("post", input).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}: {body}");
        assert!(!body.is_empty(), "{input}: a 400 says why");
    }
}
