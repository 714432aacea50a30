use pulse_binding::PulseBinding;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-hooks/v1/hook-created"]
#[payload(serde_json::Value)]
#[payload(Vec<u8>)]
struct TwoPayloads {
    #[mwords("#")]
    reserved: Option<String>,
}

fn main() {}
