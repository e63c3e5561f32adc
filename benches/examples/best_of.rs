//! The best of many short runs for livestar and sailfish, a steadier number than criterion's
//! mean on a busy machine: `cargo run --profile bench -p livestar-benches --example best_of`.
//!
//! An argument keeps only the workloads whose name contains it (`best_of teams`), which is
//! also how to count one workload's instructions under `valgrind --tool=callgrind`.

use livestar_benches::*;
use std::hint::black_box;
use std::time::Instant;

fn best_of(name: &str, batch: usize, render: impl Fn() -> String) {
    let only = std::env::args().nth(1).unwrap_or_default();
    if !name.contains(&only) {
        return;
    }
    for _ in 0..batch {
        black_box(render());
    }
    let mut best = f64::MAX;
    for _ in 0..100 {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(render());
        }
        best = best.min(start.elapsed().as_secs_f64() / batch as f64 * 1e9);
    }
    println!("{name:<20} {best:>10.1} ns");
}

fn main() {
    let table = big_table_data(100);
    let (year, teams) = teams_data();
    best_of("big-table/livestar", 100, || {
        livestar_templates::big_table(black_box(&table))
    });
    best_of("big-table/sailfish", 100, || {
        sailfish_templates::big_table(black_box(&table))
    });
    best_of("teams/livestar", 20_000, || {
        livestar_templates::teams(year, black_box(&teams))
    });
    best_of("teams/sailfish", 20_000, || {
        sailfish_templates::teams(year, black_box(&teams))
    });
}
