//! Compile-time checks of `#[live_view]`: every `.stderr` was read and judged as a newcomer
//! would; regenerate with `TRYBUILD=overwrite` and read the diff before committing it.

#[test]
fn live_view() {
    let cases = trybuild::TestCases::new();
    cases.pass("live_view/pass/*.rs");
    cases.compile_fail("live_view/fail/*.rs");
}
