//! Where the broker is and who logs in: [`PulseConfig`].

use std::fmt;
use std::time::Duration;

use lapin::auth::AuthProvider;
use lapin::types::{LongString, ShortString};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};

use crate::client::connect::credentials::{Credentials, Provider};
use crate::client::connect::nodes::Node;
use crate::client::connect::tls::{self, Tls};
use crate::client::connect::url::{Parsed, percent_encode};
use crate::client::error::ClientError;

/// The environment variable with the user name, used when the URL has none.
pub const USERNAME_VAR: &str = "PULSE_USERNAME";
/// The environment variable with the password, used when the URL has none.
pub const PASSWORD_VAR: &str = "PULSE_PASSWORD";

/// How to reach a Pulse (RabbitMQ) broker: an `amqp://` or `amqps://` URL and
/// the credentials.
///
/// The password is never shown: `Debug`, `Display`, [`url`](Self::url),
/// every error and every log line of this crate print the URL as
/// `amqps://user:***@host:port/vhost`. It is not even handed to lapin inside a
/// URL; it goes to the broker only in the SASL `PLAIN` login.
///
/// # lapin's `trace` logs
///
/// lapin, at `trace` level, logs every frame it sends under the `tracing`
/// target `lapin::io_loop` ("will write to buffer"), and that includes the
/// login frame, whose bytes spell the user name and password (as a list of
/// decimal bytes). Frames dropped from a failed connection are traced under
/// `lapin::frames`. So when tracing at `trace` level, cap those two targets:
/// with `tracing-subscriber`, add the directives
/// `lapin::io_loop=debug,lapin::frames=debug`, for example
/// `RUST_LOG=trace,lapin::io_loop=debug,lapin::frames=debug`.
///
/// # TLS
///
/// `amqps://` checks the broker's certificate against the built-in web roots,
/// the certificates of the PEM file named by `SSL_CERT_FILE` (read by
/// [`from_url`](Self::from_url)), and any added with
/// [`with_ca_pem`](Self::with_ca_pem); the host name must be one the
/// certificate names. [`with_client_cert_pem`](Self::with_client_cert_pem)
/// presents a client certificate to a broker that asks for one.
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
    pub(super) uri: AMQPUri,
    pub(super) password: String,
    /// Asked for the credentials before every connection attempt, if set.
    provider: Option<Provider>,
    connection_name: String,
    connect_timeout: Duration,
    heartbeat: Duration,
    tls: Tls,
    /// The cluster's other nodes, beside the URL's ([`from_urls`](Self::from_urls)).
    pub(super) nodes: Vec<Node>,
}

/// The heartbeat interval unless [`PulseConfig::with_heartbeat`] sets another.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

impl PulseConfig {
    /// Settings from a URL such as `amqps://user:password@pulse.mozilla.org:5671`
    /// (real Pulse) or `amqp://guest:guest@127.0.0.1:5672` (a local broker).
    ///
    /// A user name or password missing from the URL is taken from the
    /// environment variables `PULSE_USERNAME` and `PULSE_PASSWORD`; with
    /// neither, it is an error; so is an empty password written in the URL
    /// (`user:@host`). Percent-encoded characters in the URL are decoded; the
    /// path is the virtual host (`/` when empty or absent).
    ///
    /// A password with `/`, `?`, `#` or `@` must be percent-encoded (`%2F`,
    /// `%3F`, `%23`, `%40`): a URL with an `@` after a `/`, `?` or `#` is an
    /// error that shows nothing past the user name, since its password would
    /// otherwise be read as the host, port or virtual host. So is a host with
    /// control characters, and port 0.
    ///
    /// For `amqps://`, the CA certificates of the PEM file named by the
    /// environment variable `SSL_CERT_FILE`, when it is set, are trusted
    /// besides the built-in roots; a file that cannot be read is an error.
    pub fn from_url(url: &str) -> Result<Self, ClientError> {
        Self::from_url_with_env(url, |name| std::env::var(name).ok())
    }

