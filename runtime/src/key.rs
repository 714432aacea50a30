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
    let first_multi = words.iter().position(|w| w.kind == WordKind::Multi);
    let split = match first_multi {
        None => split_exact(words, routing_key, out),
        Some(m) => split_around(words, m, routing_key, out),
    };
    let Some(()) = split.filter(|()| out.len() == words.len()) else {
        return Err(word_count_error(exchange, words, routing_key));
    };
    for (spec, word) in words.iter().zip(out.iter()) {
        if let (WordKind::Constant(expected), Some(word)) = (spec.kind, word)
            && *word != expected
        {
            return Err(not_constant_error(exchange, spec, word));
        }
    }
    Ok(())
}

/// The error for a `routing_key` with a number of words that `words` cannot
/// take.
#[cold]
#[inline(never)]
pub(crate) fn word_count_error(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &str,
) -> FromRoutingKeyError {
    FromRoutingKeyError::WordCount {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        expected: words.iter().filter(|w| w.kind != WordKind::Multi).count(),
        at_least: words.iter().any(|w| w.kind == WordKind::Multi),
        found: word_count(routing_key),
    }
}

/// The error for a `word` other than the fixed word of `spec`, which must be
/// [`WordKind::Constant`].
#[cold]
#[inline(never)]
pub(crate) fn not_constant_error(
    exchange: &str,
    spec: &KeyWord,
    word: &str,
) -> FromRoutingKeyError {
    FromRoutingKeyError::NotConstant {
        exchange: exchange.to_owned(),
        field: spec.name,
        expected: spec.fallback(),
        word: word.to_owned(),
    }
}

/// Every word is a single word: the key must have exactly as many.
fn split_exact<'k>(words: &[KeyWord], key: &'k str, out: &mut [Option<&'k str>]) -> Option<()> {
    if words.is_empty() {
        return key.is_empty().then_some(());
    }
    let mut rest = (!key.is_empty()).then_some(key);
    for slot in out.iter_mut().take(words.len()) {
        let (word, after) = split_first(rest?);
        *slot = Some(word);
        rest = after;
    }
    // Words left over mean the key is too long.
    rest.is_none().then_some(())
}

/// Single words before the first multi-word field from the left, those after
/// it from the right, and what is left between for it; a later multi-word
/// field gets nothing.
fn split_around<'k>(
    words: &[KeyWord],
    multi: usize,
    key: &'k str,
    out: &mut [Option<&'k str>],
) -> Option<()> {
    let out = out.get_mut(..words.len())?;
    // `None`: no words left (the empty key, or all taken).
    let mut rest = (!key.is_empty()).then_some(key);
    for slot in &mut out[..multi] {
        let (word, after) = split_first(rest?);
        *slot = Some(word);
        rest = after;
    }
    for (spec, slot) in words[multi + 1..].iter().zip(&mut out[multi + 1..]).rev() {
        if spec.kind == WordKind::Multi {
            *slot = None;
            continue;
        }
        let (before, word) = split_last(rest?);
        *slot = Some(word);
        rest = before;
    }
    out[multi] = rest;
    Some(())
}

/// The first word, and the rest after its `.` (`None` if it was the last).
#[inline]
pub(crate) fn split_first(s: &str) -> (&str, Option<&str>) {
    match s.find('.') {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    }
}

