//! Writes pulse-binding's prebuilt service modules
//! (`runtime/src/services/{auth,github,hooks,notify,queue,worker_manager}.rs`
//! and `runtime/src/services/prebuilt.rs`) from Taskcluster's references in
//! `generator/data/references.json`, and `runtime/NOTICE`, which names them
//! and where their Taskcluster text comes from.
//!
//! ```text
//! cargo run -p pulse-binding-generator            # write the files
//! cargo run -p pulse-binding-generator -- --check # fail if they differ from what it writes
//! ```
//!
//! The code is built as tokens with `quote!` and printed with prettyplease.
//! See generator/README.md.

mod docs;
mod emit;
mod names;
mod provenance;
mod reference;
mod schema;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use proc_macro2::TokenStream;

use crate::provenance::Provenance;

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
    sync(&root, &files, check)
}

/// Writes each of `files` under `root` where it differs, or with `check`
/// writes nothing and returns `Ok(false)` when one differs or is missing.
fn sync(root: &Path, files: &[(String, String)], check: bool) -> Result<bool> {
    let mut stale = Vec::new();
    for (path, text) in files {
        let full = root.join(path);
        let current = std::fs::read_to_string(&full).unwrap_or_default();
        if current == *text {
            continue;
        }
        if check {
            stale.push(format!("{path}{}", first_difference(&current, text)));
        } else {
            if let Some(dir) = full.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            }
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

/// The runtime package's folder, from the workspace root.
const PACKAGE_DIR: &str = "runtime";

/// Where the generated modules go, inside the runtime package.
const OUT_DIR: &str = "src/services";

/// Every generated file: (path from the workspace root, text).
fn generate(root: &Path) -> Result<Vec<(String, String)>> {
    let data = root.join("generator/data");
    let read = |name: &str| {
        let path = data.join(name);
        std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    let references = read("references.json")?;
    let provenance = read("provenance.json")?;
    let provenance = String::from_utf8(provenance).map_err(|e| format!("provenance.json: {e}"))?;
    let provenance = Provenance::parse(&provenance, &references)?;
    let references = String::from_utf8(references).map_err(|e| format!("references.json: {e}"))?;
    let refs = reference::References::parse(&references)?;
    let mut services = refs.services()?;
    // Exchanges a newer Taskcluster client knows, without a schema here.
    let schemaless = read("schemaless.json")?;
    let schemaless: serde_json::Value =
        serde_json::from_slice(&schemaless).map_err(|e| format!("schemaless.json: {e}"))?;
    reference::Service::add_schemaless(&mut services, &schemaless, "schemaless.json")?;
    let header = provenance.header();
    let mut files = Vec::new();
    for service in &services {
        let path = format!("{OUT_DIR}/{}.rs", service.module);
        let code = print(&header, emit::service_module(&refs, service)?)
            .map_err(|e| format!("{path}: {e}"))?;
        files.push((path, code));
    }
    let path = format!("{OUT_DIR}/prebuilt.rs");
    let code = print(&header, emit::prebuilt(&services)?).map_err(|e| format!("{path}: {e}"))?;
    files.push((path, code));
    // The package's NOTICE names the modules above, which carry Taskcluster's
    // text, and where that text comes from.
    let modules: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
    files.push((
        "NOTICE".to_owned(),
        provenance.notice(&modules) + &schemaless_notice(&schemaless)?,
    ));
    Ok(files
        .into_iter()
        .map(|(path, text)| (format!("{PACKAGE_DIR}/{path}"), text))
        .collect())
}

/// The NOTICE's paragraph on the entries of `schemaless.json`: where their
/// text comes from.
fn schemaless_notice(schemaless: &serde_json::Value) -> Result<String> {
    let source = &schemaless["source"];
    let field = |key: &str| {
        source[key]
            .as_str()
            .ok_or_else(|| format!("schemaless.json: source.{key} is missing"))
    };
    let names: Vec<String> = schemaless["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    Some(format!(
                        "{}/{}",
                        e["serviceName"].as_str()?,
                        e["exchange"].as_str()?
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(format!(
        "\n\
         These exchanges have no message schema in those references: {names}.\n\
         Their titles, descriptions and routing-key words are taken from\n\
         Taskcluster's client package instead (generator/data/schemaless.json in\n\
         the repository):\n\
         \n\
         \x20   package     {package} {version} ({registry})\n\
         \x20   file        {file}\n\
         \x20   licence     {licence}\n",
        names = names.join(", "),
        package = field("package")?,
        version = field("version")?,
        registry = field("registry")?,
        file = field("file")?,
        licence = field("licence")?,
    ))
}

/// The text of a file: `header`, then each chunk of items printed by
/// prettyplease, with a blank line between chunks (prettyplease keeps none
/// between items). rustfmt does not touch the result: the generated modules
/// are declared `#[rustfmt::skip]` in runtime/src/lib.rs, so the output depends
/// only on the data and the locked crates, not on the installed rustfmt.
fn print(header: &str, chunks: Vec<TokenStream>) -> Result<String> {
    let mut out = header.to_owned();
    for chunk in chunks {
        let file: syn::File =
            syn::parse2(chunk).map_err(|e| format!("the generated code does not parse: {e}"))?;
        out.push('\n');
        out.push_str(&prettyplease::unparse(&file));
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_on_a_changed_or_missing_file_and_writing_fixes_it() {
        let root = std::env::temp_dir().join(format!("pulse-gen-sync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let files = vec![
            ("services/a.rs".to_owned(), "pub struct A;\n".to_owned()),
            ("services/b.rs".to_owned(), "pub struct B;\n".to_owned()),
        ];
        // Missing files: --check fails and creates nothing.
        assert!(!sync(&root, &files, true).unwrap());
        assert!(!root.join("services").exists());
        // Writing creates the folder and the files; then --check passes.
        assert!(sync(&root, &files, false).unwrap());
        assert!(sync(&root, &files, true).unwrap());
        // A hand edit of one file: --check fails and leaves the edit.
        std::fs::write(root.join("services/b.rs"), "pub struct B; // edited\n").unwrap();
        assert!(!sync(&root, &files, true).unwrap());
        let edited = std::fs::read_to_string(root.join("services/b.rs")).unwrap();
        assert!(edited.contains("edited"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn first_difference_points_at_the_edited_line() {
        assert_eq!(
            first_difference("a\nb x\nc\n", "a\nb\nc\n"),
            " (line 2: \"b x\")"
        );
        assert_eq!(first_difference("", "a\n"), " (missing)");
    }
}
