use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange("exchange/taskcluster-hooks/v1/hook-created")]
struct ListExchange {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
