//! Certificate lifecycle with standard tools: runs the CA of `qianbao-ca` on an in-memory database, issues
//! two device certificates from CSRs made "on the device", revokes the second, signs a CRL, and writes
//! everything as PEM so OpenSSL (or any X.509 tool) can check it:
//!
//! - `ca.pem` — the root and the issuing CA (a CA file for `openssl verify -CAfile`);
//! - `client.pem`, `client.key.pem` — a device certificate and its device-side private key (PKCS#8);
//! - `revoked.pem`, `revoked.key.pem` — a second device certificate, then revoked (keyCompromise);
//! - `crl.pem` — the issuing CA's CRL, listing the revoked one.
//!
//! It also pays once with the client certificate (a signed payment order checked by the CA) and prints
//! the `openssl` commands that verify the files. Run it with
//! `cargo run -p qianbao-examples --example cert_lifecycle -- --out DIR` (without `--out` it writes to
//! `qianbao-cert-lifecycle` in the system's temporary directory).

use std::path::PathBuf;
use std::sync::Arc;

use qianbao::Database;
use qianbao::core::{AccountId, Clock, Currency, DeviceId, Money, OsEntropy, SystemClock, TransferId, UserId};
use qianbao::qianbao_ca::{
    CaConfig, CaDb, CertificateAuthority, DeviceKey, IdentityProof, IdentityProofMethod, KeyEncryptionKey,
    LocalKeyCustody, OrderNonce, PaymentOrder, RevocationReason,
};

fn out_dir() -> Result<PathBuf, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Ok(std::env::temp_dir().join("qianbao-cert-lifecycle")),
        (Some("--out"), Some(dir), None) => Ok(PathBuf::from(dir)),
        _ => Err("usage: cert_lifecycle [--out DIR]".into()),
    }
}

/// Writes a private key readable by its owner only (on Unix).
fn write_private(path: &std::path::Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(pem.as_bytes())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = out_dir()?;
    std::fs::create_dir_all(&dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let entropy = Arc::new(OsEntropy);
    // A real service keeps the key-encryption key in a secret manager (or the CA key in an HSM).
    let kek = KeyEncryptionKey::new(&[0x42; 32]).ok_or("a key-encryption key is 32 bytes")?;
    let store = CaDb::open(Database::open_in_memory()?).await?;
    let custody = Arc::new(LocalKeyCustody::new(kek));
    let ca = CertificateAuthority::open(store, custody, CaConfig::default(), clock.clone(), entropy.clone()).await?;

    // Two devices of one user. Each key is made on the device; the server only sees the CSR.
    let user = UserId::from_u128(0x5157_0001);
    let mut issued = Vec::new();
    for device in [DeviceId::from_u128(1), DeviceId::from_u128(2)] {
        let key = DeviceKey::generate(entropy.as_ref());
        // The facade makes this proof right after checking an SMS code and the password.
        let proof = IdentityProof::new(user, clock.now(), IdentityProofMethod::SmsCodeAndPassword);
        let cert = ca.issue(&proof, device, &key.csr()?).await?;
        issued.push((key, cert));
    }
    let (client_key, client) = &issued[0];
    let (revoked_key, revoked) = &issued[1];

    // A payment authorised by the device's signature, checked by the CA.
    let order = PaymentOrder {
        payer: user,
        payee: AccountId::from_u128(0xAB),
        amount: Money::from_minor(1_999, Currency::CNY),
        order_id: TransferId::from_u128(0x0D),
        nonce: OrderNonce::random(entropy.as_ref()),
        signed_at: clock.now(),
    };
    let verified = ca.verify_order(&client.certificate(), &client_key.sign_order(order)?).await?;
    println!("payment order {} signed by certificate {} verified", order.order_id, verified.certificate.serial);

    // The second device is lost: revoke its certificate and publish a CRL.
    ca.revoke(revoked.record.serial, RevocationReason::KeyCompromise).await?;
    let crl = ca.crl().await?;

    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text);
    write("ca.pem", &ca.chain_pem())?;
    write("client.pem", &client.pem())?;
    write_private(&dir.join("client.key.pem"), &client_key.to_pkcs8_pem()?)?;
    write("revoked.pem", &revoked.pem())?;
    write_private(&dir.join("revoked.key.pem"), &revoked_key.to_pkcs8_pem()?)?;
    write("crl.pem", &crl.pem())?;

    let d = dir.display();
    println!("wrote ca.pem, client.pem, client.key.pem, revoked.pem, revoked.key.pem and crl.pem to {d}");
    println!(
        "client certificate {} (valid), revoked certificate {} (keyCompromise)",
        client.record.serial, revoked.record.serial
    );
    println!("CRL number {} with {} entry, next update {}", crl.number, crl.entries, crl.next_update);
    println!();
    println!("Check them with OpenSSL:");
    println!("  openssl verify -CAfile {d}/ca.pem -purpose sslclient {d}/client.pem");
    println!("      -> {d}/client.pem: OK");
    println!("  openssl verify -crl_check -CAfile {d}/ca.pem -CRLfile {d}/crl.pem {d}/client.pem");
    println!("      -> {d}/client.pem: OK");
    println!("  openssl verify -crl_check -CAfile {d}/ca.pem -CRLfile {d}/crl.pem {d}/revoked.pem");
    println!("      -> error 23 at 0 depth lookup: certificate revoked");
    println!("         error {d}/revoked.pem: verification failed (exit status 2)");
    println!("  openssl crl -in {d}/crl.pem -noout -text     # the CRL: number, reason Key Compromise");
    println!("  openssl x509 -in {d}/client.pem -noout -text # the profile: clientAuth, CA:FALSE, SAN URI");
    println!("  openssl pkey -in {d}/client.key.pem -pubout  # the same public key as the certificate's");
    Ok(())
}
