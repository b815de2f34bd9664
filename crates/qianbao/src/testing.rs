//! Helpers for tests, examples and demos that run a wallet with its default [`Outbox`]: read the one-time
//! code a user was just sent. Never needed in production, where codes reach people, not programs.

use qianbao_core::{Destination, Outbox, UserId};
use qianbao_identity::ContactValue;

/// The six-digit code in the newest verification message to `to`, if any.
pub fn last_code(outbox: &Outbox, to: &Destination) -> Option<String> {
    let body = outbox.last_to(to).filter(|n| n.kind == qianbao_core::NotificationKind::VerificationCode)?.body;
    code_in(&body)
}

/// The six-digit code in the newest verification message to `contact`.
pub fn last_code_to(outbox: &Outbox, contact: &ContactValue) -> Option<String> {
    last_code(outbox, &crate::journeys::destination(contact).ok()?)
}

/// The newest message's body in `user`'s in-app inbox.
pub fn last_in_app(outbox: &Outbox, user: UserId) -> Option<String> {
    outbox.last_body_to(&Destination::User(user))
}

/// The first run of exactly six digits in `text`.
pub fn code_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 6 {
            return Some(text[i..i + 6].to_string());
        }
        i += run.max(1);
    }
    None
}
