//! `TestClient` fails a test on a patch Datastar would not apply as meant, as Phoenix's
//! LiveViewTest does: an `id` used twice, or a root element without an `id` in a mode that
//! finds its target by `id` when no selector is given.

use axum::Router;
use axum::routing::get;
use livestar::event::{Event, Mode};
use livestar::render::Html;
use livestar::testing::TestClient;

/// A client of one endpoint that streams `patch`.
fn client_of(patch: fn() -> Event) -> TestClient {
    TestClient::new(Router::new().route(
        "/live",
        get(move || async move { livestar::stream(futures::stream::iter([patch()])) }),
    ))
}

async fn first_patch(patch: fn() -> Event) -> Option<String> {
    let client = client_of(patch);
    let mut live = client.get("/live").send().await.expect("connects");
    live.next_patch().await.and_then(|patch| patch.elements())
}

fn html(text: &str) -> Html {
    Html::from_trusted(text.to_owned())
}

#[tokio::test]
#[should_panic(expected = "the id `item` appears more than once in the patch")]
async fn a_patch_with_a_duplicate_id_fails_the_test() {
    first_patch(|| {
        Event::patch_elements(html(
            r#"<ul id="list"><li id="item">1</li><li id="item">2</li></ul>"#,
        ))
        .into()
    })
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "the top-level `<li>` has no id and the patch (mode outer) has no selector"
)]
async fn a_morph_of_a_root_without_id_or_selector_fails_the_test() {
    first_patch(|| Event::patch_elements(html("<li>1</li>")).into()).await;
}

#[tokio::test]
#[should_panic(expected = "(mode inner) has no selector")]
async fn an_inner_morph_without_selector_needs_root_ids_too() {
    first_patch(|| {
        Event::patch_elements(html("<li>1</li>"))
            .mode(Mode::Inner)
            .into()
    })
    .await;
}

#[tokio::test]
async fn a_root_without_id_is_fine_with_a_selector() {
    let elements = first_patch(|| {
        Event::patch_elements(html("<li>1</li>"))
            .selector("#list")
            .mode(Mode::Inner)
            .into()
    })
    .await;
    assert_eq!(elements.as_deref(), Some("<li>1</li>"));
}

#[tokio::test]
async fn a_root_without_id_is_fine_when_appended() {
    let elements = first_patch(|| {
        Event::patch_elements(html("<li>1</li>"))
            .selector("#list")
            .mode(Mode::Append)
            .into()
    })
    .await;
    assert_eq!(elements.as_deref(), Some("<li>1</li>"));
}

#[tokio::test]
async fn unique_ids_under_an_identified_root_pass() {
    let elements = first_patch(|| {
        Event::patch_elements(html(r#"<ul id="list"><li id="a">1</li><li>2</li></ul>"#)).into()
    })
    .await;
    assert_eq!(
        elements.as_deref(),
        Some(r#"<ul id="list"><li id="a">1</li><li>2</li></ul>"#)
    );
}
