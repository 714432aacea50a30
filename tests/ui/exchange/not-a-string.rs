use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = 42]
struct NumberExchange {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
