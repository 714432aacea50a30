use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
enum Hook {
    Created,
}

fn main() {}
