use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
struct Hook(#[mwords("#")] Option<String>);

fn main() {}
