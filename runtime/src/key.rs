//! What a binding's routing-key words are, and how a routing key splits into them.

use crate::error::{FromRoutingKeyError, RoutingKeyError};
use crate::topic::word_count;

/// One word of a binding's routing key, as declared with `#[mwords]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyWord {
    /// The field's name.
    pub name: &'static str,
    /// What the word matches when the field is unset.
    pub kind: WordKind,
}

/// What a routing-key word is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WordKind {
    /// `#[mwords("*")]`: one word; `*` when unset.
    Single,
    /// `#[mwords("#")]`: any number of words; `#` when unset.
    Multi,
    /// `#[mwords(constant = "..")]`: one word that publishers always fill with
    /// this value, which also stands for the field when it is unset.
    Constant(&'static str),
}

impl KeyWord {
    /// What the word is in the pattern when the field is unset: `*`, `#` or
    /// the fixed word.
    pub const fn fallback(&self) -> &'static str {
        match self.kind {
            WordKind::Single => "*",
            WordKind::Multi => "#",
            WordKind::Constant(word) => word,
        }
    }
}

/// Splits a concrete `routing_key` into one slot per word of `words`:
/// single-word fields take words from the left up to the multi-word field, and
/// from the right after it; the multi-word field takes what is left between
/// (`None` when that is nothing). With two multi-word fields, the first takes
/// every word it can and the second none.
///
/// Checks the word count and each fixed word. `out` must have one slot per
/// entry of `words`.
pub fn split_routing_key<'k>(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &'k str,
    out: &mut [Option<&'k str>],
) -> Result<(), FromRoutingKeyError> {
    let singles = words.iter().filter(|w| w.kind != WordKind::Multi).count();
    let first_multi = words.iter().position(|w| w.kind == WordKind::Multi);
    let found = word_count(routing_key);
    let fits = match first_multi {
        Some(_) => found >= singles,
        None => found == singles,
    };
    if !fits || out.len() != words.len() {
        return Err(FromRoutingKeyError::WordCount {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            expected: singles,
            at_least: first_multi.is_some(),
            found,
        });
    }
    let multi_len = found - singles;
    let mut rest = routing_key;
    for (i, (spec, slot)) in words.iter().zip(out.iter_mut()).enumerate() {
        let take = match spec.kind {
            WordKind::Multi if Some(i) == first_multi => multi_len,
            WordKind::Multi => 0,
            _ => 1,
        };
        if take == 0 {
            *slot = None;
            continue;
        }
        let (word, after) = take_words(rest, take);
        rest = after;
        if let WordKind::Constant(expected) = spec.kind
            && word != expected
        {
            return Err(FromRoutingKeyError::NotConstant {
                exchange: exchange.to_owned(),
                field: spec.name,
                expected,
                word: word.to_owned(),
            });
        }
        *slot = Some(word);
    }
    Ok(())
}

/// The first `n` (at least one) words of `s` joined with `.`, and what follows
/// them after the separating `.`.
fn take_words(s: &str, n: usize) -> (&str, &str) {
    let mut end = 0;
    for _ in 0..n - 1 {
        end += s[end..].find('.').map_or(s.len() - end, |dot| dot + 1);
    }
    match s[end..].find('.') {
        Some(dot) => (&s[..end + dot], &s[end + dot + 1..]),
        None => (s, ""),
    }
}

/// The fields of any described binding, parsed from a concrete routing key as
/// `(field name, word)` pairs in declaration order. A multi-word field's words
/// come joined with `.`; one that got no word is `None`.
///
/// This is what a consumer of mixed bindings uses to show a message's fields
/// without knowing the binding's type.
///
/// ```
/// use pulse_binding::{parse_fields, KeyWord, WordKind};
///
/// const WORDS: &[KeyWord] = &[
///     KeyWord { name: "kind", kind: WordKind::Constant("primary") },
///     KeyWord { name: "task_id", kind: WordKind::Single },
///     KeyWord { name: "reserved", kind: WordKind::Multi },
/// ];
/// let fields = parse_fields("an/exchange", WORDS, "primary.abc").unwrap();
/// assert_eq!(fields, [("kind", Some("primary")), ("task_id", Some("abc")), ("reserved", None)]);
/// assert!(parse_fields("an/exchange", WORDS, "secondary.abc").is_err());
/// ```
pub fn parse_fields<'k>(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &'k str,
) -> Result<Vec<(&'static str, Option<&'k str>)>, FromRoutingKeyError> {
    let mut slots = vec![None; words.len()];
    split_routing_key(exchange, words, routing_key, &mut slots)?;
    Ok(words.iter().map(|w| w.name).zip(slots).collect())
}

/// Checks a finished pattern against what a broker accepts: at most 255 bytes
/// (AMQP's limit for a binding key) and at most two `#` words (recent RabbitMQ
/// refuses more).
///
/// ```
/// use pulse_binding::check_pattern;
///
/// assert!(check_pattern("an/exchange", "primary.*.#").is_ok());
/// assert!(check_pattern("an/exchange", "#.a.#.b.#").is_err());
/// assert!(check_pattern("an/exchange", &"a".repeat(256)).is_err());
/// ```
pub fn check_pattern(exchange: &str, pattern: &str) -> Result<(), RoutingKeyError> {
    if pattern.len() > 255 {
        return Err(RoutingKeyError::TooLong {
            exchange: exchange.to_owned(),
            len: pattern.len(),
        });
    }
    let hashes = pattern.split('.').filter(|w| *w == "#").count();
    if hashes > 2 {
        return Err(RoutingKeyError::TooManyHashes {
            exchange: exchange.to_owned(),
            count: hashes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &[KeyWord] = &[
        KeyWord {
            name: "a",
            kind: WordKind::Single,
        },
        KeyWord {
            name: "m",
            kind: WordKind::Multi,
        },
        KeyWord {
            name: "b",
            kind: WordKind::Single,
        },
    ];

    fn split(words: &[KeyWord], key: &str) -> Result<Vec<Option<String>>, FromRoutingKeyError> {
        let mut out = vec![None; words.len()];
        split_routing_key("x", words, key, &mut out)?;
        Ok(out.into_iter().map(|w| w.map(str::to_owned)).collect())
    }

    #[test]
    fn the_multi_word_field_takes_the_middle() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(split(W, "1.2.3.4").unwrap(), [s("1"), s("2.3"), s("4")]);
        assert_eq!(split(W, "1.4").unwrap(), [s("1"), None, s("4")]);
        assert_eq!(split(W, "1..4").unwrap(), [s("1"), s(""), s("4")]);
        assert_eq!(split(W, ".").unwrap(), [s(""), None, s("")]);
        assert!(split(W, "1").is_err());
        assert!(split(W, "").is_err());
    }

    #[test]
    fn with_two_multi_word_fields_the_first_takes_all() {
        let w = [
            KeyWord {
                name: "m1",
                kind: WordKind::Multi,
            },
            KeyWord {
                name: "a",
                kind: WordKind::Single,
            },
            KeyWord {
                name: "m2",
                kind: WordKind::Multi,
            },
        ];
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(split(&w, "1.2.3").unwrap(), [s("1.2"), s("3"), None]);
    }
}
