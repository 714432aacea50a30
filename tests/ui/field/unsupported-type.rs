use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct BytesWord {
    #[mwords("*")]
    task_id: Vec<u8>,
}

fn main() {}
