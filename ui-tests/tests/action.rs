//! Compile-time checks of `#[action]`: a link to an action with the wrong parameters does not
//! compile, nor does an action whose route and `Path` extractor disagree. Regenerate with
//! `TRYBUILD=overwrite` and read the diff before committing it.

#[test]
fn action() {
    let cases = trybuild::TestCases::new();
    cases.pass("action/pass/*.rs");
    cases.compile_fail("action/fail/*.rs");
}
