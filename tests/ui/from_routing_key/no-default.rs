use pulse_binding::prelude::*;

struct Handle;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct WithHandle {
    #[mwords("*")]
    task_id: Option<String>,
    handle: Handle,
}

fn main() {
    let _ = WithHandle::from_routing_key("abc");
}
