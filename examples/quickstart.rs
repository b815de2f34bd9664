//! Quickstart: opens a wallet on an embedded SQLite file in a temporary folder and says what it did.
//! Later steps of the journey (register, real-name, top-up, pay) grow here as the crates land.

use qianbao::{Wallet, WalletKeys};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("wallet.sqlite");
    // A real service loads its master secret from a secret manager; a fixed one is fine for a demo.
    let keys = WalletKeys::from_master_secret(b"quickstart demo master secret, not for production")?;
    let wallet = Wallet::builder().sqlite(&path).keys(keys).build().await?;
    println!("opened a {} wallet database at {}", wallet.backend(), path.display());
    Ok(())
}
