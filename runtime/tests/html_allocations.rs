//! Allocations of rendering, counted by a global allocator of this test binary: components
//! that return `lazy_html!` write into their parent's buffer without a `String` of their own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use livestar::prelude::*;

/// The system allocator, counting the allocations of the current thread (the test harness
/// runs tests on threads of their own, so other tests do not count).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations (and reallocations) `f` makes on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (ALLOCATIONS.with(Cell::get) - before, value)
}

struct Team {
    name: String,
    players: Vec<String>,
}

fn player(name: &str) -> impl Render {
    lazy_html! { <li class="player">{name}</li> }
}

fn team(team: &Team) -> impl Render {
    lazy_html! {
        <section><h2>{&team.name}</h2><ul>@for p in &team.players { {player(p)} }</ul></section>
    }
}

fn league(teams: &[Team]) -> impl Render {
    lazy_html! { <div id="league">@for t in teams { {team(t)} }</div> }
}

fn league_of_html_components(teams: &[Team]) -> Html {
    fn player(name: &str) -> Html {
        html! { <li class="player">{name}</li> }
    }
    fn team(team: &Team) -> Html {
        html! {
            <section><h2>{&team.name}</h2><ul>@for p in &team.players { {player(p)} }</ul></section>
        }
    }
    html! { <div id="league">@for t in teams { {team(t)} }</div> }
}

fn teams() -> Vec<Team> {
    (0..3)
        .map(|t| Team {
            name: format!("team <{t}>"),
            players: (0..4).map(|p| format!("player {t}.{p} & co")).collect(),
        })
        .collect()
}

#[test]
fn components_nested_three_deep_render_into_a_reused_buffer_without_allocating() {
    let teams = teams();
    let mut buf = String::new();
    league(&teams).render_replacing(&mut buf);
    let expected = buf.clone();
    let (count, ()) = allocations(|| league(&teams).render_replacing(&mut buf));
    assert_eq!(count, 0);
    assert_eq!(buf, expected);
    assert_eq!(expected, league_of_html_components(&teams).as_str());
}

#[test]
fn components_nested_three_deep_in_html_allocate_only_the_page() {
    let teams = teams();
    let page = || html! { <main>{league(&teams)}</main> };
    let first = page();
    let (count, second) = allocations(page);
    assert_eq!(count, 1, "one buffer, reserved to the last render's size");
    assert_eq!(second, first);
}

#[test]
fn components_returning_html_allocate_one_string_each() {
    let teams = teams();
    let _ = league_of_html_components(&teams);
    let (count, _) = allocations(|| league_of_html_components(&teams));
    // The page, 3 teams and 12 players: what `lazy_html!` components save.
    assert_eq!(count, 1 + 3 + 12);
}
