//! Notifications to users: one-time codes, tokens and security notices over SMS, email or in-app.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::{Email, PhoneNumber, Timestamp, UserId};

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Channel {
    /// A text message to a phone.
    Sms,
    /// An email.
    Email,
    /// A message inside the wallet app.
    InApp,
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Destination {
    /// A phone number (SMS).
    Phone(PhoneNumber),
    /// An email address.
    Email(Email),
    /// A user's in-app inbox.
    User(UserId),
}

impl Destination {
    /// The channel this destination is reached by.
    pub fn channel(&self) -> Channel {
        match self {
            Destination::Phone(_) => Channel::Sms,
            Destination::Email(_) => Channel::Email,
            Destination::User(_) => Channel::InApp,
        }
    }
}

/// What a notification is about; lets a notifier pick a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum NotificationKind {
    /// A one-time verification code.
    VerificationCode,
    /// A transaction token.
    TransactionToken,
    /// A security notice (new device, password changed, certificate revoked, …). Never carries a secret.
    SecurityNotice,
    /// A payment receipt or other account notice.
    AccountNotice,
}

/// One message to one destination.
#[derive(Clone, Serialize, Deserialize)]
pub struct Notification {
    /// Where it goes.
    pub destination: Destination,
    /// What it is about.
    pub kind: NotificationKind,
    /// A short subject (email subject, notice title).
    pub subject: String,
    /// The text. For codes and tokens it carries the secret, so it is never logged.
    pub body: String,
    /// When it was sent.
    pub sent_at: Timestamp,
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("destination", &self.destination)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("body", &"[REDACTED]")
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The provider refused or failed; the message was not delivered.
    #[error("notification provider failed: {0}")]
    Provider(String),
    /// This notifier does not serve that channel.
    #[error("channel {0:?} is not supported by this notifier")]
    UnsupportedChannel(Channel),
}

/// The future a [`Notifier`] returns.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Delivers notifications. Implement it over an SMS gateway, a mail relay or a push service.
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Sends one notification; resolves once the provider accepted it.
    fn send<'a>(&'a self, notification: &'a Notification) -> NotifyFuture<'a>;
}

/// An in-memory notifier that keeps every message: for tests, examples and simulations.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    sent: Arc<Mutex<Vec<Notification>>>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Notification>> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message sent so far, oldest first.
    pub fn all(&self) -> Vec<Notification> {
        self.lock().clone()
    }

    /// The newest message to `destination`.
    pub fn last_to(&self, destination: &Destination) -> Option<Notification> {
        self.lock().iter().rev().find(|n| &n.destination == destination).cloned()
    }

    /// The newest message's body to `destination` — handy to read a code in a test.
    pub fn last_body_to(&self, destination: &Destination) -> Option<String> {
        self.last_to(destination).map(|n| n.body)
    }

    /// How many messages were sent.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Removes and returns every message.
    pub fn drain(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.lock())
    }
}

impl Notifier for Outbox {
    fn send<'a>(&'a self, notification: &'a Notification) -> NotifyFuture<'a> {
        self.lock().push(notification.clone());
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_records_and_debug_hides_body() {
        let outbox = Outbox::new();
        let to = Destination::Phone(PhoneNumber::parse("13812345678").unwrap());
        let n = Notification {
            destination: to.clone(),
            kind: NotificationKind::VerificationCode,
            subject: "code".into(),
            body: "Your code is 123456".into(),
            sent_at: Timestamp::ZERO,
        };
        outbox.send(&n).await.unwrap();
        assert_eq!(outbox.last_body_to(&to).as_deref(), Some("Your code is 123456"));
        assert_eq!(to.channel(), Channel::Sms);
        assert!(!format!("{n:?}").contains("123456"));
        assert_eq!(outbox.drain().len(), 1);
        assert!(outbox.is_empty());
    }
}
