//! Streaming compression of live-view patches, per encoding: bytes on the wire per event, the
//! ratio to the uncompressed stream, CPU per event and the memory each connection's compressor
//! holds.
//!
//! Two workloads of 300 events each, rendered before the clock starts so that only the stream
//! (framing, compression, flush) is timed:
//! - `table`: a 26 KB table (45 rows of 12 cells) of which three cells change per event;
//! - `todos`: the demo's todo list (`todo_view`) growing by one todo per event.
//!
//! Every event goes through `livestar::stream(..).compress_with(..)` and the response body, as
//! a live view sends it, and every compressed stream is decoded again and compared with the
//! uncompressed one. Memory is what `malloc` reports in use (`mallinfo2`): the live heap of 200 open
//! compressed responses (each past its first event) less that of 200 uncompressed ones.
//!
//! Run with `taskset -c 0 cargo run --release -p livestar-examples --bin compress-bench`;
//! `ROUNDS=n` sets the rounds (default 5) whose median each figure is, and `BROTLI=q,lgwin`,
//! `ZSTD=level,window_log` and `GZIP=level` measure other settings than the defaults.

use std::io::Read;
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::BodyExt;
use livestar::compress::{AcceptEncoding, Compression, Encoding};
use livestar::event::Event;
use livestar::prelude::*;
use livestar::stream::Heartbeat;
use livestar_examples::demo::store::Todo;
use livestar_examples::demo::todos::todo_view;

/// The bytes the C allocator has handed out and not had back: Rust's allocations (this binary
/// uses the system allocator) and zstd's, which go to `malloc` directly.
fn heap_in_use() -> isize {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as isize
}

const EVENTS: usize = 300;
const CONNECTIONS: usize = 200;
const ENCODINGS: [Encoding; 4] = [
    Encoding::Identity,
    Encoding::Gzip,
    Encoding::Zstd,
    Encoding::Brotli,
];

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
        .max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let compression = settings_from_env();
    println!(
        "{EVENTS} events per workload, medians of {rounds} rounds; memory: compressor per connection (of {CONNECTIONS})"
    );
    println!("| workload | encoding | bytes/event | ratio | CPU/event | compressor memory/conn |");
    println!("|---|---|---|---|---|---|");
    for (name, events) in [
        ("table (26 KB)", table_events()),
        ("todos (growing)", todo_events()),
    ] {
        let raw: usize = events.iter().map(|event| event.as_str().len()).sum();
        let identity_memory = runtime.block_on(memory_per_connection(
            &events[0],
            Encoding::Identity,
            &compression,
        ));
        for encoding in ENCODINGS {
            let mut bytes = Vec::new();
            let mut times = Vec::new();
            for _ in 0..rounds {
                let (wire, time) = runtime.block_on(run(&events, encoding, &compression));
                bytes.push(wire);
                times.push(time);
            }
            let memory =
                runtime.block_on(memory_per_connection(&events[0], encoding, &compression));
            let wire = median(&mut bytes);
            let time = median(&mut times);
            println!(
                "| {name} | {encoding} | {:.0} | {:.1}:1 | {:.1} us | {:.0} KiB |",
                wire as f64 / EVENTS as f64,
                raw as f64 / wire as f64,
                time.as_secs_f64() * 1e6 / EVENTS as f64,
                (memory - identity_memory).max(0) as f64 / 1024.0,
            );
        }
    }
    println!();
    for encoding in [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip] {
        println!(
            "estimate of {encoding} (Compression::memory): {} KiB",
            compression.memory(encoding) / 1024
        );
    }
}

/// Streams `events` compressed with `encoding`, checks the decoded stream, and returns the
/// bytes on the wire and the time spent producing them.
async fn run(events: &[Event], encoding: Encoding, compression: &Compression) -> (usize, Duration) {
    let accept = AcceptEncoding::parse(encoding.as_str());
    let live = livestar::stream(futures::stream::iter(events.to_vec()))
        .heartbeat(Heartbeat::off())
        .compress_with(&accept, &compression.clone().prefer([encoding]));
    let response = live.into_response();
    let sent = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    assert_eq!(
        sent.as_deref(),
        (encoding != Encoding::Identity).then_some(encoding.as_str())
    );
    let mut body = response.into_body();
    let mut chunks = Vec::with_capacity(events.len() + 1);
    let start = Instant::now();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("a frame").into_data() {
            chunks.push(data);
        }
    }
    let elapsed = start.elapsed();
    let wire = chunks.iter().map(Bytes::len).sum();
    let decoded = decode(encoding, &chunks.concat());
    let expected: Vec<u8> = events
        .iter()
        .flat_map(|event| event.as_str().bytes())
        .collect();
    assert!(
        decoded == expected,
        "{encoding}: the decoded stream differs"
    );
    (wire, elapsed)
}

