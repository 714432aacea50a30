use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct ThreeHashes {
    #[mwords("#")]
    first: Option<String>,
    #[mwords("*")]
    task_id: Option<String>,
    #[mwords("#")]
    second: Option<String>,
    #[mwords("#")]
    third: Option<String>,
}

fn main() {}
