// Every mistake of one struct is reported in the same build.
use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[payload(1 + 1)]
struct ManyMistakes {
    #[mwords("?")]
    task_id: Option<String>,
    #[mwords]
    run_id: Option<u32>,
    #[mwords(constant = "")]
    kind: Option<String>,
}

fn main() {}
