//! The nodes of a cluster a [`PulseConfig`](crate::client::PulseConfig) connects to,
//! and the order a connection tries them in.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lapin::Connection;
use lapin::uri::{AMQPScheme, AMQPUri};
use tracing::warn;

use crate::client::connect::config::PulseConfig;
use crate::client::error::ClientError;

/// One broker node: where to connect, without credentials or virtual host
/// (those are the cluster's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) scheme: AMQPScheme,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Node {
    /// The node of a parsed URL.
    pub(crate) fn of(uri: &AMQPUri) -> Self {
        Self {
            scheme: uri.scheme.clone(),
            host: uri.authority.host.clone(),
            port: uri.authority.port,
        }
    }

    /// `uri` pointed at this node.
    pub(crate) fn apply(&self, uri: &mut AMQPUri) {
        uri.scheme = self.scheme.clone();
        uri.authority.host = self.host.clone();
        uri.authority.port = self.port;
    }
}

impl fmt::Display for Node {
    /// `host:port`, with an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A cluster's nodes: [`PulseConfig::from_urls`] and where connections go.
impl PulseConfig {
    /// Settings for the nodes of one cluster, one URL each, such as
    /// `amqp://guest:guest@127.0.0.1:5673` and `amqp://guest:guest@127.0.0.1:5674`.
    ///
    /// Every connection, the first and each reconnection alike, tries the
    /// nodes in turn, from a node picked at random, until one accepts it (each
    /// within the [connect timeout](Self::with_connect_timeout)). Each URL is
    /// read as [`from_url`](Self::from_url) reads it; they must all have the
    /// same user name, password and virtual host, or it is an error (which
    /// shows no password). One URL is the same as [`from_url`](Self::from_url).
    ///
    /// ```
    /// use pulse_binding::client::PulseConfig;
    ///
    /// let config = PulseConfig::from_urls(&[
    ///     "amqp://me:s3cret@127.0.0.1:5673",
    ///     "amqp://me:s3cret@127.0.0.1:5674",
    /// ])
    /// .unwrap();
    /// assert_eq!(config.nodes(), ["127.0.0.1:5673", "127.0.0.1:5674"]);
    ///
    /// let other_user = PulseConfig::from_urls(&[
    ///     "amqp://me:s3cret@127.0.0.1:5673",
    ///     "amqp://you:s3cret@127.0.0.1:5674",
    /// ]);
    /// assert!(other_user.is_err());
    /// ```
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<Self, ClientError> {
        Self::from_urls_with_env(urls, |name| std::env::var(name).ok())
    }

    /// [`from_urls`](Self::from_urls), reading the environment through `env`.
    pub(crate) fn from_urls_with_env<S: AsRef<str>>(
        urls: &[S],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let Some((first, rest)) = urls.split_first() else {
            return Err(ClientError::config("no broker URL given"));
        };
        let mut config = Self::from_url_with_env(first.as_ref(), &env)?;
        for url in rest {
            let node = Self::from_url_with_env(url.as_ref(), &env)?;
            let differs = if node.username() != config.username() {
                Some("user name")
            } else if node.password != config.password {
                Some("password")
            } else if node.uri.vhost != config.uri.vhost {
                Some("virtual host")
            } else {
                None
            };
            if let Some(what) = differs {
                return Err(ClientError::config(format!(
                    "`{}` has another {what} than `{}`: the nodes of one cluster share them",
                    node.url(),
                    config.url()
                )));
            }
            config.nodes.push(Node::of(&node.uri));
        }
        Ok(config)
    }

    /// The nodes connections go to, as `host:port`: the URL's, or each of
    /// [`from_urls`](Self::from_urls)'.
    pub fn nodes(&self) -> Vec<String> {
        self.all_nodes().iter().map(Node::to_string).collect()
    }

    fn all_nodes(&self) -> Vec<Node> {
        std::iter::once(Node::of(&self.uri))
            .chain(self.nodes.iter().cloned())
            .collect()
    }

