use pulse_binding::prelude::*;

#[derive(PulseBinding)]
#[exchange = "exchange/taskcluster-queue/v1/task-completed"]
struct Borrowed<'a> {
    #[mwords("*")]
    task_id: Option<&'a str>,
}

fn parse<B: FromRoutingKey>(key: &str) -> Option<B> {
    B::from_routing_key(key).ok()
}

fn main() {
    let _ = parse::<Borrowed<'static>>("abc");
}
