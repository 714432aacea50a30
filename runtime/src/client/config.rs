//! Where the broker is and who logs in: [`PulseConfig`].

use std::fmt;
use std::time::Duration;

use lapin::auth::AuthProvider;
use lapin::types::{LongString, ShortString};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};

use super::error::ClientError;

/// The environment variable with the user name, used when the URL has none.
pub const USERNAME_VAR: &str = "PULSE_USERNAME";
/// The environment variable with the password, used when the URL has none.
pub const PASSWORD_VAR: &str = "PULSE_PASSWORD";

/// How to reach a Pulse (RabbitMQ) broker: an `amqp://` or `amqps://` URL and
/// the credentials.
///
/// The password is never shown: `Debug`, `Display`, [`url`](Self::url) and
/// every error print the URL as `amqps://user:***@host:port/vhost`. It is not
/// even handed to lapin inside a URL (lapin traces URLs at `trace` level); it
/// goes to the broker only in the SASL `PLAIN` login.
///
/// ```
/// use pulse_binding::client::PulseConfig;
///
/// let config = PulseConfig::from_url("amqps://me:s3cret@pulse.mozilla.org:5671").unwrap();
/// assert_eq!(config.username(), "me");
/// assert_eq!(config.url(), "amqps://me:***@pulse.mozilla.org:5671/%2F");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PulseConfig {
    /// The URL with an empty password: what lapin gets.
    uri: AMQPUri,
    password: String,
    connection_name: String,
    connect_timeout: Duration,
}

impl PulseConfig {
    /// Settings from a URL such as `amqps://user:password@pulse.mozilla.org:5671`
    /// (real Pulse) or `amqp://guest:guest@127.0.0.1:5672` (a local broker).
    ///
    /// A user name or password missing from the URL is taken from the
    /// environment variables `PULSE_USERNAME` and `PULSE_PASSWORD`; with
    /// neither, it is an error. Percent-encoded characters in the URL are
    /// decoded; the path is the virtual host (`/` when empty).
    pub fn from_url(url: &str) -> Result<Self, ClientError> {
        Self::from_url_with_env(url, |name| std::env::var(name).ok())
    }

    /// [`from_url`](Self::from_url), reading the environment through `env`.
    pub(crate) fn from_url_with_env(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let invalid = |why: &dyn fmt::Display| {
            ClientError::config(format!("`{}` is not an AMQP URL: {why}", redact_url(url)))
        };
        // Neither parser's messages quote the input, except AMQPUri's for URLs
        // that cannot be a base, which `url` rejects here first.
        let parsed = url::Url::parse(url).map_err(|e| invalid(&e))?;
        if !matches!(parsed.scheme(), "amqp" | "amqps") || parsed.cannot_be_a_base() {
            return Err(invalid(&"the scheme must be amqp:// or amqps://"));
        }
        let mut uri: AMQPUri = url.parse().map_err(|e: String| invalid(&e))?;
        // AMQPUri keeps only DNS names and turns an IP address into `localhost`.
        uri.authority.host = match parsed.host() {
            Some(url::Host::Domain(name)) => percent_decode(name).map_err(|e| invalid(&e))?,
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(invalid(&"it has no host")),
        };
        let userinfo = &mut uri.authority.userinfo;
        if parsed.username().is_empty() {
            userinfo.username = env(USERNAME_VAR).ok_or_else(|| {
                ClientError::config(format!(
                    "no user name for `{}`: put it in the URL or set {USERNAME_VAR}",
                    redact_url(url)
                ))
            })?;
        }
        if parsed.password().is_none() {
            userinfo.password = env(PASSWORD_VAR).ok_or_else(|| {
                ClientError::config(format!(
                    "no password for `{}`: put it in the URL or set {PASSWORD_VAR}",
                    redact_url(url)
                ))
            })?;
        }
        let password = std::mem::take(&mut userinfo.password);
        Ok(Self {
            uri,
            password,
            connection_name: "pulse-binding".to_owned(),
            connect_timeout: Duration::from_secs(30),
        })
    }

    /// Replaces the credentials, whatever the URL or environment said.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.uri.authority.userinfo.username = username.into();
        self.password = password.into();
        self
    }

    /// The name the connection shows in the broker's management UI
    /// (`pulse-binding` by default).
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    /// How long connecting (TCP, TLS, login) may take before it counts as a
    /// failure; 30 s by default.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The user name. Pulse names a user's queues `queue/<user>/...`.
    pub fn username(&self) -> &str {
        &self.uri.authority.userinfo.username
    }

    /// Whether the connection uses TLS (`amqps://`).
    pub fn is_tls(&self) -> bool {
        self.uri.scheme == AMQPScheme::AMQPS
    }

    /// The URL with the password replaced by `***`.
    pub fn url(&self) -> String {
        let authority = &self.uri.authority;
        let host = if authority.host.contains(':') {
            format!("[{}]", authority.host)
        } else {
            authority.host.clone()
        };
        format!(
            "{}://{}:***@{host}:{}/{}",
            self.uri.scheme,
            percent_encode(&authority.userinfo.username),
            authority.port,
            percent_encode(&self.uri.vhost),
        )
    }

    /// Opens a connection, within the connect timeout.
    pub(crate) async fn connect(&self, role: &str) -> Result<Connection, ClientError> {
        let name = format!("{} {role}", self.connection_name);
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(name))
            .with_auth_provider(PlainAuth {
                username: self.username().to_owned(),
                password: self.password.clone(),
            });
        let connect = Connection::connect_uri(self.uri.clone(), properties);
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(ClientError::Connect {
                url: self.url(),
                source: Box::new(e),
            }),
            Err(_) => Err(ClientError::Connect {
                url: self.url(),
                source: format!("no answer within {:?}", self.connect_timeout).into(),
            }),
        }
    }
}