    /// Opens a connection to one of the nodes, tried in turn from a random
    /// one, each with fresh credentials and within the connect timeout.
    pub(crate) async fn connect_any(&self, role: &str) -> Result<Opened, ClientError> {
        let nodes = self.all_nodes();
        let mut last = None;
        for i in order(nodes.len()) {
            let mut at = self.clone();
            nodes[i].apply(&mut at.uri);
            match at.connect(role).await {
                Ok((connection, username)) => {
                    return Ok(Opened {
                        connection,
                        username,
                        node: nodes[i].to_string(),
                        url: at.url(),
                    });
                }
                Err(e) => {
                    if nodes.len() > 1 {
                        warn!(node = %nodes[i], error = %crate::report::Chain(&e), "cannot connect to a node; trying the next");
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.expect("a config has at least one node"))
    }
}

/// A connection opened by [`PulseConfig::connect_any`].
pub(crate) struct Opened {
    pub(crate) connection: Connection,
    /// The user name it logged in as.
    pub(crate) username: String,
    /// The node it went to (`host:port`).
    pub(crate) node: String,
    /// That node's URL, without the password.
    pub(crate) url: String,
}

/// The order to try `count` nodes in: each once, from a start that differs
/// from call to call, so that clients spread over a cluster's nodes and a
/// reconnection does not always try the same node first.
pub(crate) fn order(count: usize) -> impl Iterator<Item = usize> {
    let first = if count > 1 { start() % count } else { 0 };
    (0..count).map(move |i| (first + i) % count)
}

#[cfg(feature = "testing")]
thread_local! {
    /// The seed that replaces the clock on this thread (`testing::seed`).
    static SEED: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Makes the node order of the connections opened on this thread follow
/// `seed` (`None`: the clock again).
#[cfg(feature = "testing")]
pub(crate) fn seed(seed: Option<u64>) {
    SEED.with(|s| s.set(seed));
}

/// A pseudo-random number: the clock's nanoseconds (or the seed of
/// `testing::seed`) and a process-wide counter, mixed (splitmix64). Good
/// enough to spread connections; not for secrets.
fn start() -> usize {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    #[cfg(feature = "testing")]
    if let Some(seed) = SEED.with(|s| s.get()) {
        SEED.with(|s| s.set(Some(seed.wrapping_add(1))));
        return mix(seed);
    }
    mix(nanos.wrapping_add(
        CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ))
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> usize {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_urls(urls: &[&str]) -> Result<PulseConfig, ClientError> {
        PulseConfig::from_urls_with_env(urls, |_| None)
    }

    #[test]
    fn several_urls_make_one_config_with_every_node() {
        let c = from_urls(&[
            "amqp://me:pw@127.0.0.1:5673/vh",
            "amqp://me:pw@127.0.0.1:5674/vh",
            "amqp://me:pw@[::1]:5675/vh",
        ])
        .unwrap();
        assert_eq!(
            c.nodes(),
            ["127.0.0.1:5673", "127.0.0.1:5674", "[::1]:5675"]
        );
        assert_eq!(c.username(), "me");
        assert_eq!(c.url(), "amqp://me:***@127.0.0.1:5673/vh");
        let one = from_urls(&["amqp://me:pw@127.0.0.1:5672"]).unwrap();
        assert_eq!(one.nodes(), ["127.0.0.1:5672"]);
        assert_eq!(
            format!("{one:?}"),
            format!(
                "{:?}",
                PulseConfig::from_url_with_env("amqp://me:pw@127.0.0.1:5672", |_| None).unwrap()
            )
        );
    }

    #[test]
    fn nodes_of_one_cluster_share_credentials_and_vhost() {
        for (other, what) in [
            ("amqp://you:s3cret-a@h2:5672/vh", "user name"),
            ("amqp://me:s3cret-b@h2:5672/vh", "password"),
            ("amqp://me:s3cret-a@h2:5672/other", "virtual host"),
        ] {
            let e = from_urls(&["amqp://me:s3cret-a@h1:5672/vh", other]).unwrap_err();
            assert!(matches!(e, ClientError::Config { .. }), "{e:?}");
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(&format!("another {what}")), "{shown}");
            assert!(shown.contains("@h2:5672"), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn no_url_or_a_bad_one_is_an_error() {
        assert!(matches!(from_urls(&[]), Err(ClientError::Config { .. })));
        let e = from_urls(&["amqp://me:pw@h1", "http://me:s3cret@h2"]).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
    }

    #[test]
    fn every_node_is_tried_once_in_turn() {
        for count in 1..=5 {
            for _ in 0..20 {
                let tried: Vec<usize> = order(count).collect();
                assert_eq!(tried.len(), count);
                for (i, node) in tried.iter().enumerate() {
                    assert_eq!(*node, (tried[0] + i) % count, "{tried:?}");
                }
            }
        }
    }

    #[test]
    fn the_first_node_tried_varies() {
        let mut firsts = [0u32; 3];
        for _ in 0..300 {
            firsts[order(3).next().unwrap()] += 1;
        }
        assert!(firsts.iter().all(|&n| n >= 50), "{firsts:?}");
    }

    #[test]
    fn a_node_shows_as_host_and_port() {
        let node = |host: &str| Node {
            scheme: AMQPScheme::AMQP,
            host: host.into(),
            port: 5673,
        };
        assert_eq!(node("127.0.0.1").to_string(), "127.0.0.1:5673");
        assert_eq!(node("::1").to_string(), "[::1]:5673");
    }

    #[cfg(feature = "testing")]
    #[test]
    fn a_seed_makes_the_node_order_repeat() {
        let orders = |seed| {
            super::seed(Some(seed));
            let firsts: Vec<usize> = (0..32).map(|_| order(5).next().unwrap()).collect();
            super::seed(None);
            firsts
        };
        let first = orders(7);
        assert_eq!(first, orders(7), "one seed, one order");
        assert_ne!(first, orders(8), "another seed, another order");
        assert!(
            first.iter().any(|&n| n != first[0]),
            "it still spreads: {first:?}"
        );
    }
}
