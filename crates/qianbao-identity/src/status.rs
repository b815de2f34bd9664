//! Account status and its transitions: every change has a reason, a time and an actor, and is recorded.

use serde::{Deserialize, Serialize};

use qianbao_core::{Timestamp, UserId};

/// The status of a user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UserStatus {
    /// Registered; no contact verified yet. Cannot log in.
    PendingVerification,
    /// In use.
    Active,
    /// Frozen (a reported abnormal transaction, an operator decision): logs in, but the facade allows no
    /// debits. Unfrozen by an operator.
    Frozen,
    /// Banned (fraud, repeated false real-name submissions). Cannot log in.
    Banned,
    /// Closed at zero balance by its owner. Records are kept; cannot log in.
    Closed,
}

impl UserStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::PendingVerification => "pending_verification",
            UserStatus::Active => "active",
            UserStatus::Frozen => "frozen",
            UserStatus::Banned => "banned",
            UserStatus::Closed => "closed",
        }
    }

    /// The status of a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "pending_verification" => UserStatus::PendingVerification,
            "active" => UserStatus::Active,
            "frozen" => UserStatus::Frozen,
            "banned" => UserStatus::Banned,
            "closed" => UserStatus::Closed,
            _ => return None,
        })
    }

    /// True when the user may log in (active or frozen).
    pub fn can_log_in(self) -> bool {
        matches!(self, UserStatus::Active | UserStatus::Frozen)
    }
}

impl std::fmt::Display for UserStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requested status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StatusAction {
    /// The first contact was verified: pending → active.
    Activate,
    /// active → frozen.
    Freeze,
    /// frozen → active.
    Unfreeze,
    /// pending, active or frozen → banned.
    Ban,
    /// banned → active (an operator lifts a ban found wrong).
    LiftBan,
    /// active → closed (the facade checked a zero balance first).
    Close,
}

impl StatusAction {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusAction::Activate => "activate",
            StatusAction::Freeze => "freeze",
            StatusAction::Unfreeze => "unfreeze",
            StatusAction::Ban => "ban",
            StatusAction::LiftBan => "lift_ban",
            StatusAction::Close => "close",
        }
    }
}

/// The status after `action` from `from`, or `None` when the action is not allowed from there.
pub fn transition(from: UserStatus, action: StatusAction) -> Option<UserStatus> {
    use StatusAction as A;
    use UserStatus as S;
    match (from, action) {
        (S::PendingVerification, A::Activate) => Some(S::Active),
        (S::Active, A::Freeze) => Some(S::Frozen),
        (S::Frozen, A::Unfreeze) => Some(S::Active),
        (S::PendingVerification | S::Active | S::Frozen, A::Ban) => Some(S::Banned),
        (S::Banned, A::LiftBan) => Some(S::Active),
        (S::Active, A::Close) => Some(S::Closed),
        _ => None,
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Actor {
    /// The user themself.
    User,
    /// An operator, by name or staff id.
    Operator(String),
    /// The system (automatic rules).
    System,
}

impl Actor {
    /// `user`, `system` or `operator:<name>`.
    pub fn key(&self) -> String {
        match self {
            Actor::User => "user".into(),
            Actor::System => "system".into(),
            Actor::Operator(n) => format!("operator:{n}"),
        }
    }

    /// The actor of a stored key.
    pub fn from_key(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Actor::User),
            "system" => Some(Actor::System),
            other => other.strip_prefix("operator:").map(|n| Actor::Operator(n.to_string())),
        }
    }
}

/// One recorded status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Whose.
    pub user: UserId,
    /// When.
    pub at: Timestamp,
    /// From.
    pub from: UserStatus,
    /// To.
    pub to: UserStatus,
    /// Why (free text, no secrets).
    pub reason: String,
    /// Who.
    pub actor: Actor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use StatusAction as A;
        use UserStatus as S;
        assert_eq!(transition(S::PendingVerification, A::Activate), Some(S::Active));
        assert_eq!(transition(S::Active, A::Freeze), Some(S::Frozen));
        assert_eq!(transition(S::Frozen, A::Close), None);
        assert_eq!(transition(S::Closed, A::Unfreeze), None);
        assert_eq!(transition(S::Closed, A::Ban), None);
        assert_eq!(transition(S::Banned, A::LiftBan), Some(S::Active));
        for s in [S::PendingVerification, S::Active, S::Frozen, S::Banned, S::Closed] {
            assert_eq!(UserStatus::from_name(s.as_str()), Some(s));
        }
        assert_eq!(Actor::from_key(&Actor::Operator("li".into()).key()), Some(Actor::Operator("li".into())));
    }
}
