//! Tests against a RabbitMQ cluster of three nodes: failover when a node dies
//! under a consumer or a publisher, a node rejoining, and competing consumers
//! on one quorum queue.
//!
//! They need `PULSE_CLUSTER_URLS`, the nodes' URLs in the order of the
//! script's node numbers, as `scripts/rabbitmq-cluster.sh start` prints it;
//! the tests kill and restart nodes with that script. Without it they say so
//! and pass, except under CI (`CI=true`), where that is a failure. They run
//! one at a time (see `support::exclusive`).

mod support;

mod competing;
mod failover;
mod retries;
