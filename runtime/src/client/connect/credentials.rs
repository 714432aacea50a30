//! Who logs in: [`Credentials`], fixed or from a provider that is asked
//! before every connection attempt.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A user name and password for the broker's login.
///
/// `Debug` shows the user name only:
///
/// ```
/// use pulse_binding::client::Credentials;
///
/// let credentials = Credentials::new("me", "s3cret");
/// assert_eq!(format!("{credentials:?}"), r#"Credentials { username: "me", password: "***" }"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name; Pulse names a user's queues `queue/<user>/...`.
    pub username: String,
    /// The password (for Pulse, the one its credentials service hands out).
    pub password: String,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

type BoxError = Box<dyn Error + Send + Sync + 'static>;
type CredentialsFuture = Pin<Box<dyn Future<Output = Result<Credentials, BoxError>> + Send>>;

/// An async function that yields the credentials for the next connection.
#[derive(Clone)]
pub(crate) struct Provider(Arc<dyn Fn() -> CredentialsFuture + Send + Sync>);

impl Provider {
    pub(crate) fn new<F, Fut, E>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Credentials, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Self(Arc::new(move || {
            let future = f();
            Box::pin(async move { future.await.map_err(Into::into) })
        }))
    }

    pub(crate) async fn get(&self) -> Result<Credentials, BoxError> {
        (self.0)().await
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Provider(..)")
    }
}
