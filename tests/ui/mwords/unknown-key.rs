use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct UnknownKey {
    #[mwords(fixed = "primary")]
    routing_key_kind: Option<String>,
}

fn main() {}