    /// [`from_url`](Self::from_url), reading the environment through `env`.
    pub(crate) fn from_url_with_env(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let Parsed { uri, password } = crate::client::connect::url::parse(url, &env)?;
        let tls = if uri.scheme == AMQPScheme::AMQPS {
            Tls::from_env(&env)?
        } else {
            Tls::default()
        };
        Ok(Self {
            uri,
            password,
            provider: None,
            connection_name: "pulse-binding".to_owned(),
            connect_timeout: Duration::from_secs(30),
            heartbeat: DEFAULT_HEARTBEAT,
            tls,
            nodes: Vec::new(),
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

    /// Asks `provider` for the credentials before every connection attempt,
    /// the first one and every reconnection alike, by consumers and publishers:
    /// for passwords that are rotated, such as those Pulse hands out. It
    /// replaces the URL's and the environment's credentials.
    ///
    /// A provider error counts as a failed connection attempt: a consumer
    /// retries it with its [`Reconnect`](crate::client::Reconnect) backoff and, when
    /// it gives up, reports it as [`ClientError::Credentials`] inside
    /// [`ClientError::GaveUp`]. The provider's answer must come within the
    /// [connect timeout](Self::with_connect_timeout).
    ///
    /// ```
    /// use pulse_binding::client::{Credentials, PulseConfig};
    ///
    /// # fn read_secret_store() -> Result<String, std::io::Error> { Ok("s3cret".into()) }
    /// let config = PulseConfig::from_url("amqps://pulse.mozilla.org:5671")
    ///     .unwrap()
    ///     .with_credentials_provider(|| async {
    ///         let password = read_secret_store()?;
    ///         Ok::<_, std::io::Error>(Credentials::new("me", password))
    ///     });
    /// assert!(config.has_credentials_provider());
    /// ```
    pub fn with_credentials_provider<F, Fut, E>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Credentials, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.provider = Some(Provider::new(provider));
        self
    }

    /// Whether a [credentials provider](Self::with_credentials_provider) is set.
    pub fn has_credentials_provider(&self) -> bool {
        self.provider.is_some()
    }

    /// The AMQP heartbeat interval: both sides send a heartbeat when they have
    /// sent nothing else for half of it, and a connection that has received
    /// nothing for two intervals counts as lost. So a broker that freezes or a
    /// network that silently drops the connection is noticed within about 2.5
    /// intervals. 30 s by default; whole seconds from 1 to 65,535 (a shorter
    /// one is rounded up to 1 s, a longer one down to 65,535 s). The broker
    /// may ask for a shorter one, which then applies.
    pub fn with_heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// The heartbeat interval asked of the broker, in whole seconds.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(u64::from(heartbeat_secs(self.heartbeat)))
    }

    /// The name the connection shows in the broker's management UI
    /// (`pulse-binding` by default).
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    /// How long connecting (TCP, TLS, login) may take before it counts as a
    /// failure; 30 s by default. With [several nodes](Self::from_urls), each
    /// node tried gets this long.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts the CA certificate(s) of `pem` for `amqps://`, besides the
    /// built-in web roots (and those of `SSL_CERT_FILE`): for a broker whose
    /// certificate a private CA signed. Each call adds to the ones before.
    /// Text with no PEM `CERTIFICATE` is [`ClientError::Config`].
    ///
    /// ```no_run
    /// use pulse_binding::client::PulseConfig;
    ///
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = PulseConfig::from_url("amqps://me:s3cret@broker.internal:5671")?
    ///     .with_ca_pem(std::fs::read("/etc/pulse/ca.pem")?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, ClientError> {
        self.tls.add_ca_pem(pem.as_ref(), &"the CA PEM")?;
        Ok(self)
    }

