//! Reference text -> doc comments that rustdoc renders as upstream meant.

/// Where relative links in the references point.
const DOCS_SITE: &str = "https://docs.taskcluster.net";

/// `text` as the lines of a doc comment, each as `#[doc = ".."]` holds it: a
/// leading space, or empty for a blank line (prettyplease prints them as `///`
/// or `//!` lines). Reference text must have gone through [`markdown`] first.
/// Lines are wrapped at [`WIDTH`] characters, except table rows and code.
pub fn lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        let wrapped = if in_fence || line.starts_with('|') {
            vec![line.to_owned()]
        } else {
            wrap(line)
        };
        for line in wrapped {
            out.push(if line.is_empty() {
                line
            } else {
                format!(" {line}")
            });
        }
    }
    out
}

/// How wide a doc line's text gets before it is wrapped.
pub const WIDTH: usize = 84;

/// A line broken at spaces into lines of at most [`WIDTH`] characters where
/// possible. A line never starts with what would make it a list item, a
/// heading, a quote or a table row.
fn wrap(line: &str) -> Vec<String> {
    let text = line.trim_start();
    let indent = line.len() - text.len() + list_marker(text).unwrap_or(0);
    let indent = " ".repeat(indent);
    let mut lines = Vec::new();
    let mut current = line[..line.len() - text.len()].to_owned();
    for word in text.split(' ') {
        let fits = current.chars().count() + 1 + word.chars().count() <= WIDTH;
        if current.trim_start().is_empty() {
            // the first word of the line
        } else if !fits && !starts_block(word) {
            lines.push(std::mem::replace(&mut current, indent.clone()));
        } else {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

/// The width of the list marker a line starts with: `* ` or `- ` is 2, `1. ` is 3.
fn list_marker(line: &str) -> Option<usize> {
    if line.starts_with("* ") || line.starts_with("- ") || line.starts_with("+ ") {
        return Some(2);
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = &line[digits..];
    (digits > 0 && (rest.starts_with(". ") || rest.starts_with(") "))).then_some(digits + 2)
}

fn starts_block(word: &str) -> bool {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_digit());
    word.is_empty()
        || word.starts_with(['-', '*', '+', '#', '>', '|', '=', '`'])
        || (digits.len() < word.len() && digits.starts_with(['.', ')']))
}

/// The references' Markdown, made safe for rustdoc:
/// - lines are trimmed, so that no indented line becomes a code block (which
///   rustdoc would compile as a doctest); list items stay list items;
/// - runs of blank lines become one, and none lead or trail;
/// - a `<` outside a code span is escaped, so `<topic>` is text, not an HTML tag;
/// - links to `/docs/...` point at the Taskcluster docs site.
pub fn markdown(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    // The width of the list marker of the item the lines belong to, if any:
    // its continuation lines are indented by as much (as rustdoc and clippy
    // want; the rendering is the same).
    let mut item = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            item = 0;
            if lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(String::new());
            }
            continue;
        }
        if let Some(width) = list_marker(line) {
            item = width;
            lines.push(escape(line));
        } else {
            lines.push(format!("{}{}", " ".repeat(item), escape(line)));
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.join("\n")
}

fn escape(line: &str) -> String {
    let line = line.replace("](/", &format!("]({DOCS_SITE}/"));
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        match c {
            '`' => in_code = !in_code,
            '<' if !in_code => out.push('\\'),
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Joins paragraphs with a blank line, skipping empty ones.
pub fn paragraphs<I: IntoIterator<Item = String>>(parts: I) -> String {
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indented_lines_do_not_become_code_blocks() {
        assert_eq!(
            markdown("first\n    code?\n\n\n\nend\n"),
            "first\ncode?\n\nend"
        );
    }

    #[test]
    fn list_item_continuations_are_indented_under_the_item() {
        assert_eq!(
            markdown("* it can limit\n`createTask` must\n\nafter"),
            "* it can limit\n  `createTask` must\n\nafter"
        );
        let long = format!("10. {}", "word ".repeat(30).trim_end());
        assert!(wrap(&long)[1..].iter().all(|l| l.starts_with("    word")));
    }

    #[test]
    fn angle_brackets_outside_code_are_text() {
        assert_eq!(
            markdown("the <topic> of `notify.pulse.<topic>`"),
            "the \\<topic> of `notify.pulse.<topic>`"
        );
    }

    #[test]
    fn site_relative_links_point_at_the_docs_site() {
        assert_eq!(
            markdown("[by convention](/docs/manual)"),
            "[by convention](https://docs.taskcluster.net/docs/manual)"
        );
    }

    #[test]
    fn long_lines_wrap_but_never_into_a_list_item() {
        let long = format!("{} - not a list", "word ".repeat(16).trim_end());
        let lines = wrap(&long);
        assert!(lines.iter().all(|l| !l.starts_with('-')), "{lines:?}");
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), long);
    }

    #[test]
    fn doc_lines_have_no_trailing_spaces() {
        assert_eq!(lines("a \n\nb"), [" a", "", " b"]);
    }
}
