//! Reading an `amqp://` / `amqps://` URL into lapin's [`AMQPUri`] and the
//! password kept apart, and showing URLs without their password.
//!
//! A URL is refused rather than guessed at whenever its password could leak
//! into the host, port or virtual host: an `@` after the first `/`, `?` or `#`
//! means a password with an unencoded `/`, `?` or `#` (or an unencoded `@` in
//! the virtual host), and then the error shows nothing past the user name.

use lapin::uri::AMQPUri;

use crate::client::connect::config::{PASSWORD_VAR, USERNAME_VAR};
use crate::client::error::ClientError;
use crate::report::{Quoted, capped_display};

/// The URL's parts: lapin's URI with an empty password, and the password.
pub(crate) struct Parsed {
    pub(crate) uri: AMQPUri,
    pub(crate) password: String,
}

/// Parses `url`, taking a missing user name or password from `env`
/// ([`USERNAME_VAR`], [`PASSWORD_VAR`]).
pub(crate) fn parse(
    url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, ClientError> {
    let shown = || capped_display(&redact_url(url));
    let invalid = |why: &dyn std::fmt::Display| {
        ClientError::config(format!("`{}` is not an AMQP URL: {why}", shown()))
    };
    let userinfo = check_userinfo(url)?;
    // Neither parser's messages quote the input, except AMQPUri's for URLs
    // that cannot be a base, which `url` rejects here first.
    let parsed = ::url::Url::parse(url).map_err(|e| invalid(&e))?;
    if !matches!(parsed.scheme(), "amqp" | "amqps") || parsed.cannot_be_a_base() {
        return Err(invalid(&"the scheme must be amqp:// or amqps://"));
    }
    if parsed.port() == Some(0) {
        return Err(invalid(&"port 0 cannot be connected to"));
    }
    let mut uri: AMQPUri = url.parse().map_err(|e: String| invalid(&e))?;
    // AMQPUri keeps only DNS names and turns an IP address into `localhost`.
    uri.authority.host = match parsed.host() {
        Some(::url::Host::Domain(name)) => {
            let host = percent_decode(name).map_err(|e| invalid(&e))?;
            if let Some(c) = host.chars().find(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid(&format_args!(
                    "its host {} contains the character {c:?}",
                    Quoted::str(&host)
                )));
            }
            host
        }
        Some(::url::Host::Ipv4(ip)) => ip.to_string(),
        Some(::url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(invalid(&"it has no host")),
    };
    // `amqp://host/` is the default virtual host, as `amqp://host` is.
    if uri.vhost.is_empty() {
        uri.vhost = "/".to_owned();
    }
    // Missing credentials are an error only when connecting without a
    // credentials provider (`PulseConfig::credentials`).
    let credentials = &mut uri.authority.userinfo;
    if parsed.username().is_empty() {
        credentials.username = env(USERNAME_VAR).unwrap_or_default();
    }
    match userinfo {
        // `user:@host`: a password was written, and it is empty.
        Some(info) if info.ends_with(':') => {
            return Err(ClientError::config(format!(
                "the password in `{}` is empty: write it after the `:`, or drop the `:` \
                 to take it from {PASSWORD_VAR}",
                shown()
            )));
        }
        Some(info) if info.contains(':') => {}
        _ => credentials.password = env(PASSWORD_VAR).unwrap_or_default(),
    }
    let password = std::mem::take(&mut credentials.password);
    Ok(Parsed { uri, password })
}

/// The user info of `scheme://userinfo@host...` (`None` without an `@`), or
/// an error showing only the scheme and user name when an `@` comes after the
/// host part, where a password with an unencoded `/`, `?` or `#` puts it.
fn check_userinfo(url: &str) -> Result<Option<&str>, ClientError> {
    let Some(scheme_end) = url.find("://") else {
        return Ok(None);
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest[authority_end..].contains('@') {
        let user_end = rest.find([':', '/', '?', '#', '@']).unwrap_or(rest.len());
        return Err(ClientError::config(format!(
            "the URL `{}://{}…` is ambiguous: it has an `@` after a `/`, `?` or `#`. \
             Percent-encode `/`, `?`, `#` and `@` in the password (%2F, %3F, %23, %40) \
             and `@` in the virtual host (%40)",
            &url[..scheme_end],
            capped_display(&&rest[..user_end]),
        )));
    }
    Ok(rest[..authority_end].rfind('@').map(|at| &rest[..at]))
}

/// Percent-encodes all but unreserved URL characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String, std::str::Utf8Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| e.utf8_error())
}

/// The URL with its password replaced by `***`: whatever follows the first
/// `:` of everything between `scheme://` and the last `@` (so a password
/// with an unencoded `/`, `?`, `#` or `@` is hidden too), or everything
/// before the last `@` of a string that is not `scheme://...` at all.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return match url.rfind('@') {
            Some(at) => format!("***{}", &url[at..]),
            None => url.to_owned(),
        };
    };
    let start = scheme_end + 3;
    let Some(at) = url[start..].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}***{}", &url[..start + colon + 1], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn parse_err(url: &str) -> String {
        match parse(
            url,
            &env(&[(PASSWORD_VAR, "env-pw"), (USERNAME_VAR, "env-user")]),
        ) {
            Ok(p) => panic!("{url} parsed as host {}", p.uri.authority.host),
            Err(e) => format!("{e} {e:?}"),
        }
    }

    #[test]
    fn a_password_with_unencoded_delimiters_is_refused_and_never_shown() {
        for (url, secret, user) in [
            ("amqp://u:pa/S3cret@host", "S3cret", "amqp://u"),
            ("amqps://me:9/aB+cD/eF@host", "aB+cD", "amqps://me"),
            ("amqp://u:pa?S3cret@host:5672", "S3cret", "amqp://u"),
            ("amqp://u:pa#S3cret@host", "S3cret", "amqp://u"),
            ("amqp://u:p@a/S3cret@host", "S3cret", "amqp://u"),
        ] {
            let shown = parse_err(url);
            assert!(!shown.contains(secret), "{url}: {shown}");
            assert!(
                !shown.contains(":pa") && !shown.contains(":9"),
                "{url}: {shown}"
            );
            assert!(shown.contains("ambiguous"), "{url}: {shown}");
            assert!(shown.contains(user), "{url}: {shown}");
        }
    }

    #[test]
    fn redaction_hides_everything_up_to_the_last_at() {
        assert_eq!(redact_url("amqp://u:pa/S3cret@host"), "amqp://u:***@host");
        assert_eq!(
            redact_url("amqps://me:9/aB+cD/eF@host"),
            "amqps://me:***@host"
        );
        assert_eq!(redact_url("amqp://u:p#x@h/v"), "amqp://u:***@h/v");
        assert_eq!(
            redact_url("amqps://u:p@h:1/v?x=y"),
            "amqps://u:***@h:1/v?x=y"
        );
        assert_eq!(redact_url("amqp://u@h"), "amqp://u@h");
        assert_eq!(redact_url("amqp://h/a@b"), "amqp://h/a@b");
        assert_eq!(redact_url("amqp://u:p@ss@h"), "amqp://u:***@h");
        assert_eq!(redact_url("u:p@h"), "***@h");
    }

    #[test]
    fn an_empty_path_is_the_default_virtual_host() {
        for url in ["amqp://u:p@host/", "amqp://u:p@host", "amqp://u:p@host/%2F"] {
            let p = parse(url, &env(&[])).unwrap();
            assert_eq!(p.uri.vhost, "/", "{url}");
        }
        let p = parse("amqp://u:p@host/pulse", &env(&[])).unwrap();
        assert_eq!(p.uri.vhost, "pulse");
    }

    #[test]
    fn an_explicit_empty_password_is_an_error_not_the_environment() {
        let shown = parse_err("amqp://me:@host");
        assert!(
            shown.contains("password") && shown.contains("empty"),
            "{shown}"
        );
        assert!(!shown.contains("env-pw"), "{shown}");
        let p = parse("amqp://me@host", &env(&[(PASSWORD_VAR, "env-pw")])).unwrap();
        assert_eq!(p.password, "env-pw");
    }

    #[test]
    fn a_control_character_in_the_host_is_refused() {
        for url in [
            "amqp://u:p@ho%00st",
            "amqp://u:p@ho%0Ast",
            "amqp://u:p@ho%20st",
        ] {
            let shown = parse_err(url);
            assert!(shown.contains("host"), "{url}: {shown}");
        }
    }

    #[test]
    fn a_url_that_cannot_be_a_base_is_refused_without_quoting_it() {
        for url in ["amqp:me:s3cr3t@host", "amqps:me:s3cr3t@host"] {
            let shown = parse_err(url);
            assert!(shown.contains("amqp:// or amqps://"), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn a_percent_encoded_host_is_decoded() {
        let p = parse("amqp://u:p@my%2Dhost%2e%41", &env(&[])).unwrap();
        assert_eq!(p.uri.authority.host, "my-host.A");
        let p = parse("amqp://u:p@h%C3%A9", &env(&[])).unwrap();
        assert_eq!(p.uri.authority.host, "hé");
    }

    #[test]
    fn port_zero_is_refused_when_parsing() {
        let shown = parse_err("amqp://u:p@host:0");
        assert!(shown.contains("port 0"), "{shown}");
    }

    #[test]
    fn a_huge_url_is_quoted_cut() {
        let url = format!("amqp://u:p@host:notaport/{}", "v".repeat(100_000));
        let shown = parse_err(&url);
        assert!(shown.len() < 2_000, "{} bytes", shown.len());
    }
}
