use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct WildcardConstant {
    #[mwords(constant = "*")]
    routing_key_kind: Option<String>,
}

fn main() {}
