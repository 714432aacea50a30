use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct ExchangeOnField {
    #[exchange = "exchange/taskcluster-queue/v1/task-failed"]
    #[mwords("*")]
    task_id: Option<String>,
}

fn main() {}