    /// Presents the client certificate `cert` (PEM, the certificate first,
    /// then any intermediates) with its private key `key` (PEM, unencrypted
    /// PKCS#8, PKCS#1 or SEC1) when the broker asks for one over `amqps://`.
    /// Either one unreadable is [`ClientError::Config`]; the key never shows
    /// in `Debug` or errors.
    ///
    /// ```no_run
    /// use pulse_binding::client::PulseConfig;
    ///
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = PulseConfig::from_url("amqps://me:s3cret@broker.internal:5671")?
    ///     .with_client_cert_pem(std::fs::read("me.pem")?, std::fs::read("me.key")?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_client_cert_pem(
        mut self,
        cert: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Result<Self, ClientError> {
        self.tls.set_identity(cert.as_ref(), key.as_ref())?;
        Ok(self)
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

    /// The credentials for the next connection: the provider's, or the
    /// URL's and environment's.
    pub(crate) async fn credentials(&self) -> Result<Credentials, ClientError> {
        if let Some(provider) = &self.provider {
            return match tokio::time::timeout(self.connect_timeout, provider.get()).await {
                Ok(Ok(credentials)) if credentials.username.is_empty() => {
                    Err(ClientError::Credentials {
                        source: "the credentials provider gave an empty user name".into(),
                    })
                }
                Ok(Ok(credentials)) => Ok(credentials),
                Ok(Err(source)) => Err(ClientError::Credentials { source }),
                Err(_) => Err(ClientError::Credentials {
                    source: format!("no answer within {:?}", self.connect_timeout).into(),
                }),
            };
        }
        if self.username().is_empty() {
            return Err(ClientError::config(format!(
                "no user name for `{}`: put it in the URL, set {USERNAME_VAR} or give a \
                 credentials provider",
                self.url()
            )));
        }
        if self.password.is_empty() {
            return Err(ClientError::config(format!(
                "no password for `{}`: put it in the URL, set {PASSWORD_VAR} or give a \
                 credentials provider",
                self.url()
            )));
        }
        Ok(Credentials::new(self.username(), self.password.clone()))
    }

    /// Opens a connection with fresh credentials, within the connect timeout;
    /// returns it with the user name it logged in as.
    pub(crate) async fn connect(&self, role: &str) -> Result<(Connection, String), ClientError> {
        let credentials = self.credentials().await?;
        let name = format!("{} {role}", self.connection_name);
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(name))
            .with_auth_provider(PlainAuth {
                username: credentials.username.clone(),
                password: credentials.password,
            });
        let mut uri = self.uri.clone();
        uri.authority.userinfo.username = credentials.username.clone();
        uri.query.heartbeat = Some(heartbeat_secs(self.heartbeat));
        let runtime = lapin::runtime::default_runtime()
            .map_err(|e| tls::connect_error(self.url(), self.is_tls(), e))?;
        let tls_config = self.tls.lapin_config();
        let connect = Connection::connect_uri_with_config(uri, properties, tls_config, runtime);
        let connect = async { connect.await.map(|c| (c, credentials.username)) };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(tls::connect_error(self.url(), self.is_tls(), e)),
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
            .field("nodes", &self.nodes())
            .field("connection_name", &self.connection_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("heartbeat", &self.heartbeat)
            .field("credentials_provider", &self.provider.is_some())
            .field("tls", &self.tls)
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

/// A heartbeat interval as AMQP's whole seconds (1 to 65,535).
fn heartbeat_secs(interval: Duration) -> u16 {
    let secs = interval.as_secs() + u64::from(interval.subsec_nanos() > 0);
    u16::try_from(secs.max(1)).unwrap_or(u16::MAX)
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

    #[tokio::test]
    async fn no_credentials_anywhere_is_an_error_before_connecting() {
        let c = PulseConfig::from_url_with_env("amqp://localhost", env(&[])).unwrap();
        let e = c.credentials().await.unwrap_err();
        assert!(matches!(e, ClientError::Config { .. }), "{e:?}");
        assert!(e.to_string().contains(USERNAME_VAR), "{e}");
    }

    #[tokio::test]
    async fn a_provider_replaces_the_url_credentials_on_every_call() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = std::sync::Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let c = PulseConfig::from_url_with_env("amqp://u:p@localhost", env(&[]))
            .unwrap()
            .with_credentials_provider(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, std::io::Error>(Credentials::new("rotated", format!("pw{n}"))) }
            });
        assert_eq!(
            c.credentials().await.unwrap(),
            Credentials::new("rotated", "pw0")
        );
        assert_eq!(
            c.credentials().await.unwrap(),
            Credentials::new("rotated", "pw1")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(!format!("{c:?}").contains("pw"), "{c:?}");
    }

    #[tokio::test]
    async fn a_provider_error_is_a_credentials_error_with_its_cause() {
        let c = PulseConfig::from_url_with_env("amqp://u:p@localhost", env(&[]))
            .unwrap()
            .with_credentials_provider(|| async {
                Err::<Credentials, _>(std::io::Error::other("vault is sealed"))
            });
        let e = c.credentials().await.unwrap_err();
        assert!(matches!(e, ClientError::Credentials { .. }), "{e:?}");
        let source = std::error::Error::source(&e).expect("the provider's error");
        assert_eq!(source.to_string(), "vault is sealed");
        let empty = PulseConfig::from_url_with_env("amqp://u:p@localhost", env(&[]))
            .unwrap()
            .with_credentials_provider(|| async {
                Ok::<_, std::io::Error>(Credentials::new("", "x"))
            });
        assert!(matches!(
            empty.credentials().await,
            Err(ClientError::Credentials { .. })
        ));
    }

    #[test]
    fn the_heartbeat_is_whole_seconds_within_amqp_range() {
        let c = PulseConfig::from_url_with_env("amqp://u:p@localhost", env(&[])).unwrap();
        assert_eq!(c.heartbeat(), Duration::from_secs(30));
        let with = |d| c.clone().with_heartbeat(d).heartbeat();
        assert_eq!(with(Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(with(Duration::from_millis(1500)), Duration::from_secs(2));
        assert_eq!(with(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            with(Duration::from_secs(100_000)),
            Duration::from_secs(65_535)
        );
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
}
