//! The faults the soak injects into the cluster, one at a time, through
//! `scripts/rabbitmq-cluster.sh`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::{FaultRun, Record};

/// The user the soak's clients log in as, and its password now.
pub const USER: &str = "soak";

/// Runs the cluster script; its output on failure.
pub async fn script(args: &[&str]) -> Result<String, String> {
    let path = format!(
        "{}/../scripts/rabbitmq-cluster.sh",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = tokio::process::Command::new(&path)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {path}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("rabbitmq-cluster.sh {args:?}: {text}"))
    }
}

/// A tiny generator for the fault schedule (splitmix64).
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Injects one fault after another until `until`, every 5 to 10 s.
pub async fn run(
    until: Instant,
    password: Arc<Mutex<String>>,
    record: Arc<Mutex<Record>>,
    seed: u64,
) -> Result<(), String> {
    let mut dice = Dice::new(seed);
    let mut rotation = 0;
    loop {
        let pause = Duration::from_millis(5_000 + dice.below(5_000));
        if Instant::now() + pause >= until {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        let node = 1 + dice.below(3) as usize;
        let n = node.to_string();
        let kind = match dice.below(4) {
            0 => "kill -9 and restart",
            1 => "close_all_connections",
            2 => "SIGSTOP 12 s",
            _ => "password change",
        };
        let at = Instant::now();
        record.lock().unwrap().faults.push(FaultRun {
            kind,
            at,
            over: None,
            recovered: None,
        });
        eprintln!("soak: {kind} on node {node}");
        match kind {
            "kill -9 and restart" => {
                script(&["kill", &n]).await?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                script(&["restart", &n]).await?;
            }
            "close_all_connections" => {
                script(&["ctl", &n, "close_all_connections", "soak: chaos"]).await?;
            }
            "SIGSTOP 12 s" => {
                script(&["freeze", &n, "12"]).await?;
            }
            _ => {
                rotation += 1;
                let new = format!("soak-{rotation}");
                script(&["ctl", &n, "change_password", USER, &new]).await?;
                *password.lock().unwrap() = new;
                // Connections logged in with the old password stay up; drop
                // one node's, so that some log in again through the provider.
                script(&["ctl", &n, "close_all_connections", "soak: password changed"]).await?;
            }
        }
        if let Some(last) = record.lock().unwrap().faults.last_mut() {
            last.over = Some(Instant::now());
        }
    }
}
