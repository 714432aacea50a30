use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
struct NoExchange {
    #[mwords("*")]
    task_id: Option<String>,
}

fn main() {}
