use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
#[exchange = "exchange/taskcluster-hooks/v1/hook-updated"]
struct TwoExchanges {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
