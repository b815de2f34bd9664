//! Prints what password work costs on this machine: one Argon2id hash at OWASP's floor (the default)
//! and at stronger settings, and one password-policy check (zxcvbn). Use it to choose
//! `IdentityConfig::password_hash` for your servers: a login should cost tens of milliseconds.
//!
//! `cargo run --release -p qianbao-identity --example hash_cost`

use std::time::{Duration, Instant};

use qianbao_core::OsEntropy;
use qianbao_identity::{HashParams, Password, PasswordContext, PasswordHasher, PasswordPolicy};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let password = b"correct horse battery staple";
    for params in [
        HashParams::OWASP,
        HashParams { memory_kib: 46 * 1024, iterations: 1, parallelism: 1 },
        HashParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 },
    ] {
        let hasher = PasswordHasher::new(params)?;
        let phc = hasher.hash(password, &OsEntropy)?;
        let times: Vec<Duration> = (0..9)
            .map(|_| {
                let t = Instant::now();
                let _ = hasher.verify(password, &phc);
                t.elapsed()
            })
            .collect();
        println!(
            "argon2id m={} KiB t={} p={}: {:.1} ms per verification (median of 9)",
            params.memory_kib,
            params.iterations,
            params.parallelism,
            median(times).as_secs_f64() * 1e3
        );
    }
    let policy = PasswordPolicy::default();
    let ctx = PasswordContext { has_second_factor: false, user_inputs: vec!["8613812345678".into()] };
    for p in ["correct horse battery staple", &"x7!Kq-".repeat(21)] {
        let pw = Password::from(p);
        let times: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let _ = policy.check(&pw, &ctx);
                t.elapsed()
            })
            .collect();
        println!(
            "policy check of {} characters: {:.2} ms (median of 21)",
            p.chars().count(),
            median(times).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
