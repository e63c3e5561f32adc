//! Renders one workload a given number of times and nothing else, for counting instructions
//! with callgrind, whose counts do not move with the machine's load:
//!
//! ```sh
//! cargo build --profile bench -p livestar-benches --example instructions
//! valgrind --tool=callgrind target/release/examples/instructions teams/livestar 1000
//! ```
//!
//! The difference between the counts of two runs (say 1,000 and 11,000 renders), divided by
//! the difference in renders, is the cost of one render without the program's start-up.
//! Workloads are named `workload/engine`: `-reused` renders into one buffer the caller keeps
//! (`lazy_html!` with `render_replacing`, sailfish's `render_once_to`), the others into a
//! fresh `String` each time; `teams-upstream` is teams with the upstream data.

use livestar_benches::*;
use sailfish::runtime::Buffer;
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let renders: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let table = big_table_data(100);
    let (year, teams) = teams_data();
    let (_, upstream_teams) = upstream_teams_data();
    let mut buf = String::new();
    let mut sailfish_buf = Buffer::new();
    for _ in 0..renders {
        match name.as_str() {
            "big-table/livestar" => {
                drop(black_box(livestar_templates::big_table(black_box(&table))))
            }
            "big-table/sailfish" => {
                drop(black_box(sailfish_templates::big_table(black_box(&table))))
            }
            "big-table/livestar-reused" => {
                livestar_templates::big_table_into(black_box(&table), &mut buf)
            }
            "big-table/sailfish-reused" => {
                sailfish_templates::big_table_into(black_box(&table), &mut sailfish_buf)
            }
            "teams/livestar" => drop(black_box(livestar_templates::teams(
                year,
                black_box(&teams),
            ))),
            "teams/sailfish" => drop(black_box(sailfish_templates::teams(
                year,
                black_box(&teams),
            ))),
            "teams/livestar-reused" => {
                livestar_templates::teams_into(year, black_box(&teams), &mut buf)
            }
            "teams/sailfish-reused" => {
                sailfish_templates::teams_into(year, black_box(&teams), &mut sailfish_buf)
            }
            "teams-upstream/livestar" => drop(black_box(livestar_templates::teams(
                year,
                black_box(&upstream_teams),
            ))),
            "teams-upstream/sailfish" => drop(black_box(sailfish_templates::teams(
                year,
                black_box(&upstream_teams),
            ))),
            "teams-upstream/livestar-reused" => {
                livestar_templates::teams_into(year, black_box(&upstream_teams), &mut buf)
            }
            "teams-upstream/sailfish-reused" => {
                sailfish_templates::teams_into(year, black_box(&upstream_teams), &mut sailfish_buf)
            }
            _ => {
                eprintln!("unknown workload `{name}`");
                std::process::exit(2);
            }
        }
        black_box((&buf, &sailfish_buf));
    }
}
