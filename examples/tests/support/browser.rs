//! Drives Debian's Chromium, headless, with the real Datastar v1 client, for the browser tests.
//!
//! A test starts a [`Scenario`], opens tabs, and ends with [`Scenario::finish`]: on failure the
//! screenshot and HTML of every tab are saved under `target/browser-failures/<scenario>/` and
//! the test fails naming them. The browser is closed either way.
//!
//! Without Chromium or the Datastar client a scenario is skipped with a message, unless
//! `LIVESTAR_REQUIRE_BROWSER=1`, which makes it fail (`scripts/test` sets it and installs both).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Element, Page};
use futures::StreamExt;
use tokio::task::JoinHandle;

/// The flags every browser test runs Chromium with, besides `--headless`, `--no-sandbox` and
/// `--user-data-dir` (chromiumoxide writes the leading dashes).
const FLAGS: [&str; 6] = [
    "disable-gpu",
    "no-first-run",
    "disable-background-networking",
    "disable-component-update",
    "disable-sync",
    "disable-dev-shm-usage",
];

/// How long a condition in the page may take to become true.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The workspace's `target` folder.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn required() -> bool {
    std::env::var("LIVESTAR_REQUIRE_BROWSER").as_deref() == Ok("1")
}

/// Where the Datastar client is: `LIVESTAR_DATASTAR_JS`, or where `scripts/test` puts it.
pub fn datastar_js() -> Option<PathBuf> {
    let path = std::env::var_os("LIVESTAR_DATASTAR_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/datastar/datastar-core.js")
        });
    path.is_file().then_some(path)
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LIVESTAR_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Says why the scenario cannot run: fails when the browser is required, skips otherwise.
fn unavailable(scenario: &str, why: &str) -> Option<Scenario> {
    if required() {
        panic!("{scenario}: {why} (LIVESTAR_REQUIRE_BROWSER=1; run ./scripts/test to install it)");
    }
    eprintln!("skipped browser scenario {scenario}: {why}; ./scripts/test installs it");
    None
}

/// One browser test: a headless Chromium with its own profile, and the tabs it opened.
pub struct Scenario {
    name: String,
    browser: Browser,
    handler: JoinHandle<()>,
    tabs: Vec<(String, Page)>,
    profiles: HashMap<String, BrowserContextId>,
    _profile: tempfile::TempDir,
}

impl Scenario {
    /// Starts Chromium for the scenario `name`, or returns `None` (after saying so) when the
    /// browser or the Datastar client is missing and not required.
    pub async fn start(name: &str) -> Option<Scenario> {
        Scenario::start_with(name, &[]).await
    }

