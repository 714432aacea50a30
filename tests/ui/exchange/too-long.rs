use pulse_binding::PulseBinding;

// 256 bytes (143 characters): AMQP's limit is 255 bytes, not characters.
#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"]
struct ExchangeTooLong {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
