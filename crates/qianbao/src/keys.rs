//! [`WalletKeys`]: the secret keys the embedding service supplies — derived from one master secret, or
//! set one by one.

use std::fmt;

use qianbao_ca::KeyEncryptionKey;
use qianbao_core::{DigestKey, Entropy};
use qianbao_identity::SealingKey;
use zeroize::Zeroizing;

use crate::WalletError;

/// The labels sub-keys are derived under (HMAC-SHA-256 of the master secret over the label).
const LABEL_DIGEST: &str = "qianbao/wallet-keys/v1/digest";
const LABEL_SEALING: &str = "qianbao/wallet-keys/v1/identity-sealing";
const LABEL_CA_KEK: &str = "qianbao/wallet-keys/v1/ca-key-encryption";
const LABEL_QR: &str = "qianbao/wallet-keys/v1/qr-signing";
const LABEL_TOKEN: &str = "qianbao/wallet-keys/v1/token";

/// The id the identity sealing key carries when derived from a master secret.
pub const DERIVED_SEALING_KEY_ID: u8 = 1;

/// Every secret key a wallet uses. The embedding service supplies them (from its secret manager, an HSM
/// export, a KMS data key): a wallet on a file or on PostgreSQL never makes keys up, because keys that
/// change between runs make every stored code, token, sealed ID number and CA key unusable.
///
/// - the **digest key** (identity's look-up digests of contacts, ID and card numbers, and the Argon2
///   peppers of passwords and payment passwords; the facade's flow tickets are signed under a key
///   derived from it),
/// - the **identity sealing key** (AES-256-GCM over ID numbers, card numbers, names and contacts),
/// - the **CA key-encryption key** (seals the CA's private keys at rest),
/// - the **QR signing key** (signs the wallet's own merchant QR codes),
/// - the **token key** (digests of one-time codes and tokens; seals TOTP and payment-code secrets).
///
/// [`WalletKeys::from_master_secret`] derives all five, independent of each other, from one 32-byte
/// secret by labelled HMAC-SHA-256; the `with_*` methods replace any of them. `Debug` prints nothing
/// secret.
///
/// ```
/// use qianbao::WalletKeys;
/// let keys = WalletKeys::from_master_secret(&[7u8; 32])?;
/// assert_eq!(format!("{keys:?}"), "WalletKeys([REDACTED])");
/// # Ok::<(), qianbao::WalletError>(())
/// ```
#[derive(Clone)]
pub struct WalletKeys {
    pub(crate) digest: DigestKey,
    pub(crate) identity_sealing: SealingKey,
    pub(crate) ca_kek: KeyEncryptionKey,
    pub(crate) qr_signing: DigestKey,
    pub(crate) token: DigestKey,
}

impl fmt::Debug for WalletKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalletKeys([REDACTED])")
    }
}

fn bad_key(what: &str) -> WalletError {
    WalletError::Config(format!("{what} must be 32 bytes of secret material"))
}

fn derive(master: &DigestKey, label: &str) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(master.digest(label, b""))
}

impl WalletKeys {
    /// Derives every key from one master secret of at least 32 bytes (from the service's secret manager).
    /// The same secret gives the same keys on every run and every instance.
    pub fn from_master_secret(master: &[u8]) -> Result<Self, WalletError> {
        let master = DigestKey::new(master).ok_or_else(|| bad_key("the master secret"))?;
        let digest = DigestKey::new(derive(&master, LABEL_DIGEST).as_ref()).ok_or_else(|| bad_key("digest key"))?;
        let sealing = SealingKey::new(DERIVED_SEALING_KEY_ID, derive(&master, LABEL_SEALING).as_ref())
            .ok_or_else(|| bad_key("identity sealing key"))?;
        let ca_kek = KeyEncryptionKey::new(derive(&master, LABEL_CA_KEK).as_ref()).ok_or_else(|| bad_key("CA KEK"))?;
        let qr = DigestKey::new(derive(&master, LABEL_QR).as_ref()).ok_or_else(|| bad_key("QR signing key"))?;
        let token = DigestKey::new(derive(&master, LABEL_TOKEN).as_ref()).ok_or_else(|| bad_key("token key"))?;
        Ok(WalletKeys { digest, identity_sealing: sealing, ca_kek, qr_signing: qr, token })
    }

    /// Random keys: **demos and tests only**. A wallet built with them cannot read its own data after a
    /// restart. [`WalletBuilder::in_memory`](crate::WalletBuilder::in_memory) uses them when no keys are
    /// given; the file and PostgreSQL backends never do.
    pub(crate) fn random_for_demo(entropy: &dyn Entropy) -> Result<Self, WalletError> {
        let mut master = Zeroizing::new([0u8; 32]);
        entropy.fill(master.as_mut());
        Self::from_master_secret(master.as_ref())
    }

    /// Replaces the digest key.
    pub fn with_digest_key(mut self, key: DigestKey) -> Self {
        self.digest = key;
        self
    }

    /// Replaces the identity sealing key (its id is stored in front of every sealed value; rotate by
    /// giving a new id).
    pub fn with_identity_sealing_key(mut self, key: SealingKey) -> Self {
        self.identity_sealing = key;
        self
    }

    /// Replaces the CA key-encryption key.
    pub fn with_ca_key_encryption_key(mut self, key: KeyEncryptionKey) -> Self {
        self.ca_kek = key;
        self
    }

    /// Replaces the QR signing key.
    pub fn with_qr_signing_key(mut self, key: DigestKey) -> Self {
        self.qr_signing = key;
        self
    }

    /// Replaces the token key.
    pub fn with_token_key(mut self, key: DigestKey) -> Self {
        self.token = key;
        self
    }

    /// The key payment, transfer and account ids are derived under (from the digest key, under its own
    /// label): it must never change for a deployment, or retries would not be recognised.
    pub(crate) fn payment_ids_key(&self) -> Result<DigestKey, WalletError> {
        let k = Zeroizing::new(self.digest.digest("qianbao/wallet/payment-id-key/v1", b""));
        DigestKey::new(k.as_ref()).ok_or_else(|| bad_key("payment id key"))
    }

    /// The key flow tickets are signed with: derived from the digest key under its own label.
    pub(crate) fn ticket_key(&self) -> Result<DigestKey, WalletError> {
        let k = Zeroizing::new(self.digest.digest("qianbao/wallet/flow-ticket-key/v1", b""));
        DigestKey::new(k.as_ref()).ok_or_else(|| bad_key("flow ticket key"))
    }
}

#[cfg(test)]
mod tests;
