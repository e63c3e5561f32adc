//! Encoding one `datastar-patch-elements` event for a 26 KB view: livestar against the
//! `datastar` crate 0.4.1 (the official Rust SDK), in the same run, from the same owned HTML.
//!
//! Two shapes of view: pretty-printed (about 400 lines, so 400 `data:` lines) and minified on
//! one line (what `html!` renders).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// A todo-list page of about 26 KB, `lines` long.
fn view(pretty: bool) -> String {
    let mut html = String::from("<ul id=\"todos\">");
    let mut n = 0;
    while html.len() < 26 * 1024 {
        if pretty {
            html.push_str("\n  ");
        }
        html.push_str(&format!(
            "<li id=\"todo-{n}\" class=\"todo open\"><input type=\"checkbox\"> Buy milk #{n}</li>"
        ));
        n += 1;
    }
    if pretty {
        html.push('\n');
    }
    html.push_str("</ul>");
    html
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("patch_elements_26kb");
    for (shape, pretty) in [("pretty", true), ("one_line", false)] {
        let html = view(pretty);
        group.throughput(Throughput::Bytes(html.len() as u64));
        group.bench_with_input(BenchmarkId::new("livestar", shape), &html, |b, html| {
            b.iter(|| {
                let event = livestar::event::PatchElements::from_html(html.clone())
                    .selector("#todos")
                    .encode();
                black_box(event.into_bytes())
            })
        });
        group.bench_with_input(
            BenchmarkId::new("datastar_0_4_1", shape),
            &html,
            |b, html| {
                b.iter(|| {
                    let event = datastar::prelude::PatchElements::new(html.clone())
                        .selector("#todos")
                        .into_datastar_event();
                    black_box(event.to_string())
                })
            },
        );
    }
    group.finish();
}

fn outputs_are_equivalent() {
    for pretty in [true, false] {
        let html = view(pretty);
        let ours = livestar::event::PatchElements::from_html(html.clone())
            .selector("#todos")
            .encode();
        let theirs = datastar::prelude::PatchElements::new(html)
            .selector("#todos")
            .into_datastar_event()
            .to_string();
        // `str::lines` drops a trailing empty line, which livestar keeps to stay exact.
        assert_eq!(
            ours.as_str().replace("data: elements \n\n", "\n"),
            theirs.replace("data: elements \n\n", "\n")
        );
    }
}

fn benches(c: &mut Criterion) {
    outputs_are_equivalent();
    encode(c);
}

criterion_group!(sse, benches);
criterion_main!(sse);
