//! [`ConsumerBuilder`]: everything a consumer is set up with.

use std::sync::atomic::AtomicU16;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::client::consumer::Consumer;
use crate::client::consumer::queue::QueueSpec;
use crate::client::consumer::reconnect::Reconnect;
use crate::client::consumer::stats::Monitor;
use crate::client::error::ClientError;
use crate::client::handler::retry::RetryPolicy;
use crate::client::session::Topology;
use crate::client::session::supervisor::{BacklogWatch, Control, Supervisor};
use crate::client::transport::Transport;
use crate::dynamic::Bindings;

/// The backlog threshold unless [`ConsumerBuilder::backlog_warning`] sets
/// another: where Pulse's guardian starts warning.
const BACKLOG_WARNING: u32 = 2_000;
/// How often the backlog is read unless set otherwise.
const BACKLOG_INTERVAL: Duration = Duration::from_secs(5);
/// How long without a delivery, while the queue holds messages, is a stall
/// unless set otherwise.
const STALL_AFTER: Duration = Duration::from_secs(300);

/// Sets up a [`Consumer`]: the queue, the prefetch, whether to declare
/// exchanges, how to reconnect, recycle and watch the backlog. Made by
/// [`Consumer::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct ConsumerBuilder<M> {
    pub(crate) transport: Transport,
    pub(crate) bindings: Bindings<M>,
    pub(crate) queue: QueueSpec,
    pub(crate) prefetch: u16,
    pub(crate) declare_exchanges: bool,
    pub(crate) auto_ack: bool,
    pub(crate) reconnect: Reconnect,
    pub(crate) recycle: Option<Duration>,
    pub(crate) backlog: BacklogWatch,
    pub(crate) retry: Option<RetryPolicy>,
}

