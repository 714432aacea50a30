use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = ""]
struct EmptyExchange {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
