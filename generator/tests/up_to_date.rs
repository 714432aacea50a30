//! The committed generated modules are exactly what the generator writes now.

use std::process::Command;

#[test]
fn generated_modules_are_up_to_date() {
    let output = Command::new(env!("CARGO_BIN_EXE_pulse-binding-generator"))
        .arg("--check")
        .output()
        .expect("the generator runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
