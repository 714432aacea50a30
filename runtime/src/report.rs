//! How errors and log lines show what they are about: input quoted up to a
//! bound ([`Quoted`]), and an error with its causes on one line ([`Chain`]).
//!
//! Input can be huge (a message body, a routing key a caller built): an error
//! that quotes it whole would copy it into every log line and every report.
//! So everything quoted from input goes through [`Quoted`], which keeps the
//! first [`QUOTE_LIMIT`] bytes and says how long the whole was.

use std::fmt::{self, Write as _};

/// How many bytes of an input an error or log line quotes at most.
pub(crate) const QUOTE_LIMIT: usize = 200;

/// An input quoted like `{:?}` quotes a string, cut after [`QUOTE_LIMIT`]
/// bytes (at a character boundary) and then followed by `…(N bytes)`, N being
/// the whole input's length. Bytes that are not UTF-8 show as `\u{fffd}`.
#[derive(Clone, Copy)]
pub(crate) struct Quoted<'a>(pub(crate) &'a [u8]);

impl<'a> Quoted<'a> {
    pub(crate) fn str(s: &'a str) -> Self {
        Self(s.as_bytes())
    }
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes.len() <= QUOTE_LIMIT {
            return write!(f, "{:?}", String::from_utf8_lossy(bytes));
        }
        let head = cut(bytes, QUOTE_LIMIT);
        write!(
            f,
            "{:?}…({} bytes)",
            String::from_utf8_lossy(head),
            bytes.len()
        )
    }
}

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The longest prefix of `bytes` of at most `limit` bytes that does not end
/// inside a UTF-8 character (for UTF-8 input).
fn cut(bytes: &[u8], limit: usize) -> &[u8] {
    if bytes.len() <= limit {
        return bytes;
    }
    // Back up from the limit to the first byte of its character: UTF-8
    // continuation bytes are 0b10xxxxxx, at most 3 in a row. Not UTF-8
    // there: cut at the limit.
    let start = (limit.saturating_sub(3)..=limit)
        .rev()
        .find(|&i| bytes[i] & 0xC0 != 0x80)
        .unwrap_or(limit);
    &bytes[..start]
}

/// The text of something's `Display`, capped at [`QUOTE_LIMIT`] bytes plus
/// `…(N bytes)`, written without ever holding more than the limit: for errors
/// of other crates whose message quotes input (serde_json quotes a string of
/// the wrong type whole).
pub(crate) fn capped_display(value: &dyn fmt::Display) -> String {
    struct Capped {
        kept: String,
        total: usize,
    }
    impl fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = QUOTE_LIMIT.saturating_sub(self.kept.len());
            let mut end = room.min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.kept.push_str(&s[..end]);
            self.total += s.len();
            Ok(())
        }
    }
    let mut out = Capped {
        kept: String::new(),
        total: 0,
    };
    let _ = write!(out, "{value}");
    if out.total > out.kept.len() {
        let _ = write!(out.kept, "…({} bytes)", out.total);
    }
    out.kept
}

/// An error and its causes, `error: cause: cause`, as `anyhow`'s `{:#}`
/// prints them: for log lines, which should carry the whole story once.
#[cfg(feature = "client")]
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

#[cfg(feature = "client")]
impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Each level's `Display` in turn, from the error to its last cause.
    pub(crate) fn levels(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut cause = e.source();
        while let Some(c) = cause {
            out.push(c.to_string());
            cause = c.source();
        }
        out
    }

    /// Fails if a level's text shows again in the level above it (a
    /// `Display` that prints its own source), or a level is empty.
    pub(crate) fn assert_no_repeats(e: &(dyn std::error::Error + 'static)) {
        let levels = levels(e);
        for (i, text) in levels.iter().enumerate() {
            assert!(!text.is_empty(), "level {i} is empty in {levels:#?}");
            for later in &levels[i + 1..] {
                assert!(
                    !text.contains(later.as_str()),
                    "{text:?} repeats its cause {later:?}; chain: {levels:#?}"
                );
            }
        }
    }

    #[test]
    fn short_input_is_quoted_whole() {
        assert_eq!(Quoted::str("a.b").to_string(), "\"a.b\"");
        let exact = "x".repeat(QUOTE_LIMIT);
        assert_eq!(Quoted::str(&exact).to_string(), format!("{exact:?}"));
    }

    #[test]
    fn long_input_is_cut_and_measured() {
        let long = "x".repeat(QUOTE_LIMIT + 1);
        let shown = Quoted::str(&long).to_string();
        assert_eq!(
            shown,
            format!("{:?}…({} bytes)", &long[..QUOTE_LIMIT], QUOTE_LIMIT + 1)
        );
        let huge = vec![b'y'; 50_000_000];
        let shown = Quoted(&huge).to_string();
        assert!(shown.len() < QUOTE_LIMIT + 30, "{}", shown.len());
        assert!(shown.ends_with("…(50000000 bytes)"), "{shown}");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // 199 ASCII bytes then a 3-byte character straddling the limit.
        let s = format!("{}€€", "a".repeat(QUOTE_LIMIT - 1));
        let shown = Quoted::str(&s).to_string();
        assert!(
            shown.starts_with(&format!("\"{}\"", "a".repeat(QUOTE_LIMIT - 1))),
            "{shown}"
        );
        assert!(!shown.contains('\u{fffd}'), "{shown}");
    }

    #[test]
    fn a_cut_backs_up_to_the_start_of_a_character_only() {
        assert_eq!(cut(b"abc", 5), b"abc");
        assert_eq!(cut(b"abcdef", 3), b"abc");
        // "a€": the limit 2 falls inside "€" (3 bytes from index 1).
        assert_eq!(cut("a€b".as_bytes(), 2), b"a");
        assert_eq!(cut("a€b".as_bytes(), 4), "a€".as_bytes());
        // Continuation bytes only: not UTF-8, cut where asked.
        assert_eq!(cut(&[0x80; 10], 5), &[0x80; 5]);
    }

    #[test]
    fn capped_display_keeps_the_head_and_the_length() {
        let long = "z".repeat(1000);
        assert_eq!(capped_display(&"short"), "short");
        let shown = capped_display(&long);
        assert_eq!(shown, format!("{}…(1000 bytes)", &long[..QUOTE_LIMIT]));
        // A character across the limit is left out whole.
        let straddling = format!("{}€€", "a".repeat(QUOTE_LIMIT - 1));
        let shown = capped_display(&straddling);
        assert_eq!(
            shown,
            format!(
                "{}…({} bytes)",
                "a".repeat(QUOTE_LIMIT - 1),
                straddling.len()
            )
        );
    }

    #[cfg(feature = "client")]
    #[test]
    fn a_chain_prints_each_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("inner cause"));
        assert_eq!(Chain(&e).to_string(), "outer failed: inner cause");
    }
}
