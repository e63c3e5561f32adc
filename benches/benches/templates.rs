//! big-table and teams, every engine in the same run:
//! `cargo bench -p livestar-benches -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use livestar_benches::*;
use std::hint::black_box;

type BigTableRender = fn(&[Vec<usize>]) -> String;
type TeamsRender = fn(u16, &[Team]) -> String;

fn big_table(c: &mut Criterion) {
    let table = big_table_data(100);
    let mut group = c.benchmark_group("big-table");
    let engines: [(&str, BigTableRender); 5] = [
        ("livestar", livestar_templates::big_table),
        ("sailfish", sailfish_templates::big_table),
        ("hypertext", hypertext_templates::big_table),
        ("askama", askama_templates::big_table),
        ("maud", maud_templates::big_table),
    ];
    for (name, render) in engines {
        group.bench_with_input(BenchmarkId::from_parameter(name), &table, |b, table| {
            b.iter(|| render(black_box(table)))
        });
    }
    group.finish();
}

fn teams(c: &mut Criterion) {
    let (year, teams) = teams_data();
    let mut group = c.benchmark_group("teams");
    let engines: [(&str, TeamsRender); 5] = [
        ("livestar", livestar_templates::teams),
        ("sailfish", sailfish_templates::teams),
        ("hypertext", hypertext_templates::teams),
        ("askama", askama_templates::teams),
        ("maud", maud_templates::teams),
    ];
    for (name, render) in engines {
        group.bench_with_input(BenchmarkId::from_parameter(name), &teams, |b, teams| {
            b.iter(|| render(black_box(year), black_box(teams)))
        });
    }
    group.finish();
}

criterion_group!(benches, big_table, teams);
criterion_main!(benches);
