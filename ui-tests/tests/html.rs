//! Compile-fail and compile-pass cases of `html!`. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p livestar-ui-tests --test html`, then read every one.

#[test]
fn html_ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("html/fail/*.rs");
    cases.pass("html/pass/*.rs");
}
