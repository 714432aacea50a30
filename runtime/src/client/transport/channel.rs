//! AMQP steps the consumer, the publisher and the dead-letter tools share:
//! opening a channel, checking or declaring an exchange, and turning a name
//! into an AMQP short string.

use lapin::options::ExchangeDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, ExchangeKind};

use crate::client::error::ClientError;

/// Opens a channel on `connection`.
pub(crate) async fn open_channel(connection: &Connection) -> Result<Channel, ClientError> {
    connection
        .create_channel()
        .await
        .map_err(|e| ClientError::broker("channel.open", "a channel", e))
}

/// Checks that `exchange` exists (passive declare), or declares it as a
/// durable topic exchange. A passive check that fails closes the channel.
pub(crate) async fn check_exchange(
    channel: &Channel,
    exchange: &str,
    declare: bool,
) -> Result<(), ClientError> {
    let options = ExchangeDeclareOptions {
        passive: !declare,
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            short(exchange, "exchange name")?,
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            if !declare && is_not_found(&e) {
                ClientError::ExchangeNotFound {
                    exchange: exchange.to_owned(),
                }
            } else {
                ClientError::broker("exchange.declare", format!("exchange `{exchange}`"), e)
            }
        })
}

fn is_not_found(e: &lapin::Error) -> bool {
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 404)
}

/// A name as an AMQP short string (at most 255 bytes).
pub(crate) fn short(value: &str, what: &'static str) -> Result<ShortString, ClientError> {
    ShortString::try_new(value).map_err(|_| ClientError::InvalidName {
        what,
        name: value.to_owned(),
        reason: format!("it is {} bytes long; AMQP allows at most 255", value.len()),
    })
}
