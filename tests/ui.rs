//! Compile-fail cases of `#[derive(PulseBinding)]`: each mistake is reported
//! at the tokens at fault, with a message that says what to write instead.

#[test]
fn derive_mistakes_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/**/*.rs");
}
