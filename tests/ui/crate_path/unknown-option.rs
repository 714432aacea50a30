use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[pulse_binding(krate = "pulse_binding")]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
struct UnknownOption {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
