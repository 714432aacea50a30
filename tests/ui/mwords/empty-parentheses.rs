use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct EmptyMwords {
    #[mwords()]
    task_id: Option<String>,
}

fn main() {}