    /// [`start`](Self::start) with more Chromium flags for this scenario only (without the
    /// leading dashes), e.g. `ignore-certificate-errors` for the demo's self-signed HTTPS.
    pub async fn start_with(name: &str, flags: &[&str]) -> Option<Scenario> {
        let Some(executable) = chromium() else {
            return unavailable(name, "Chromium is not installed");
        };
        if datastar_js().is_none() {
            return unavailable(name, "the Datastar client (datastar-core.js) is missing");
        }
        let profile = tempfile::tempdir().expect("a temporary profile folder");
        let config = BrowserConfig::builder()
            .chrome_executable(executable)
            .disable_default_args()
            .no_sandbox()
            .user_data_dir(profile.path())
            .args(FLAGS)
            .args(flags.iter().copied())
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(30))
            .build()
            .expect("browser config");
        let (browser, mut events) = Browser::launch(config).await.expect("Chromium starts");
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Some(Scenario {
            name: name.to_owned(),
            browser,
            handler,
            tabs: Vec::new(),
            profiles: HashMap::new(),
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab called `label` (used in failure reports).
    pub async fn open(&mut self, label: &str, url: &str) -> Result<Page, String> {
        let page = self
            .browser
            .new_page(url)
            .await
            .map_err(|e| format!("open {url} in {label}: {e}"))?;
        self.tabs.push((label.to_owned(), page.clone()));
        Ok(page)
    }

    /// Opens `url` in a new tab called `label` of the browser profile `profile`: a separate
    /// context with its own cookies and connections, as another person's browser would be.
    /// Tabs of the same profile share cookies; [`open`](Self::open) uses the default profile.
    pub async fn open_in(&mut self, profile: &str, label: &str, url: &str) -> Result<Page, String> {
        let context = match self.profiles.get(profile) {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .browser
                    .create_browser_context(CreateBrowserContextParams::default())
                    .await
                    .map_err(|e| format!("create the browser profile {profile}: {e}"))?;
                self.profiles.insert(profile.to_owned(), id.clone());
                id
            }
        };
        let mut params = CreateTargetParams::new(url);
        params.browser_context_id = Some(context);
        let page = self
            .browser
            .new_page(params)
            .await
            .map_err(|e| format!("open {url} in {label} ({profile}): {e}"))?;
        self.tabs.push((label.to_owned(), page.clone()));
        Ok(page)
    }

    /// The browser, for settings every tab shares (cookies).
    pub async fn browser(&self) -> &Browser {
        &self.browser
    }

    /// Ends the scenario: on `Err`, saves every tab's screenshot and HTML and fails the test.
    pub async fn finish(mut self, result: Result<(), String>) {
        let report = match &result {
            Ok(()) => None,
            Err(message) => Some(self.save_evidence(message).await),
        };
        let _ = self.browser.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.handler.abort();
        if let Some(report) = report {
            panic!("{report}");
        }
    }

    async fn save_evidence(&self, message: &str) -> String {
        let dir = target_dir().join("browser-failures").join(&self.name);
        let _ = std::fs::create_dir_all(&dir);
        let mut saved = Vec::new();
        for (label, page) in &self.tabs {
            let png = dir.join(format!("{label}.png"));
            if let Ok(bytes) = page.screenshot(ScreenshotParams::builder().build()).await
                && std::fs::write(&png, bytes).is_ok()
            {
                saved.push(png.display().to_string());
            }
            let html = dir.join(format!("{label}.html"));
            if let Ok(content) = page.content().await
                && std::fs::write(&html, content).is_ok()
            {
                saved.push(html.display().to_string());
            }
        }
        format!(
            "browser scenario {} failed: {message}\nsaved: {}",
            self.name,
            saved.join(", ")
        )
    }
}

/// Evaluates a JavaScript expression in `page` and returns it as JSON.
pub async fn eval(page: &Page, expression: &str) -> Result<serde_json::Value, String> {
    let result = page
        .evaluate_expression(expression)
        .await
        .map_err(|e| format!("evaluating `{expression}`: {e}"))?;
    Ok(result.value().cloned().unwrap_or(serde_json::Value::Null))
}

/// Waits until the JavaScript `condition` is true in `page`, for at most [`PATIENCE`].
pub async fn wait_until(page: &Page, what: &str, condition: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last = serde_json::Value::Null;
    while tokio::time::Instant::now() < deadline {
        match eval(page, &format!("Boolean({condition})")).await {
            Ok(serde_json::Value::Bool(true)) => return Ok(()),
            Ok(value) => last = value,
            Err(error) => last = serde_json::Value::String(error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "{what}: `{condition}` was not true within {PATIENCE:?} (last: {last})"
    ))
}

/// The text of the first element matching `selector` (empty when there is none).
pub async fn text(page: &Page, selector: &str) -> Result<String, String> {
    let selector = serde_json::to_string(selector).expect("a string");
    let value = eval(
        page,
        &format!("document.querySelector({selector})?.textContent ?? ''"),
    )
    .await?;
    Ok(value.as_str().unwrap_or_default().trim().to_owned())
}

/// Types `text` into the element matching `selector`, as a user would (the tab comes to the
/// front first: input goes to the visible tab).
pub async fn type_into(page: &Page, selector: &str, text: &str) -> Result<(), String> {
    front(page).await?;
    find_and_click(page, selector)
        .await?
        .type_str(text)
        .await
        .map_err(|e| format!("type into {selector}: {e}"))?;
    Ok(())
}

/// Clicks the element matching `selector` (bringing its tab to the front).
pub async fn click(page: &Page, selector: &str) -> Result<(), String> {
    front(page).await?;
    find_and_click(page, selector).await?;
    Ok(())
}

/// Finds and clicks `selector`, again while it fails, for at most [`PATIENCE`]: the element
/// may not be there yet (a page still loading), or Chromium may have renumbered the DOM
/// between the find and the click ("Could not find node with given id").
async fn find_and_click(page: &Page, selector: &str) -> Result<Element, String> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let attempt = async {
            let element = page
                .find_element(selector)
                .await
                .map_err(|e| format!("find {selector}: {e}"))?;
            element
                .click()
                .await
                .map_err(|e| format!("click {selector}: {e}"))?;
            Ok::<_, String>(element)
        }
        .await;
        match attempt {
            Ok(element) => return Ok(element),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("{error} (for {PATIENCE:?})"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Brings the tab to the front, as a user looks at it: Datastar closes the streams of hidden
/// tabs (unless `openWhenHidden`) and reopens them when the tab is shown.
pub async fn front(page: &Page) -> Result<(), String> {
    page.bring_to_front()
        .await
        .map_err(|e| format!("bring the tab to the front: {e}"))?;
    Ok(())
}

/// Waits until the text of the first element matching `selector` is `expected`.
pub async fn wait_for_text(page: &Page, selector: &str, expected: &str) -> Result<(), String> {
    let (s, e) = (json(selector), json(expected));
    wait_until(
        page,
        &format!("{selector} reads {expected:?}"),
        &format!("document.querySelector({s})?.textContent.trim() === {e}"),
    )
    .await
}

/// Waits until exactly `count` elements match `selector`.
pub async fn wait_for_count(page: &Page, selector: &str, count: usize) -> Result<(), String> {
    let s = json(selector);
    wait_until(
        page,
        &format!("{count} elements match {selector}"),
        &format!("document.querySelectorAll({s}).length === {count}"),
    )
    .await
}

/// `value` as a JavaScript string literal.
pub fn json(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}
