//! Column values and row decoding shared by both backends: records become [`Value`] lists and come
//! back through the [`Get`] trait, so the SQL and the checks on the way back are written once.

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::StoreError;
use qianbao_store::sql::{id_from_sql, ts_from_sql, ts_to_sql, u64_from_sql};

use crate::audit::{AuditEvent, AuditKind, AuditRecord, RequestContext};
use crate::class::{AccountClass, VerificationChannel};
use crate::kyc::{ApplicationId, ApplicationState, KycMethod, Rejection, RejectionCode};
use crate::record::{
    ApplicationRecord, ChannelRecord, ContactKind, ContactRecord, LookupDigest, PasswordHash, RealNameRecord,
    UserRecord,
};
use crate::status::{Actor, StatusChange, UserStatus};

/// One column value. Typed even when null, so PostgreSQL gets the right parameter type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
    Bool(bool),
}

impl Value {
    pub fn int(v: i64) -> Value {
        Value::Int(Some(v))
    }
    pub fn ts(t: Timestamp) -> Value {
        Value::Int(Some(ts_to_sql(t)))
    }
    pub fn opt_ts(t: Option<Timestamp>) -> Value {
        Value::Int(t.map(ts_to_sql))
    }
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(Some(s.into()))
    }
    pub fn blob(b: impl Into<Vec<u8>>) -> Value {
        Value::Blob(Some(b.into()))
    }
    pub fn digest(d: Option<LookupDigest>) -> Value {
        Value::Blob(d.map(|d| d.0.to_vec()))
    }
    pub fn u64(v: u64) -> Result<Value, StoreError> {
        Ok(Value::int(qianbao_store::sql::u64_to_sql(v)?))
    }
}

/// Reading a column of a result row, on either backend.
pub(crate) trait Get {
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
    fn boolean(&self, i: usize) -> Result<bool, StoreError>;

