use pulse_binding::PulseBinding;

struct NotDeserialize;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
#[payload(NotDeserialize)]
struct OpaquePayload {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
