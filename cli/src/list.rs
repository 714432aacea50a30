//! `pulse bindings`: every prebuilt binding, one a line.

use crate::catalog::Catalog;
use crate::failure::Failure;
use crate::names::flag;
use crate::output;

/// Prints each binding's name, exchange, payload type and word flags, in
/// aligned columns.
pub fn print(catalog: &Catalog) -> Result<(), Failure> {
    let rows: Vec<[String; 4]> = catalog
        .entries()
        .map(|entry| {
            let flags: Vec<String> = entry
                .flag_words()
                .map(|w| format!("--{}", flag(w.name)))
                .collect();
            [
                entry.names.name.clone(),
                entry.binding.exchange_name().to_owned(),
                entry.payload().to_owned(),
                flags.join(" "),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let (name, exchange, payload) = (width(0), width(1), width(2));
    for [a, b, c, d] in &rows {
        if !output::line(&format!("{a:name$}  {b:exchange$}  {c:payload$}  {d}"))? {
            break;
        }
    }
    Ok(())
}