/// The rest before the last `.` (`None` if there is none), and the last word.
#[inline]
pub(crate) fn split_last(s: &str) -> (Option<&str>, &str) {
    match s.rfind('.') {
        Some(dot) => (Some(&s[..dot]), &s[dot + 1..]),
        None => (None, s),
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

/// The routing key of a binding described by `words`, from each word's value
/// as `value_of` gives it (`None`: unset, so its `*`, `#` or fixed word), with
/// the checks of [`PulseBinding::try_routing_key`](crate::PulseBinding::try_routing_key):
/// no `.` in a single word, no other value for a fixed word, and the pattern's
/// limits ([`check_pattern`]).
///
/// This is what a tool that knows a binding only by its
/// [`key_words`](crate::PulseBinding::key_words) (a [`DynBinding`](crate::DynBinding))
/// uses to bind or publish with some words set.
///
/// ```
/// use pulse_binding::{routing_key_from_words, KeyWord, WordKind};
///
/// const WORDS: &[KeyWord] = &[
///     KeyWord { name: "kind", kind: WordKind::Constant("primary") },
///     KeyWord { name: "task_id", kind: WordKind::Single },
///     KeyWord { name: "reserved", kind: WordKind::Multi },
/// ];
/// let key = |task_id| {
///     routing_key_from_words("an/exchange", WORDS, |w| (w.name == "task_id").then_some(task_id))
/// };
/// assert_eq!(key("abc").unwrap(), "primary.abc.#");
/// assert!(key("a.b").is_err());
/// ```
pub fn routing_key_from_words<'v>(
    exchange: &str,
    words: &[KeyWord],
    mut value_of: impl FnMut(&KeyWord) -> Option<&'v str>,
) -> Result<String, RoutingKeyError> {
    let mut key = String::new();
    let mut hashes = 0;
    for (i, spec) in words.iter().enumerate() {
        let value = value_of(spec);
        let word = match spec.kind {
            WordKind::Single => crate::__private::single_word(value, spec, exchange, &mut hashes)?,
            WordKind::Multi => crate::__private::multi_word(value, &mut hashes),
            WordKind::Constant(expected) => {
                crate::__private::constant_word(value, expected, spec, exchange)?
            }
        };
        if i > 0 {
            key.push('.');
        }
        key.push_str(word);
    }
    check_limits(exchange, key.len(), hashes)?;
    Ok(key)
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
    check_limits(exchange, pattern.len(), hash_words(pattern))
}

/// How many words of `s` are exactly `#`.
pub(crate) fn hash_words(s: &str) -> usize {
    s.split('.').filter(|w| *w == "#").count()
}

/// [`check_pattern`] on a pattern of `len` bytes with `hashes` `#` words.
#[inline]
pub(crate) fn check_limits(
    exchange: &str,
    len: usize,
    hashes: usize,
) -> Result<(), RoutingKeyError> {
    if len > 255 || hashes > 2 {
        return Err(limits_error(exchange, len, hashes));
    }
    Ok(())
}

/// The error for a pattern that [`check_limits`] refuses: too long first.
#[cold]
#[inline(never)]
fn limits_error(exchange: &str, len: usize, hashes: usize) -> RoutingKeyError {
    let exchange = exchange.to_owned();
    if len > 255 {
        RoutingKeyError::TooLong { exchange, len }
    } else {
        RoutingKeyError::TooManyHashes {
            exchange,
            count: hashes,
        }
    }
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
    fn routing_key_from_words_is_what_a_derived_binding_writes() {
        #[derive(crate::PulseBinding, Default)]
        #[exchange = "x"]
        struct B {
            #[mwords(constant = "primary")]
            kind: Option<String>,
            #[mwords("*")]
            a: Option<String>,
            #[mwords("#")]
            m: Option<String>,
            #[mwords("*")]
            b: Option<String>,
        }
        use crate::PulseBinding;
        let cases: [[Option<&str>; 4]; 6] = [
            [None, None, None, None],
            [Some("primary"), Some("1"), Some("2.3"), Some("4")],
            [None, Some("#"), Some("#"), None],
            [None, Some("a.b"), None, None],
            [Some("secondary"), None, None, None],
            [None, Some("#"), Some("#.#"), None],
        ];
        for values in cases {
            let own = |v: Option<&str>| v.map(str::to_owned);
            let binding = B {
                kind: own(values[0]),
                a: own(values[1]),
                m: own(values[2]),
                b: own(values[3]),
            };
            let words = binding.key_words().unwrap();
            let built = routing_key_from_words("x", words, |w| {
                values[words.iter().position(|s| s == w).unwrap()]
            });
            assert_eq!(built, binding.try_routing_key(), "{values:?}");
        }
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
