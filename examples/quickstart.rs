//! Quickstart: opens a wallet on an embedded SQLite file in a temporary folder and says what it did.
//! Later steps of the journey (register, real-name, top-up, pay) grow here as the crates land.

use qianbao::Wallet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("wallet.sqlite");
    let wallet = Wallet::builder().sqlite(&path).build().await?;
    println!("opened a {} wallet database at {}", wallet.backend(), path.display());
    Ok(())
}
