use pulse_binding::prelude::*;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct Borrowed<'a> {
    #[mwords("*")]
    task_id: &'a str,
}

fn main() {
    let pattern = Borrowed { task_id: "abc" }.routing_key();
    let _ = Borrowed::from_routing_key(&pattern);
}
