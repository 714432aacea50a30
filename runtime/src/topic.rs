//! RabbitMQ's topic-exchange matching rule.

/// Whether a message published with `routing_key` reaches a queue bound to a
/// topic exchange with `pattern`, by RabbitMQ's rule.
///
/// Both strings split on every `.`, keeping empty words: `a..b` is three words,
/// `.` is two empty words, and the empty string has no words at all. In the
/// pattern, a word that is exactly `*` matches exactly one word (which may be
/// empty) and a word that is exactly `#` matches zero or more words; any other
/// word, including `a*`, `#b` or `##`, matches only the same bytes.
///
/// It allocates nothing, and agrees with a real RabbitMQ broker on the cases in
/// the test suite's `tests/data/topic-cases.tsv`.
///
/// ```
/// use pulse_binding::topic_matches;
///
/// assert!(topic_matches("primary.*.#", "primary.taskId.0.worker"));
/// assert!(topic_matches("#", ""));          // `#` matches the empty key
/// assert!(topic_matches("a.#", "a"));       // ... and zero words at the end
/// assert!(topic_matches("*.*", "."));       // two empty words
/// assert!(!topic_matches("*", ""));         // the empty key has no word for `*`
/// assert!(!topic_matches("a*", "ab"));      // wildcards count only as whole words
/// ```
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    topic_matches_bytes(pattern.as_bytes(), routing_key.as_bytes())
}

/// [`topic_matches`] on raw bytes, as AMQP carries them.
pub(crate) fn topic_matches_bytes(pattern: &[u8], key: &[u8]) -> bool {
    matches_words(Bytes(pattern), key)
}

/// [`topic_matches`] of the pattern that `segments` joined with `.` would
/// make, without joining them: a derived binding's words, each a field's value
/// (possibly several words) or its wildcard.
pub(crate) fn topic_matches_segments(segments: &[&str], key: &[u8]) -> bool {
    matches_words(Segments(segments), key)
}

/// The words of a pattern, walked with a cursor.
trait Words<'a>: Copy {
    type Cursor: Copy;
    /// The first word's cursor; `None` when there are no words.
    fn first(self) -> Option<Self::Cursor>;
    /// The word at `at`, and the next word's cursor.
    fn word_at(self, at: Self::Cursor) -> (&'a [u8], Option<Self::Cursor>);
}

/// A pattern as one string; a cursor is a word's byte offset.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Words<'a> for Bytes<'a> {
    type Cursor = usize;
    fn first(self) -> Option<usize> {
        first_word(self.0)
    }
    fn word_at(self, at: usize) -> (&'a [u8], Option<usize>) {
        word_at(self.0, at)
    }
}

/// A pattern as strings to be joined with `.`; a cursor is (string, offset).
#[derive(Clone, Copy)]
struct Segments<'a>(&'a [&'a str]);

impl<'a> Words<'a> for Segments<'a> {
    type Cursor = (usize, usize);
    fn first(self) -> Option<(usize, usize)> {
        // No words only when the joined string would be empty.
        (!matches!(self.0, [] | [""])).then_some((0, 0))
    }
    fn word_at(self, (i, at): (usize, usize)) -> (&'a [u8], Option<(usize, usize)>) {
        let segment = self.0.get(i).map_or(&b""[..], |s| s.as_bytes());
        match word_at(segment, at) {
            (word, Some(next)) => (word, Some((i, next))),
            (word, None) => (word, (i + 1 < self.0.len()).then_some((i + 1, 0))),
        }
    }
}

fn matches_words<'p, P: Words<'p>>(pattern: P, key: &[u8]) -> bool {
    // Glob matching over words, `#` being the "any sequence" and `*` the "any
    // one" wildcard: advance greedily and, on a mismatch, let the most recent
    // `#` swallow one more word. A key cursor is the byte offset of a word's
    // start; cursors are `None` once the words are used up.
    let mut p = pattern.first();
    let mut k = first_word(key);
    // (pattern cursor after the last `#`, key cursor that `#` is up to)
    let mut hash: Option<(Option<P::Cursor>, usize)> = None;
    while let Some(ki) = k {
        let (kw, k_next) = word_at(key, ki);
        if let Some(pi) = p {
            let (pw, p_next) = pattern.word_at(pi);
            if pw == b"#" {
                if p_next.is_none() {
                    // A `#` that ends the pattern takes whatever is left.
                    return true;
                }
                hash = Some((p_next, ki));
                p = p_next;
                continue;
            }
            if pw == b"*" || pw == kw {
                p = p_next;
                k = k_next;
                continue;
            }
        }
        match hash {
            Some((after_hash, swallowed)) => {
                let (_, next) = word_at(key, swallowed);
                p = after_hash;
                k = next;
                hash = next.map(|n| (after_hash, n));
            }
            None => return false,
        }
    }
    // The key is used up: what is left of the pattern must be all `#`.
    while let Some(pi) = p {
        let (pw, p_next) = pattern.word_at(pi);
        if pw != b"#" {
            return false;
        }
        p = p_next;
    }
    true
}

fn first_word(s: &[u8]) -> Option<usize> {
    if s.is_empty() { None } else { Some(0) }
}

/// The word starting at `at`, and where the next one starts.
fn word_at(s: &[u8], at: usize) -> (&[u8], Option<usize>) {
    let rest = &s[at.min(s.len())..];
    match rest.iter().position(|&b| b == b'.') {
        Some(dot) => (&rest[..dot], Some(at + dot + 1)),
        None => (rest, None),
    }
}

/// How many words a key or pattern has (none for the empty string).
pub(crate) fn word_count(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.bytes().filter(|&b| b == b'.').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn segments_match_as_the_pattern_they_join_into() {
        use super::topic_matches_segments;
        let cases: &[(&[&str], &str)] = &[
            (&[], ""),
            (&[""], ""),
            (&["a", ""], "a."),
            (&["a.", "b"], "a..b"),
            (&["#"], "x.y"),
            (&["primary", "*", "x.#", "#"], "primary.q.x.r.s"),
            (&["a.#", "b"], "a.b"),
            (&["*", "*"], "."),
        ];
        for (segments, key) in cases {
            for key in [*key, "", ".", "a", "a.b", "primary.q.x", "x.y"] {
                let joined = segments.join(".");
                assert_eq!(
                    topic_matches_segments(segments, key.as_bytes()),
                    topic_matches(&joined, key),
                    "{segments:?} vs {key:?}"
                );
            }
        }
    }

    #[test]
    fn hash_swallows_as_many_words_as_the_rest_of_the_pattern_needs() {
        assert!(topic_matches("#.a.#.b", "x.a.y.a.z.b"));
        assert!(!topic_matches("#.a.#.b", "x.a.y.a.z.c"));
        assert!(topic_matches("#.a", "a.a.a"));
    }
}
