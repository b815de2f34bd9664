//! Shared pieces of qianbao's benches: deterministic ledger workloads and the backends the throughput
//! harness drives.

pub mod cpu;
pub mod durable;
pub mod ledger;
