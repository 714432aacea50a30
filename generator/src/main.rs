//! Writes pulse-binding's prebuilt service modules (`runtime/src/{auth,github,
//! hooks,notify,queue,worker_manager}.rs` and `runtime/src/prebuilt.rs`) from
//! Taskcluster's references in `generator/data/references.json`.
//!
//! ```text
//! cargo run -p pulse-binding-generator            # write the modules
//! cargo run -p pulse-binding-generator -- --check # fail if they differ from what it writes
//! ```
//!
//! The output goes through `rustfmt` (the one on `PATH`, or `$RUSTFMT`), so it
//! is what `cargo fmt` keeps. See generator/README.md.

mod docs;
mod emit;
mod names;
mod reference;
mod schema;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Errors are messages for the person running the generator.
pub type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            eprintln!("usage: pulse-binding-generator [--check]");
            return ExitCode::from(2);
        }
    };
    match run(check) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pulse-binding-generator: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the generator's parent folder.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Writes (or checks) every generated file; `Ok(false)` when a check found a
/// file out of date.
fn run(check: bool) -> Result<bool> {
    let root = workspace_root();
    let files = generate(&root)?;
    let mut stale = Vec::new();
    for (path, text) in &files {
        let full = root.join(path);
        let current = std::fs::read_to_string(&full).unwrap_or_default();
        if current == *text {
            continue;
        }
        if check {
            stale.push(format!("{path}{}", first_difference(&current, text)));
        } else {
            std::fs::write(&full, text).map_err(|e| format!("writing {path}: {e}"))?;
            println!("wrote {path}");
        }
    }
    if !stale.is_empty() {
        eprintln!(
            "generated files differ from what the generator writes now:\n  {}\n\
             run `cargo run -p pulse-binding-generator` and commit the result \
             (do not edit generated files by hand)",
            stale.join("\n  ")
        );
        return Ok(false);
    }
    if check {
        println!("{} generated files are up to date", files.len());
    }
    Ok(true)
}

/// Every generated file: (path from the workspace root, formatted text).
fn generate(root: &Path) -> Result<Vec<(String, String)>> {
    let data = root.join("generator/data/references.json");
    let text =
        std::fs::read_to_string(&data).map_err(|e| format!("reading {}: {e}", data.display()))?;
    let refs = reference::References::parse(&text)?;
    let services = refs.services()?;
    let mut files = Vec::new();
    for service in &services {
        let code = emit::service_module(&refs, service)?;
        let path = format!("runtime/src/{}.rs", service.module);
        files.push((path.clone(), rustfmt(root, &path, &code)?));
    }
    let path = "runtime/src/prebuilt.rs".to_owned();
    let code = emit::prebuilt(&services);
    files.push((path.clone(), rustfmt(root, &path, &code)?));
    Ok(files)
}

/// `code` formatted as `cargo fmt` formats the workspace (edition 2024, the
/// workspace's rustfmt config if it gets one).
fn rustfmt(root: &Path, path: &str, code: &str) -> Result<String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(&rustfmt)
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "running {}: {e} (is rustfmt installed?)",
                rustfmt.to_string_lossy()
            )
        })?;
    let mut stdin = child.stdin.take().ok_or("rustfmt: no stdin")?;
    let input = code.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt: {e}"))?;
    writer
        .join()
        .map_err(|_| "rustfmt: writer thread panicked".to_owned())?
        .map_err(|e| format!("rustfmt: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt refused the code generated for {path}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt: {e}"))
}

/// ` (line N: "...")`: where two texts first differ, to point at the edit.
fn first_difference(current: &str, wanted: &str) -> String {
    if current.is_empty() {
        return " (missing)".to_owned();
    }
    let line = current
        .lines()
        .zip(wanted.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| current.lines().count().min(wanted.lines().count()));
    let found = current.lines().nth(line).unwrap_or("<end of file>");
    format!(" (line {}: {:?})", line + 1, found.trim())
}
