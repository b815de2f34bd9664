//! The throughput harness: `cargo run --release -p qianbao-bench --bin throughput -- ledger` prints one
//! JSON object per line per scenario. Scenarios arrive with the ledger issues.

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    eprintln!("throughput: no scenarios for {what:?} yet");
}