impl fmt::Debug for PulseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PulseConfig")
            .field("url", &self.url())
            .field("connection_name", &self.connection_name)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl fmt::Display for PulseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

/// SASL `PLAIN` with the password kept out of every URL and `Debug`.
struct PlainAuth {
    username: String,
    password: String,
}

impl AuthProvider for PlainAuth {
    fn mechanism(&self) -> ShortString {
        "PLAIN".into()
    }

    fn auth_starter(&self) -> Result<LongString, String> {
        let mut response = Vec::with_capacity(self.username.len() + self.password.len() + 2);
        response.push(0);
        response.extend_from_slice(self.username.as_bytes());
        response.push(0);
        response.extend_from_slice(self.password.as_bytes());
        Ok(LongString::from(response))
    }
}

/// Percent-encodes all but unreserved URL characters.
fn percent_encode(s: &str) -> String {
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
/// `:` of the user info in `scheme://user:password@host/...`, or everything
/// before the last `@` of a string that is not `scheme://...` at all.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return match url.rfind('@') {
            Some(at) => format!("***{}", &url[at..]),
            None => url.to_owned(),
        };
    };
    let start = scheme_end + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
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

    #[test]
    fn credentials_in_the_url_win_over_the_environment() {
        let vars = env(&[(USERNAME_VAR, "env-user"), (PASSWORD_VAR, "env-pw")]);
        let c = PulseConfig::from_url_with_env("amqp://me:pw@localhost:5672", vars).unwrap();
        assert_eq!(c.username(), "me");
        assert_eq!(c.password, "pw");
    }

    #[test]
    fn missing_credentials_come_from_the_environment() {
        let vars = env(&[(USERNAME_VAR, "env-user"), (PASSWORD_VAR, "env-pw")]);
        let c = PulseConfig::from_url_with_env("amqps://pulse.mozilla.org:5671", vars).unwrap();
        assert_eq!(c.username(), "env-user");
        assert_eq!(c.password, "env-pw");
        assert!(c.is_tls());
        assert_eq!(c.url(), "amqps://env-user:***@pulse.mozilla.org:5671/%2F");
    }

    #[test]
    fn a_user_without_password_takes_the_password_from_the_environment() {
        let vars = env(&[(PASSWORD_VAR, "env-pw")]);
        let c = PulseConfig::from_url_with_env("amqp://me@localhost", vars).unwrap();
        assert_eq!((c.username(), c.password.as_str()), ("me", "env-pw"));
    }

    #[test]
    fn no_credentials_anywhere_is_an_error() {
        let e = PulseConfig::from_url_with_env("amqp://localhost", env(&[])).unwrap_err();
        assert!(e.to_string().contains(USERNAME_VAR), "{e}");
    }

    #[test]
    fn the_password_shows_nowhere() {
        let pw = "p%40ss-w0rd";
        let c = PulseConfig::from_url_with_env(&format!("amqp://me:{pw}@localhost/vh"), env(&[]))
            .unwrap();
        assert_eq!(c.password, "p@ss-w0rd");
        for shown in [format!("{c:?}"), c.to_string(), c.url()] {
            assert!(!shown.contains("w0rd"), "{shown}");
            assert!(shown.contains("me:***@localhost"), "{shown}");
        }
    }

    #[test]
    fn an_unparsable_url_is_reported_redacted() {
        for url in [
            "amqp://me:s3cr3t@host:notaport",
            "http://me:s3cr3t@host",
            "me:s3cr3t@host",
        ] {
            let e = PulseConfig::from_url_with_env(url, env(&[])).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn an_ip_address_stays_the_host() {
        let c = PulseConfig::from_url_with_env("amqp://u:p@127.0.0.1:5672", env(&[])).unwrap();
        assert_eq!(c.uri.authority.host, "127.0.0.1");
        let c = PulseConfig::from_url_with_env("amqp://u:p@[::1]:5672", env(&[])).unwrap();
        assert_eq!(c.uri.authority.host, "::1");
    }

    #[test]
    fn redaction_keeps_everything_but_the_password() {
        assert_eq!(
            redact_url("amqps://u:p@h:1/v?x=y"),
            "amqps://u:***@h:1/v?x=y"
        );
        assert_eq!(redact_url("amqp://u@h"), "amqp://u@h");
        assert_eq!(redact_url("amqp://h/a@b"), "amqp://h/a@b");
        assert_eq!(redact_url("amqp://u:p@ss@h"), "amqp://u:***@h");
        assert_eq!(redact_url("u:p@h"), "***@h");
    }
}