impl<M: Send + 'static> ConsumerBuilder<M> {
    pub(crate) fn new(transport: Transport, bindings: Bindings<M>) -> Self {
        Self {
            transport,
            bindings,
            queue: QueueSpec::anonymous(),
            prefetch: 32,
            declare_exchanges: false,
            auto_ack: false,
            reconnect: Reconnect::default(),
            recycle: None,
            retry: None,
            backlog: BacklogWatch {
                threshold: BACKLOG_WARNING,
                interval: BACKLOG_INTERVAL,
                stall_after: STALL_AFTER,
            },
        }
    }

    /// The queue to declare and read; an anonymous one by default.
    pub fn queue(mut self, queue: QueueSpec) -> Self {
        self.queue = queue;
        self
    }

    /// How many messages the broker may send before they are acknowledged
    /// (AMQP `basic.qos` on the consumer's channel); 32 by default, 0 for no
    /// limit. Also bounds how many decoded messages wait in the consumer.
    pub fn prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Declares each binding's exchange (a durable topic exchange) instead of
    /// checking that it exists. Exchanges belong to their publishers: use this
    /// only on a broker of your own, such as in tests.
    pub fn declare_exchanges(mut self, declare: bool) -> Self {
        self.declare_exchanges = declare;
        self
    }

    /// Lets the broker count messages as acknowledged when it sends them
    /// (`no-ack`): faster, but a message is lost if the consumer stops before
    /// handling it, and the broker ignores the prefetch for such a consumer.
    /// [`Acker::ack`](crate::client::Acker::ack) and [`Acker::reject`](crate::client::Acker::reject)
    /// then do nothing. Off by default.
    pub fn auto_ack(mut self, auto_ack: bool) -> Self {
        self.auto_ack = auto_ack;
        self
    }

    /// How to reconnect after losing the connection ([`Reconnect::default`]
    /// unless set).
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = policy;
        self
    }

    /// Replaces the connection every `interval` (off by default), make before
    /// break: the consumer opens a new connection (with fresh credentials
    /// from the [provider](crate::client::PulseConfig::with_credentials_provider)), starts
    /// consuming on it, then cancels the old consumer and keeps the old
    /// connection open until the messages that came on it are acknowledged
    /// or rejected (at most 60 s; what is still unsettled then goes back to
    /// the queue), and closes it. For brokers or credentials that end
    /// connections after a while. While the two overlap, up to twice the
    /// prefetch may be unacknowledged. A failed attempt keeps the current
    /// connection and tries again an interval later.
    pub fn recycle_interval(mut self, interval: Duration) -> Self {
        self.recycle = Some(interval.max(Duration::from_millis(100)));
        self
    }

    /// Warns (a `tracing` warning and [`ConsumerEvent::Backlog`](crate::client::ConsumerEvent::Backlog))
    /// when the queue holds more than `messages` ready messages; 2,000 by
    /// default, where Pulse starts warning (it deletes queues at 8,000). The
    /// consumer reads the depth every 5 s (see [`backlog_interval`](Self::backlog_interval))
    /// on a channel of its own; [`Consumer::stats`] has the last reading.
    pub fn backlog_warning(mut self, messages: u32) -> Self {
        self.backlog.threshold = messages;
        self
    }

    /// Retries failed messages in [handler mode](Consumer::run): a message
    /// whose handler fails comes back after the policy's delay, through
    /// durable retry queues next to the named queue
    /// (`queue/<user>/<name>/retry/<delay>ms`), and after its last attempt goes
    /// to `queue/<user>/<name>/dead` with the error, the attempt count and its
    /// origin in headers (see [`dead_letters`](crate::client::handler::dead_letters)). These
    /// queues are classic queues with the named queue's length limits. Needs
    /// a [named](QueueSpec::named) queue. Without a policy, handler mode puts
    /// a failed message back in the queue (`reject` with requeue), where it
    /// comes again at once.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Reports a stall when the queue holds messages and none was delivered
    /// for `after` (5 minutes by default): a warning (once per stall),
    /// [`ConsumerEvent::Stalled`](crate::client::ConsumerEvent::Stalled), and,
    /// with the `metrics` feature, the gauge
    /// `pulse.consumer.last_delivery_age` (set at every reading). A consumer
    /// stops taking messages when its handlers hang with the prefetch full,
    /// or when the broker stops serving it. Checked at each backlog reading
    /// (see [`backlog_interval`](Self::backlog_interval)), so noticed within
    /// `after` plus one interval.
    pub fn stall_after(mut self, after: Duration) -> Self {
        self.backlog.stall_after = after;
        self
    }

    /// How often the queue's depth is read; 5 s by default.
    pub fn backlog_interval(mut self, interval: Duration) -> Self {
        self.backlog.interval = interval.max(Duration::from_millis(100));
        self
    }

    /// Checks every binding's routing key, then connects, checks or declares
    /// the exchanges, declares the queue, binds it and starts consuming.
    ///
    /// A binding with an invalid routing key is an error before anything
    /// is bound; so is a failure of any step here (there is no retry: the
    /// retries are for connections lost later). A named queue that exists
    /// with other settings is [`ClientError::QueueMismatch`]. Must be called
    /// within a tokio runtime, which runs the consumer's task.
    pub async fn start(self) -> Result<Consumer<M>, ClientError> {
        let binds = self
            .bindings
            .iter()
            .map(|b| {
                Ok((
                    b.erased_exchange_name().to_owned(),
                    b.erased_try_routing_key()?,
                ))
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        if binds.is_empty() {
            return Err(ClientError::config("a consumer needs at least one binding"));
        }
        if self.retry.is_some() && !self.queue.is_named() {
            return Err(ClientError::config(
                "retries need a named queue: an anonymous queue cannot have retry and \
                 dead-letter queues that outlive it",
            ));
        }
        let prefetch = Arc::new(AtomicU16::new(self.prefetch));
        let topology = Topology {
            queue: self.queue,
            binds,
            declare_exchanges: self.declare_exchanges,
            prefetch: prefetch.clone(),
            auto_ack: self.auto_ack,
            named: OnceLock::new(),
            retry: self.retry,
        };
        let session = topology.open(&self.transport).await?;

        let named = topology.queue.is_named();
        let group = named.then_some(session.queue.as_str());
        let (monitor, first_events) = Monitor::new(group);
        let monitor = Arc::new(monitor);
        // Known at once, not only when the task has started.
        monitor.set_node(Some(session.node.clone()));
        monitor.set_connected(true);
        let capacity = match self.prefetch {
            0 => 1024,
            n => usize::from(n),
        };
        let (tx, rx) = mpsc::channel(capacity);
        let (control, control_rx) = watch::channel(Control::Run);
        let queue = session.queue.clone();
        let supervisor = Supervisor {
            transport: self.transport.clone(),
            topology,
            bindings: Arc::new(self.bindings),
            auto_ack: self.auto_ack,
            reconnect: self.reconnect,
            recycle: self.recycle,
            backlog: self.backlog,
            monitor: monitor.clone(),
            tx: Some(tx),
            control: control_rx,
        };
        let task = tokio::spawn(supervisor.run(session));
        Ok(Consumer {
            rx,
            monitor,
            first_events: Mutex::new(Some(first_events)),
            control: Arc::new(control),
            prefetch,
            transport: self.transport,
            retry: self.retry,
            skip_stale: named,
            queue,
            task,
        })
    }
}
