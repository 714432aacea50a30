use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct DottedConstant {
    #[mwords(constant = "primary.key")]
    routing_key_kind: Option<String>,
}

fn main() {}
