//! Where the broker is and who logs in: [`PulseConfig`](crate::client::PulseConfig)
//! with its URLs (parsed and redacted here), the nodes of a cluster and which
//! one to try, TLS, and the credentials provider. It uses lapin to open a
//! connection and nothing else of the client but its errors.

pub(crate) mod config;
pub(crate) mod credentials;
pub(crate) mod nodes;
pub(crate) mod tls;
pub(crate) mod url;
