//! `topic_matches` against RabbitMQ's own verdicts.

use pulse_binding::topic_matches;

#[test]
fn agrees_with_every_verdict_recorded_from_rabbitmq() {
    let cases = pulse_binding_tests::topic_cases();
    assert!(cases.len() > 300, "the table has {} cases", cases.len());
    let wrong: Vec<_> = cases
        .iter()
        .filter(|c| topic_matches(&c.pattern, &c.key) != c.matches)
        .collect();
    assert!(wrong.is_empty(), "disagrees with RabbitMQ on {wrong:#?}");
}

#[test]
fn the_edge_cases_rabbitmq_is_known_for() {
    // `#` matches zero words, even the empty key and at the end.
    assert!(topic_matches("#", ""));
    assert!(topic_matches("a.#", "a"));
    assert!(topic_matches("#.a", "a"));
    assert!(topic_matches("#.#", ""));
    // `*` is exactly one word, and a word may be empty.
    assert!(topic_matches("*.*", "."));
    assert!(topic_matches("a.*", "a."));
    assert!(!topic_matches("*", ""));
    assert!(!topic_matches("*.#", ""));
    // The empty pattern has no words.
    assert!(topic_matches("", ""));
    assert!(!topic_matches("", "."));
    // Wildcards only as whole words; comparison is byte-exact.
    assert!(!topic_matches("a*", "ab"));
    assert!(!topic_matches("a#b", "a.b"));
    assert!(topic_matches("a#b", "a#b"));
    assert!(!topic_matches("##", "a"));
    assert!(!topic_matches("A", "a"));
    // Two `#` words.
    assert!(topic_matches("#.a.#", "a"));
    assert!(topic_matches("#.a.#", "x.y.a.z"));
    assert!(!topic_matches("#.a.#", "x.y.b.z"));
}

proptest::proptest! {
    /// Any pattern matches itself once its wildcards are read literally, and
    /// `#` matches everything.
    #[test]
    fn hash_matches_every_key(key in "\\PC{0,40}") {
        proptest::prop_assert!(topic_matches("#", &key));
        proptest::prop_assert!(topic_matches(&key.replace(['*', '#'], "x"), &key.replace(['*', '#'], "x")));
    }

    /// The matcher agrees with a plain recursive definition of the rule.
    #[test]
    fn agrees_with_a_recursive_definition(pattern in "(a|b||\\*|#)(\\.(a|b||\\*|#)){0,5}|", key in "(a|b|)(\\.(a|b|)){0,6}|") {
        proptest::prop_assert_eq!(topic_matches(&pattern, &key), reference(&words(&pattern), &words(&key)));
    }
}

fn words(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split('.').collect()
    }
}

/// The rule as a definition: slow, obviously right.
fn reference(p: &[&str], k: &[&str]) -> bool {
    match (p.first(), k.first()) {
        (None, None) => true,
        (Some(&"#"), _) => reference(&p[1..], k) || (!k.is_empty() && reference(p, &k[1..])),
        (Some(&"*"), Some(_)) => reference(&p[1..], &k[1..]),
        (Some(pw), Some(kw)) => pw == kw && reference(&p[1..], &k[1..]),
        _ => false,
    }
}
