use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
#[mwords("*")]
struct MwordsOnStruct {
    #[mwords("*")]
    task_id: Option<String>,
}

fn main() {}
