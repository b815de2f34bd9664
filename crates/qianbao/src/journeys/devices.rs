//! Devices (issue 10, item 2): list them, sign one out or all others, and approve or deny a new device's
//! QR challenge from a signed-in one.

use qianbao_core::DeviceId;
use qianbao_identity::AuditKind;
use qianbao_token::{Device, QrDecision};

use crate::audit::kinds;
use crate::notices::Notice;
use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// The caller's devices, oldest first, with their live-session counts.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn devices(&self, caller: &Caller) -> Result<Vec<Device>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.tokens.list_devices(a.user()).await?)
    }

    /// Signs one of the caller's devices out: its sessions stop working at once (payment codes too).
    /// Returns how many sessions were live.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, device = %device))]
    pub async fn sign_out_device(&self, caller: &Caller, device: DeviceId) -> Result<u32, WalletError> {
        let a = self.authenticate(caller).await?;
        let n = match self.inner.tokens.sign_out_device(a.user(), device).await {
            Err(qianbao_token::TokenError::DeviceNotFound) => return Err(WalletError::DeviceNotFound(device)),
            other => other?,
        };
        let detail = format!("device {device} by device {} ({n} sessions)", a.device());
        self.audit(a.user(), AuditKind::DEVICE_SIGNED_OUT, a.ctx, detail).await;
        if device != a.device() {
            self.notify_user(a.user(), Notice::DeviceSignedOut { device }).await;
        }
        Ok(n)
    }

    /// Signs out every device of the caller but the one making the request. Returns how many sessions
    /// were live.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn sign_out_other_devices(&self, caller: &Caller) -> Result<u32, WalletError> {
        let a = self.authenticate(caller).await?;
        let n = self.inner.tokens.sign_out_other_devices(a.user(), a.device()).await?;
        let detail = format!("every device but {} ({n} sessions)", a.device());
        self.audit(a.user(), AuditKind::DEVICE_SIGNED_OUT, a.ctx, detail).await;
        Ok(n)
    }

    /// Approves, from a signed-in device, the QR challenge a new device shows (its login may then go on).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn approve_device(&self, caller: &Caller, qr_payload: &str) -> Result<QrDecision, WalletError> {
        self.decide_device(caller, qr_payload, true).await
    }

    /// Denies a new device's QR challenge (its login fails).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn deny_device(&self, caller: &Caller, qr_payload: &str) -> Result<QrDecision, WalletError> {
        self.decide_device(caller, qr_payload, false).await
    }

    async fn decide_device(&self, caller: &Caller, payload: &str, approve: bool) -> Result<QrDecision, WalletError> {
        let a = self.authenticate(caller).await?;
        let tokens = &self.inner.tokens;
        let d = if approve {
            tokens.approve_qr(&a.grant, payload).await?
        } else {
            tokens.deny_qr(&a.grant, payload).await?
        };
        let verb = if approve { "approved" } else { "denied" };
        let detail = format!("{verb} device {} for {:?} from device {}", d.device, d.purpose, a.device());
        self.audit(a.user(), kinds::of(kinds::DEVICE_DECISION), a.ctx, detail).await;
        Ok(d)
    }
}
