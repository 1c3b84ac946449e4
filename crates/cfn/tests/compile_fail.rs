//! The guarantees the type system gives, checked by making them fail to compile.

#[test]
fn broken_references_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