    fn req_int(&self, i: usize) -> Result<i64, StoreError> {
        self.int(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }
    fn req_text(&self, i: usize) -> Result<String, StoreError> {
        self.text(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }
    fn req_blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.blob(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }
    fn ts(&self, i: usize) -> Result<Timestamp, StoreError> {
        ts_from_sql(self.req_int(i)?)
    }
    fn opt_ts(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        self.int(i)?.map(ts_from_sql).transpose()
    }
    fn user_id(&self, i: usize) -> Result<UserId, StoreError> {
        Ok(UserId::from_raw(id_from_sql(&self.req_blob(i)?)?))
    }
    fn digest(&self, i: usize) -> Result<Option<LookupDigest>, StoreError> {
        self.blob(i)?
            .map(|b| <[u8; 32]>::try_from(b.as_slice()).map(LookupDigest))
            .transpose()
            .map_err(|_| StoreError::corrupt("a look-up digest is not 32 bytes"))
    }
    fn u64(&self, i: usize) -> Result<u64, StoreError> {
        u64_from_sql(self.req_int(i)?)
    }
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::corrupt(format!("unknown {what} {v:?}"))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::corrupt(format!("encoding: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("decoding stored JSON: {e}")))
}

pub(crate) const USER_COLUMNS: &str = "id, version, created_at, status, status_at, status_reason, second_factor, \
    password_phc, password_set_at, password_single_factor_ok, payment_phc, payment_set_at, class, real_name_sealed, \
    real_name_id_digest, real_name_name_masked, real_name_id_masked, real_name_at, false_submissions";

/// The values of [`USER_COLUMNS`], in order.
pub(crate) fn user_values(u: &UserRecord) -> Result<Vec<Value>, StoreError> {
    let rn = u.real_name.as_ref();
    Ok(vec![
        Value::blob(u.id.to_bytes()),
        Value::u64(u.version)?,
        Value::ts(u.created_at),
        Value::text(u.status.as_str()),
        Value::ts(u.status_at),
        Value::text(u.status_reason.clone()),
        Value::Bool(u.second_factor),
        Value::text(u.password.0.clone()),
        Value::ts(u.password_set_at),
        Value::Bool(u.password_single_factor_ok),
        Value::Text(u.payment_password.as_ref().map(|p| p.0.clone())),
        Value::opt_ts(u.payment_password_set_at),
        Value::Text(u.class.map(|c| c.as_str().to_string())),
        Value::Blob(rn.map(|r| r.sealed.clone())),
        Value::digest(rn.and_then(|r| r.id_digest)),
        Value::Text(rn.map(|r| r.name_masked.clone())),
        Value::Text(rn.and_then(|r| r.id_masked.clone())),
        Value::opt_ts(rn.map(|r| r.verified_at)),
        Value::int(i64::from(u.false_submissions)),
    ])
}

/// A user row (without contacts) from [`USER_COLUMNS`].
pub(crate) fn user_from_row(r: &impl Get) -> Result<UserRecord, StoreError> {
    let status = r.req_text(3)?;
    let class = r.text(12)?;
    let real_name = match r.blob(13)? {
        None => None,
        Some(sealed) => Some(RealNameRecord {
            sealed,
            id_digest: r.digest(14)?,
            name_masked: r.req_text(15)?,
            id_masked: r.text(16)?,
            verified_at: r.ts(17)?,
        }),
    };
    Ok(UserRecord {
        id: r.user_id(0)?,
        version: r.u64(1)?,
        created_at: r.ts(2)?,
        status: UserStatus::from_name(&status).ok_or_else(|| corrupt("status", &status))?,
        status_at: r.ts(4)?,
        status_reason: r.req_text(5)?,
        second_factor: r.boolean(6)?,
        password: PasswordHash(r.req_text(7)?),
        password_set_at: r.ts(8)?,
        password_single_factor_ok: r.boolean(9)?,
        payment_password: r.text(10)?.map(PasswordHash),
        payment_password_set_at: r.opt_ts(11)?,
        class: class.as_deref().map(|c| AccountClass::from_name(c).ok_or_else(|| corrupt("class", c))).transpose()?,
        real_name,
        false_submissions: u32::try_from(r.req_int(18)?)
            .map_err(|_| StoreError::corrupt("false_submissions out of range"))?,
        contacts: Vec::new(),
    })
}

pub(crate) const CONTACT_COLUMNS: &str = "user_id, digest, position, kind, sealed, masked, added_at, verified_at";

pub(crate) fn contact_values(user: UserId, position: usize, c: &ContactRecord) -> Vec<Value> {
    vec![
        Value::blob(user.to_bytes()),
        Value::blob(c.digest.0),
        Value::int(i64::try_from(position).unwrap_or(i64::MAX)),
        Value::text(c.kind.as_str()),
        Value::blob(c.sealed.clone()),
        Value::text(c.masked.clone()),
        Value::ts(c.added_at),
        Value::opt_ts(c.verified_at),
    ]
}

pub(crate) fn contact_from_row(r: &impl Get) -> Result<ContactRecord, StoreError> {
    let kind = r.req_text(3)?;
    Ok(ContactRecord {
        kind: ContactKind::from_name(&kind).ok_or_else(|| corrupt("contact kind", &kind))?,
        digest: r.digest(1)?.ok_or_else(|| StoreError::corrupt("a contact has no digest"))?,
        sealed: r.req_blob(4)?,
        masked: r.req_text(5)?,
        added_at: r.ts(6)?,
        verified_at: r.opt_ts(7)?,
    })
}

pub(crate) const APPLICATION_COLUMNS: &str = "id, user_id, version, method, state, reason_code, reason_note, created_at, \
    submitted_at, decided_at, payload, id_digest, card_digest, summary, checks, reviewer";

pub(crate) fn application_values(a: &ApplicationRecord) -> Result<Vec<Value>, StoreError> {
    let (code, note) = match &a.state {
        ApplicationState::Rejected(r) => (Some(r.code.as_str().to_string()), Some(r.note.clone())),
        _ => (None, None),
    };
    Ok(vec![
        Value::blob(a.id.to_bytes()),
        Value::blob(a.user.to_bytes()),
        Value::u64(a.version)?,
        Value::text(a.method.as_str()),
        Value::text(a.state.as_str()),
        Value::Text(code),
        Value::Text(note),
        Value::ts(a.created_at),
        Value::opt_ts(a.submitted_at),
        Value::opt_ts(a.decided_at),
        Value::blob(a.payload.clone()),
        Value::digest(a.id_digest),
        Value::digest(a.card_digest),
        Value::text(json(&a.summary)?),
        Value::text(json(&a.checks)?),
        Value::Text(a.reviewer.clone()),
    ])
}

pub(crate) fn application_from_row(r: &impl Get) -> Result<ApplicationRecord, StoreError> {
    let method = r.req_text(3)?;
    let state_name = r.req_text(4)?;
    let state = match state_name.as_str() {
        "draft" => ApplicationState::Draft,
        "submitted" => ApplicationState::Submitted,
        "approved" => ApplicationState::Approved,
        "rejected" => {
            let code = r.req_text(5)?;
            ApplicationState::Rejected(Rejection {
                code: RejectionCode::from_name(&code).ok_or_else(|| corrupt("rejection code", &code))?,
                note: r.text(6)?.unwrap_or_default(),
            })
        }
        other => return Err(corrupt("application state", other)),
    };
    Ok(ApplicationRecord {
        id: ApplicationId::from(id_from_sql(&r.req_blob(0)?)?),
        user: r.user_id(1)?,
        version: r.u64(2)?,
        method: KycMethod::from_name(&method).ok_or_else(|| corrupt("method", &method))?,
        state,
        created_at: r.ts(7)?,
        submitted_at: r.opt_ts(8)?,
        decided_at: r.opt_ts(9)?,
        payload: r.req_blob(10)?,
        id_digest: r.digest(11)?,
        card_digest: r.digest(12)?,
        summary: from_json(&r.req_text(13)?)?,
        checks: from_json(&r.req_text(14)?)?,
        reviewer: r.text(15)?,
    })
}

pub(crate) fn channel_values(user: UserId, c: &ChannelRecord) -> Vec<Value> {
    vec![
        Value::blob(user.to_bytes()),
        Value::text(c.channel.key()),
        Value::Blob(c.application.map(|a| a.to_bytes().to_vec())),
        Value::ts(c.at),
    ]
}

/// From `channel, application_id, at`.
pub(crate) fn channel_from_row(r: &impl Get) -> Result<ChannelRecord, StoreError> {
    let key = r.req_text(0)?;
    Ok(ChannelRecord {
        channel: VerificationChannel::from_key(&key).ok_or_else(|| corrupt("channel", &key))?,
        application: r.blob(1)?.map(|b| id_from_sql(&b).map(ApplicationId::from)).transpose()?,
        at: r.ts(2)?,
    })
}

pub(crate) fn status_values(c: &StatusChange) -> Vec<Value> {
    vec![
        Value::blob(c.user.to_bytes()),
        Value::ts(c.at),
        Value::text(c.from.as_str()),
        Value::text(c.to.as_str()),
        Value::text(c.reason.clone()),
        Value::text(c.actor.key()),
    ]
}

/// From `user_id, at, from_status, to_status, reason, actor`.
pub(crate) fn status_from_row(r: &impl Get) -> Result<StatusChange, StoreError> {
    let (from, to, actor) = (r.req_text(2)?, r.req_text(3)?, r.req_text(5)?);
    Ok(StatusChange {
        user: r.user_id(0)?,
        at: r.ts(1)?,
        from: UserStatus::from_name(&from).ok_or_else(|| corrupt("status", &from))?,
        to: UserStatus::from_name(&to).ok_or_else(|| corrupt("status", &to))?,
        reason: r.req_text(4)?,
        actor: Actor::from_key(&actor).ok_or_else(|| corrupt("actor", &actor))?,
    })
}

pub(crate) fn audit_values(e: &AuditEvent) -> Vec<Value> {
    vec![
        Value::ts(e.at),
        Value::Blob(e.user.map(|u| u.to_bytes().to_vec())),
        Value::text(e.kind.as_str()),
        Value::Blob(e.context.device.map(|d| d.to_bytes().to_vec())),
        Value::Text(e.context.client.map(|c| c.to_string())),
        Value::text(e.detail.clone()),
    ]
}

/// From `seq, at, user_id, kind, device_id, client, detail`.
pub(crate) fn audit_from_row(r: &impl Get) -> Result<AuditRecord, StoreError> {
    let kind = r.req_text(3)?;
    let client = r.text(5)?;
    Ok(AuditRecord {
        seq: r.u64(0)?,
        event: AuditEvent {
            at: r.ts(1)?,
            user: r.blob(2)?.map(|b| id_from_sql(&b).map(UserId::from_raw)).transpose()?,
            kind: AuditKind::new(kind.clone()).map_err(|_| corrupt("audit kind", &kind))?,
            context: RequestContext {
                device: r.blob(4)?.map(|b| id_from_sql(&b).map(DeviceId::from_raw)).transpose()?,
                client: client.as_deref().map(|c| c.parse().map_err(|_| corrupt("client address", c))).transpose()?,
            },
            detail: r.req_text(6)?,
        },
    })
}
