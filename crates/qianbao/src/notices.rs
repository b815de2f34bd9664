//! Security notices (issue 10): what the user is told through the [`Notifier`](qianbao_core::Notifier)
//! after a security-relevant change, on every verified phone and email address (and the in-app inbox).
//! A notice never carries a secret: no password, code, token, ID or card number — only what happened,
//! when, on which device, and masked contacts.

use std::net::IpAddr;

use qianbao_ca::{CertSerial, RevocationReason};
use qianbao_core::{Destination, DeviceId, Notification, NotificationKind, Timestamp, UserId};
use qianbao_identity::{Contact, ContactValue};

use crate::Wallet;

const NOT_YOU: &str = "If this was not you, reset your password at once and contact support.";

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    NewDeviceLogin { device: String, address: Option<IpAddr> },
    PasswordChanged,
    PasswordReset,
    ContactChanged { old: String, new: String },
    ContactAdded { new: String },
    SecondFactor { enabled: bool },
    PaymentPasswordSet,
    PaymentPasswordChanged,
    PaymentPasswordLocked,
    CertificateIssued { serial: CertSerial, device: DeviceId },
    CertificateRenewed { serial: CertSerial },
    CertificateRevoked { serial: CertSerial, reason: RevocationReason },
    DeviceSignedOut { device: DeviceId },
    AccountFrozen,
    AccountBanned,
    AccountClosed,
    CaseResolved,
    RealNameDecided { approved: bool },
}

impl Notice {
    fn kind(&self) -> NotificationKind {
        match self {
            Notice::RealNameDecided { .. } | Notice::CaseResolved => NotificationKind::AccountNotice,
            _ => NotificationKind::SecurityNotice,
        }
    }

    fn subject(&self) -> &'static str {
        match self {
            Notice::NewDeviceLogin { .. } => "New sign-in to your qianbao wallet",
            Notice::PasswordChanged | Notice::PasswordReset => "Your qianbao password was changed",
            Notice::ContactChanged { .. } | Notice::ContactAdded { .. } => "Your qianbao contact details were changed",
            Notice::SecondFactor { .. } => "Two-factor authentication changed",
            Notice::PaymentPasswordSet | Notice::PaymentPasswordChanged => "Your payment password was changed",
            Notice::PaymentPasswordLocked => "Your payment password is locked",
            Notice::CertificateIssued { .. } | Notice::CertificateRenewed { .. } => "A digital certificate was issued",
            Notice::CertificateRevoked { .. } => "A digital certificate was revoked",
            Notice::DeviceSignedOut { .. } => "A device was signed out",
            Notice::AccountFrozen => "Your qianbao account is frozen",
            Notice::AccountBanned => "Your qianbao account is suspended",
            Notice::AccountClosed => "Your qianbao account is closed",
            Notice::CaseResolved => "Your report was resolved",
            Notice::RealNameDecided { .. } => "Your real-name verification",
        }
    }

    fn what(&self) -> String {
        match self {
            Notice::NewDeviceLogin { device, address } => match address {
                Some(a) => format!("Your wallet was signed in on a new device \"{device}\" from {a}."),
                None => format!("Your wallet was signed in on a new device \"{device}\"."),
            },
            Notice::PasswordChanged => "Your login password was changed.".into(),
            Notice::PasswordReset => "Your login password was reset and every device was signed out.".into(),
            Notice::ContactChanged { old, new } => format!("The contact {old} was replaced by {new}."),
            Notice::ContactAdded { new } => format!("The contact {new} was added to your account."),
            Notice::SecondFactor { enabled: true } => "An authenticator app was turned on for sign-in.".into(),
            Notice::SecondFactor { enabled: false } => "The authenticator app was turned off for sign-in.".into(),
            Notice::PaymentPasswordSet => "A payment password was set.".into(),
            Notice::PaymentPasswordChanged => "Your payment password was changed.".into(),
            Notice::PaymentPasswordLocked => {
                "Your payment password was locked after too many wrong tries; payments by password are paused.".into()
            }
            Notice::CertificateIssued { serial, device } => {
                format!("Digital certificate {serial} was issued for device {device}.")
            }
            Notice::CertificateRenewed { serial } => format!("Digital certificate {serial} was issued by renewal."),
            Notice::CertificateRevoked { serial, reason } => {
                format!("Digital certificate {serial} was revoked ({reason}); it can no longer authorize payments.")
            }
            Notice::DeviceSignedOut { device } => format!("Device {device} was signed out of your wallet."),
            Notice::AccountFrozen => "Your account was frozen: payments are paused until it is reviewed.".into(),
            Notice::AccountBanned => "Your account was suspended; contact support.".into(),
            Notice::AccountClosed => "Your account was closed; its certificates and tokens were revoked.".into(),
            Notice::CaseResolved => {
                "Your report of an abnormal transaction was resolved; see the app for details.".into()
            }
            Notice::RealNameDecided { approved: true } => "Your real-name verification was approved.".into(),
            Notice::RealNameDecided { approved: false } => {
                "Your real-name verification was not approved; see the app for the reason.".into()
            }
        }
    }

    /// The text at `at`.
    pub(crate) fn body(&self, at: Timestamp) -> String {
        let tail = match self {
            Notice::RealNameDecided { .. } | Notice::AccountClosed | Notice::CaseResolved => "",
            _ => NOT_YOU,
        };
        format!("[qianbao] {} ({at}) {tail}", self.what()).trim_end().to_string()
    }
}

fn destination(c: &ContactValue) -> Option<Destination> {
    match c {
        ContactValue::Phone(p) => Some(Destination::Phone(p.clone())),
        ContactValue::Email(e) => Some(Destination::Email(e.clone())),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The verified contacts among `contacts`.
pub(crate) fn verified(contacts: Vec<Contact>) -> Vec<ContactValue> {
    contacts.into_iter().filter(|c| c.verified_at.is_some()).map(|c| c.value).collect()
}

impl Wallet {
    /// Sends `notice` to the user's verified contacts (and in-app inbox). Best effort: the change it
    /// reports is already made, so a failed delivery is logged, never returned.
    pub(crate) async fn notify_user(&self, user: UserId, notice: Notice) {
        match self.inner.identity.contacts(user).await {
            Ok(contacts) => self.notify_contacts(user, &verified(contacts), notice).await,
            Err(e) => tracing::warn!(%user, error = %e, "security notice not sent: contacts unreadable"),
        }
    }

    /// Sends `notice` to the given contacts (and the user's in-app inbox).
    pub(crate) async fn notify_contacts(&self, user: UserId, contacts: &[ContactValue], notice: Notice) {
        let mut to: Vec<Destination> = contacts.iter().filter_map(destination).collect();
        if self.inner.config.policy.notify_in_app {
            to.push(Destination::User(user));
        }
        self.send_notice(user, to, &notice).await;
    }

    /// Sends `notice` to exactly these contacts (e.g. a contact just removed from the account).
    pub(crate) async fn notify_only(&self, user: UserId, contacts: &[ContactValue], notice: &Notice) {
        self.send_notice(user, contacts.iter().filter_map(destination).collect(), notice).await;
    }

    async fn send_notice(&self, user: UserId, to: Vec<Destination>, notice: &Notice) {
        let at = self.now();
        for destination in to {
            let n = Notification {
                destination,
                kind: notice.kind(),
                subject: notice.subject().to_string(),
                body: notice.body(at),
                sent_at: at,
            };
            if let Err(e) = self.inner.notifier.send(&n).await {
                tracing::warn!(%user, channel = ?n.destination.channel(), error = %e, "security notice not delivered");
            }
        }
    }
}
