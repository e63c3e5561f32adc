//! `lazy_html!` renders into the caller's buffer: the same bytes as `html!`, whether the
//! buffer is fresh, reused or a parent template's.

use livestar::prelude::*;
use livestar::testing::TestClient;

struct Row {
    name: String,
    score: u32,
    tags: Vec<&'static str>,
}

/// Rows of changing count and length, with text that needs escaping and multi-byte text.
fn rows(round: usize) -> Vec<Row> {
    (0..round % 23)
        .map(|i| Row {
            name: format!(
                "{}<{}>{}",
                "日本".repeat(i % 4),
                round,
                "&".repeat(round % 5)
            ),
            score: (round * 7 + i) as u32,
            tags: ["a", "b\"c", "ü"][..(round + i) % 4].to_vec(),
        })
        .collect()
}

fn row(row: &Row) -> impl Render {
    lazy_html! {
        <tr class={if row.score.is_multiple_of(2) { "even" } else { "odd" }}>
            <td>{&row.name}</td>
            <td>{row.score}</td>
            <td>@for tag in &row.tags { <i title={*tag}>{*tag}</i> }</td>
        </tr>
    }
}

fn table_lazy(rows: &[Row]) -> impl Render {
    lazy_html! { <table>@for r in rows { {row(r)} }</table> }
}

fn table_owned(rows: &[Row]) -> Html {
    html! {
        <table>
            @for row in rows {
                <tr class={if row.score.is_multiple_of(2) { "even" } else { "odd" }}>
                    <td>{&row.name}</td>
                    <td>{row.score}</td>
                    <td>@for tag in &row.tags { <i title={*tag}>{*tag}</i> }</td>
                </tr>
            }
        </table>
    }
}

#[test]
fn a_reused_buffer_gets_the_same_bytes_as_html_across_1000_renders_of_changing_size() {
    let mut buf = String::new();
    let mut lengths = std::collections::HashSet::new();
    for round in 0..1000 {
        let rows = rows(round);
        let expected = table_owned(&rows);
        table_lazy(&rows).render_replacing(&mut buf);
        assert_eq!(buf, expected.as_str(), "round {round}");
        buf.clear();
        table_lazy(&rows).render_to(&mut buf);
        assert_eq!(buf, expected.as_str(), "round {round}, render_to");
        assert_eq!(
            table_lazy(&rows).render(),
            expected,
            "round {round}, render"
        );
        lengths.insert(buf.len());
    }
    assert!(
        lengths.len() > 100,
        "the sizes change: {} sizes",
        lengths.len()
    );
}

#[test]
fn render_to_appends_after_what_the_buffer_holds() {
    let mut buf = String::from("<main>");
    lazy_html! { <p>"x"</p> }.render_to(&mut buf);
    buf.push_str("</main>");
    assert_eq!(buf, "<main><p>x</p></main>");
}

#[test]
fn render_replacing_drops_what_the_buffer_held() {
    let mut buf = String::from("<p>old, longer than the new one</p>");
    lazy_html! { <p>"new"</p> }.render_replacing(&mut buf);
    assert_eq!(buf, "<p>new</p>");
}

#[test]
fn html_render_replacing_hands_over_its_text() {
    let html = html! { <p>"kept"</p> };
    let pointer = html.as_str().as_ptr();
    let mut buf = String::from("old");
    html.render_replacing(&mut buf);
    assert_eq!(buf, "<p>kept</p>");
    assert_eq!(buf.as_ptr(), pointer);
}

#[test]
fn a_lazy_template_runs_its_code_only_when_rendered() {
    let calls = std::cell::Cell::new(0);
    let counted = &calls;
    let template = lazy_html! { <b>{{ counted.set(counted.get() + 1); counted.get() }}</b> };
    assert_eq!(calls.get(), 0);
    assert_eq!(template.render().as_str(), "<b>1</b>");
    assert_eq!(template.into_html().as_str(), "<b>2</b>");
}

#[test]
fn a_lazy_template_reserves_its_last_size_when_rendered_on_its_own() {
    let big = "x".repeat(5000);
    let template = |text: &str| lazy_html! { <p>{text}</p> }.render();
    let _ = template(&big);
    assert!(template("").into_string().capacity() >= 5007);
}

#[test]
fn components_nest_three_deep_into_one_buffer() {
    fn leaf(n: u32) -> impl Render {
        lazy_html! { <b>{n}</b> }
    }
    fn middle(n: u32) -> impl Render {
        lazy_html! { <li>{leaf(n)}</li> }
    }
    fn outer(ns: &[u32]) -> impl Render {
        lazy_html! { <ul>@for n in ns { {middle(*n)} }</ul> }
    }
    let page = html! { <main>{outer(&[1, 2])}</main> };
    assert_eq!(
        page.as_str(),
        "<main><ul><li><b>1</b></li><li><b>2</b></li></ul></main>"
    );
}

#[livestar::live_view("/scores/live", view = scores_view)]
async fn scores() -> Vec<u32> {
    vec![3, 1, 2]
}

fn scores_view(scores: &[u32]) -> impl Render {
    lazy_html! { <ol id="scores">@for s in scores { <li>{s}</li> }</ol> }
}

#[tokio::test]
async fn a_live_view_can_return_a_lazy_template() {
    let client = TestClient::new(scores::route());
    let mut live = client.get(scores::PATH).send().await.expect("connects");
    let patch = live.next_patch().await.expect("the first view");
    assert_eq!(
        patch.elements().as_deref(),
        Some(r#"<ol id="scores"><li>3</li><li>1</li><li>2</li></ol>"#)
    );
}