/// The live heap per open response of `encoding`, each past its first event.
async fn memory_per_connection(
    first: &Event,
    encoding: Encoding,
    compression: &Compression,
) -> isize {
    let accept = AcceptEncoding::parse(encoding.as_str());
    let compression = compression.clone().prefer([encoding]);
    let before = heap_in_use();
    let mut bodies = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let events = futures::stream::iter([first.clone()]).chain(futures::stream::pending());
        let response = livestar::stream(events)
            .heartbeat(Heartbeat::off())
            .compress_with(&accept, &compression)
            .into_response();
        let mut body = response.into_body();
        let frame = body
            .frame()
            .await
            .expect("the first event")
            .expect("a frame");
        drop(frame);
        bodies.push(body);
    }
    let after = heap_in_use();
    drop(bodies);
    (after - before) / CONNECTIONS as isize
}

fn decode(encoding: Encoding, wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Encoding::Identity => out.extend_from_slice(wire),
        Encoding::Gzip => {
            flate2::read::GzDecoder::new(wire)
                .read_to_end(&mut out)
                .expect("gzip decodes");
        }
        Encoding::Zstd => {
            zstd::stream::read::Decoder::new(wire)
                .expect("a zstd decoder")
                .read_to_end(&mut out)
                .expect("zstd decodes");
        }
        Encoding::Brotli => {
            brotli::Decompressor::new(wire, 4096)
                .read_to_end(&mut out)
                .expect("brotli decodes");
        }
    }
    out
}

/// 300 renders of a 45 x 12 table (26 KB), three cells changed in each.
fn table_events() -> Vec<Event> {
    let mut cells: Vec<Vec<u32>> = (0..45)
        .map(|row| (0..12).map(|col| row * 1000 + col * 7).collect())
        .collect();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut events: Vec<Event> = Vec::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        for _ in 0..3 {
            let (row, col) = (rng.usize(0..45), rng.usize(0..12));
            cells[row][col] = rng.u32(0..100_000);
        }
        let html = html! {
            <table id="prices" class="grid">
                <thead><tr>@for col in 0..12 { <th scope="col">"Column " {col}</th> }</tr></thead>
                <tbody>
                    @for (row, values) in cells.iter().enumerate() {
                        <tr id={format!("row-{row}")}>
                            @for (col, value) in values.iter().enumerate() {
                                <td class="cell" data-col={col}>{value}" units"</td>
                            }
                        </tr>
                    }
                </tbody>
            </table>
        };
        events.push(Event::patch_elements(html).into());
    }
    let size = events[0].as_str().len();
    assert!(
        (24_000..29_000).contains(&size),
        "the table is {size} bytes"
    );
    events
}

/// The demo's todo list, one todo added per event.
fn todo_events() -> Vec<Event> {
    let mut todos = Vec::with_capacity(EVENTS);
    (0..EVENTS as u64)
        .map(|id| {
            todos.push(Todo {
                id,
                title: format!("Todo number {id}: water the plants"),
                done: id % 3 == 0,
            });
            Event::patch_elements(todo_view(&todos)).into()
        })
        .collect()
}

/// The default compression, with the settings of `BROTLI`, `ZSTD` and `GZIP` if set.
fn settings_from_env() -> Compression {
    let numbers = |name: &str| -> Option<Vec<u8>> {
        let value = std::env::var(name).ok()?;
        Some(
            value
                .split(',')
                .map(|n| n.trim().parse().expect("a number"))
                .collect(),
        )
    };
    let mut compression = Compression::default();
    if let Some(brotli) = numbers("BROTLI") {
        compression = compression.brotli(brotli[0], brotli[1]);
    }
    if let Some(zstd) = numbers("ZSTD") {
        compression = compression.zstd(zstd[0], zstd[1]);
    }
    if let Some(gzip) = numbers("GZIP") {
        compression = compression.gzip(gzip[0]);
    }
    compression
}

fn median<T: Ord + Copy>(values: &mut [T]) -> T {
    values.sort_unstable();
    values[values.len() / 2]
}
