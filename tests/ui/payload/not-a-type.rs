use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
#[payload("HookChangedMessage")]
struct StringPayload {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
