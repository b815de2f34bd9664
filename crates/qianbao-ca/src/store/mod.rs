//! Storage of this crate: the [`CaStore`] trait, the row types it moves, and [`CaDb`], the concrete store
//! over a [`qianbao_store::Database`] (SQLite by default, PostgreSQL with the `postgres` feature).
//!
//! Tables (component `ca`): `ca_authorities` (root and issuing CAs: certificate and sealed key handle),
//! `ca_certificates` (one row per issued certificate, keyed by its number on SQLite; a partial unique
//! index keeps one active certificate per device; `issued_event` links its issuance event, which on
//! SQLite since migration 6 the row itself holds), `ca_serials` (the serial key and the next certificate
//! number), `ca_crl_numbers`, `ca_order_nonces` (used payment-order nonces), `ca_usage` (the append-only
//! usage record, indexed by user and — issuance events apart, found through their certificate — by
//! serial) and, on SQLite, `ca_usage_seq` (the usage record's next number). Migrations 2–6 keep an
//! issuance from inserting anywhere but at the end of a B-tree on SQLite, and from writing more than
//! its certificate's row (migration 5: serials decrypt to the row's key, [`crate::SerialCipher`];
//! migration 6: the issuance event in the row); the migrations' comments say why.

use std::future::Future;

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::{Database, ErrorKind, StoreError};

use crate::CaError;
use crate::keys::KeyHandle;
use crate::order::OrderNonce;
pub use plan::{DeviceCert, DeviceCertStatus, DevicePlan, IssueEffects};

use crate::record::{
    CertSerial, CertStatus, CertificateRecord, Fingerprint, RevocationReason, UsageEvent, UsageKind, UsageRecord,
};

#[cfg(all(test, feature = "sqlite"))]
mod migration_tests;
mod plan;
mod schema;
pub(crate) use schema::MIGRATIONS;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Which CA a stored authority is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityKind {
    /// The self-signed root.
    Root,
    /// An issuing (intermediate) CA.
    Issuing,
}

impl AuthorityKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthorityKind::Root => "root",
            AuthorityKind::Issuing => "issuing",
        }
    }

    pub(crate) fn from_name(s: &str) -> Result<Self, StoreError> {
        match s {
            "root" => Ok(AuthorityKind::Root),
            "issuing" => Ok(AuthorityKind::Issuing),
            other => Err(StoreError::corrupt(format!("unknown authority kind {other:?}"))),
        }
    }
}

/// A stored CA: its certificate and the handle of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityRow {
    /// Root or issuing.
    pub kind: AuthorityKind,
    /// 1 for the root; 1, 2, … for issuing CAs in rollover order.
    pub generation: u32,
    /// The CA certificate, DER.
    pub cert_der: Vec<u8>,
    /// Where its key is (sealed PKCS#8 for the local custody).
    pub key_handle: KeyHandle,
    /// A retired issuing CA issues nothing new but still signs CRLs for what it issued.
    pub retired: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its notAfter.
    pub not_after: Timestamp,
}

/// An issuance to persist atomically: the new certificate, what it supersedes or revokes, and the usage
/// events. The store reads the device's certificates in the transaction that writes it and applies
/// [`NewCertificate::plan`] to them ([`NewCertificate::resolve`]): a refused issuance (another user's
/// device, an active certificate left, a superseded one no longer active, a revoked one already revoked)
/// writes nothing.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// The new record (status active; its `replaces` is set by [`NewCertificate::resolve`]).
    pub record: CertificateRecord,
    /// The certificate's number, from [`CaStore::reserve_certificate_ids`], when its serial is that
    /// number's under the store's serial key ([`crate::SerialCipher`]); `None` for a serial made some
    /// other way (the store then numbers the row itself and indexes the serial).
    pub id: Option<u64>,
    /// How the device's other certificates are treated.
    pub plan: DevicePlan,
    /// Certificates that become superseded by it (at `record.issued_at`): given for
    /// [`DevicePlan::Given`], found by [`NewCertificate::resolve`] otherwise.
    pub supersede: Vec<CertSerial>,
    /// Certificates revoked with `revoke_reason` at `record.issued_at` (as for `supersede`).
    pub revoke: Vec<CertSerial>,
    /// The reason for `revoke`.
    pub revoke_reason: RevocationReason,
    /// Usage events recorded in the same transaction ([`NewCertificate::resolve`] appends one per
    /// superseded or revoked certificate).
    pub events: Vec<UsageEvent>,
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now; the updated record.
    Revoked(CertificateRecord),
    /// It was revoked before; the record unchanged.
    AlreadyRevoked(CertificateRecord),
    /// No such certificate.
    NotFound,
}

/// A payment order's nonce to record once, for certificate `serial` of `user`.
///
/// The store accepts it only when the certificate is still usable at `at` (read in the same transaction
/// that inserts the nonce: [`CertStatus::check_usable`] with `grace`) and the nonce of that user was never
/// recorded before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceClaim {
    /// The payer (the certificate's user); nonces are unique per user.
    pub user: UserId,
    /// The nonce.
    pub nonce: OrderNonce,
    /// When the order was signed (nonces of old orders are pruned by this).
    pub signed_at: Timestamp,
    /// The certificate that signed the order.
    pub serial: CertSerial,
    /// The verification time.
    pub at: Timestamp,
    /// How long a superseded certificate stays usable.
    pub grace: std::time::Duration,
    /// The usage event written with an accepted claim.
    pub event: UsageEvent,
}

/// What became of a [`NonceClaim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceOutcome {
    /// Recorded now (with its usage event): the order is authorized.
    Accepted,
    /// The nonce was used before.
    Replayed,
    /// The certificate is not usable any more (revoked, or superseded past its grace): its status.
    Unusable(CertStatus),
    /// The certificate is not in the records.
    UnknownCertificate,
}

impl NonceOutcome {
    /// The refusal of a claim given its certificate's current status (`None`: no such certificate), or
    /// `None` when the nonce may be inserted. The one rule every backend applies before inserting.
    pub fn refusal(claim: &NonceClaim, status: Option<CertStatus>) -> Option<NonceOutcome> {
        match status {
            None => Some(NonceOutcome::UnknownCertificate),
            Some(s) if s.check_usable(claim.serial, claim.at, claim.grace).is_err() => Some(NonceOutcome::Unusable(s)),
            Some(_) => None,
        }
    }
}

/// The CA's own keys and certificates, issued certificate records, revocations, CRL numbers, order nonces
/// and the usage record.
pub trait CaStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), CaError>> + Send;

    /// Every stored authority (root first, then issuing CAs by generation).
    fn authorities(&self) -> impl Future<Output = Result<Vec<AuthorityRow>, CaError>> + Send;

    /// Inserts authorities and, in the same transaction, retires issuing CA `retire_issuing`. A duplicate
    /// (kind, generation) is a conflict (another instance created it first).
    fn insert_authorities(
        &self,
        rows: Vec<AuthorityRow>,
        retire_issuing: Option<u32>,
    ) -> impl Future<Output = Result<(), CaError>> + Send;

    /// Persists an issuance atomically (see [`NewCertificate`]); answers what it changed. (A batch of
    /// one [`insert_certificates`](CaStore::insert_certificates).)
    fn insert_certificate(&self, new: NewCertificate) -> impl Future<Output = Result<IssueEffects, CaError>> + Send {
        async move {
            let mut out = self.insert_certificates(vec![new]).await?;
            out.pop().unwrap_or_else(|| Err(CaError::Misuse("no answer for an issuance".into())))
        }
    }

    /// Persists several issuances in one transaction (group commit), each atomically on its own and in
    /// order (a later one sees the earlier ones): one that is refused writes nothing and the others still
    /// commit. Answers one result per issuance, in order, after the commit; `Err` when nothing could be
    /// committed.
    fn insert_certificates(
        &self,
        news: Vec<NewCertificate>,
    ) -> impl Future<Output = Result<Vec<Result<IssueEffects, CaError>>, CaError>> + Send;

    /// The CA's serial key ([`crate::SerialCipher`]): the stored one, or `candidate` stored now when
    /// there is none yet (the first instance to ask wins; every instance gets the same key).
    fn serial_key(&self, candidate: [u8; 16]) -> impl Future<Output = Result<[u8; 16], CaError>> + Send;

    /// Reserves `n` certificate numbers, never handed out before: answers the first (the block is
    /// `first..first + n`). Several instances sharing the database get disjoint blocks.
    fn reserve_certificate_ids(&self, n: u32) -> impl Future<Output = Result<u64, CaError>> + Send;

    /// Revokes `serial` unless it is already revoked, recording `event` in the same transaction.
    fn revoke(
        &self,
        serial: CertSerial,
        reason: RevocationReason,
        at: Timestamp,
        event: UsageEvent,
    ) -> impl Future<Output = Result<RevokeOutcome, CaError>> + Send;

    /// One certificate.
    fn certificate(
        &self,
        serial: CertSerial,
    ) -> impl Future<Output = Result<Option<CertificateRecord>, CaError>> + Send;

    /// A user's certificates, oldest first.
    fn certificates_for_user(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<CertificateRecord>, CaError>> + Send;

    /// A device's certificates, oldest first.
    fn certificates_for_device(
        &self,
        device: DeviceId,
    ) -> impl Future<Output = Result<Vec<CertificateRecord>, CaError>> + Send;

    /// Superseded and revoked certificates still unexpired at `at` (CRLs, the mTLS revocation view).
    fn inactive_certificates(
        &self,
        at: Timestamp,
    ) -> impl Future<Output = Result<Vec<CertificateRecord>, CaError>> + Send;

    /// The next CRL number of issuing CA `generation` (1, 2, 3, …; never repeats).
    fn next_crl_number(&self, generation: u32) -> impl Future<Output = Result<u64, CaError>> + Send;

    /// Claims the nonces of checked payment orders, in one transaction (see [`NonceClaim`]). Answers one
    /// [`NonceOutcome`] per claim, in order. The usage event of every accepted claim is written in the
    /// same transaction; nothing is written for the others.
    fn accept_nonces(&self, claims: Vec<NonceClaim>)
    -> impl Future<Output = Result<Vec<NonceOutcome>, CaError>> + Send;

    /// Forgets nonces of orders signed before `before` (they fail the freshness check anyway).
    fn prune_nonces(&self, before: Timestamp) -> impl Future<Output = Result<u64, CaError>> + Send;

    /// Appends usage events. Issuance events (issued, renewed, reissued) are refused
    /// ([`CaError::Misuse`]): they are written with their certificate.
    fn append_usage(&self, events: Vec<UsageEvent>) -> impl Future<Output = Result<(), CaError>> + Send;

    /// The last `limit` usage entries of a certificate, oldest first.
    fn usage_for_certificate(
        &self,
        serial: CertSerial,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UsageRecord>, CaError>> + Send;

    /// The last `limit` usage entries of a user, oldest first.
    fn usage_for_user(
        &self,
        user: UserId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UsageRecord>, CaError>> + Send;
}

/// The condition of the usage index by serial, term for term (SQLite uses a partial index only for a
/// query that repeats its terms): every event but the issuances ([`UsageKind::is_issuance`]). Written
/// as comparisons rather than `NOT IN (…)`: SQLite builds a temporary table for an `IN` list of three
/// or more values each time an INSERT evaluates the index's condition, i.e. for every usage event.
pub(crate) const NOT_ISSUANCE_SQL: &str = "kind <> 'issued' AND kind <> 'renewed' AND kind <> 'reissued'";

/// The usage entries of a user (the first parameter), newest first, at most the second parameter. `$n`
/// placeholders, as [`usage_of_certificate_sql`]. With `in_rows` (SQLite, migration 6) the issuance
/// events kept in the user's certificate rows are merged in.
pub(crate) fn usage_of_user_sql(in_rows: bool) -> String {
    let recent = "SELECT seq, at, kind, serial, user_id, failure, detail FROM ca_usage WHERE user_id = $1 \
                  ORDER BY seq DESC LIMIT $2";
    if !in_rows {
        return recent.to_string();
    }
    format!(
        "SELECT * FROM ({recent}) UNION ALL SELECT * FROM (SELECT {ISSUED_IN_ROW} FROM ca_certificates c \
         WHERE c.user_id = $1 AND c.issued_kind IS NOT NULL ORDER BY 1 DESC LIMIT $2) ORDER BY 1 DESC LIMIT $2"
    )
}

/// The usage columns of an issuance event kept in its certificate's row `c` (SQLite, migration 6).
const ISSUED_IN_ROW: &str = "c.issued_event, c.issued_at, c.issued_kind, c.serial, c.user_id, NULL, c.issued_detail";

/// The usage entries of certificate `serial` (the first parameter), newest first, at most the second
/// parameter: its events in the index by serial, and its issuance event linked from its row, which
/// `certificate` selects as `c` (e.g. `c.serial = $1`) — or, with `in_rows` (SQLite, migration 6), kept
/// in that row. `$n` placeholders (SQLite reads them as named parameters bound by position).
pub(crate) fn usage_of_certificate_sql(certificate: &str, in_rows: bool) -> String {
    let in_row = if in_rows {
        format!(
            " AND c.issued_kind IS NULL \
             UNION ALL SELECT {ISSUED_IN_ROW} FROM ca_certificates c WHERE {certificate} AND c.issued_kind IS NOT NULL"
        )
    } else {
        String::new()
    };
    format!(
        "SELECT seq, at, kind, serial, user_id, failure, detail FROM (\
         SELECT seq, at, kind, serial, user_id, failure, detail FROM ca_usage WHERE serial = $1 AND {NOT_ISSUANCE_SQL} \
         ORDER BY seq DESC LIMIT $2) AS recent \
         UNION ALL SELECT u.seq, u.at, u.kind, u.serial, u.user_id, u.failure, u.detail \
         FROM ca_certificates c JOIN ca_usage u ON u.seq = c.issued_event WHERE {certificate}{in_row} \
         ORDER BY 1 DESC LIMIT $2"
    )
}

/// Whether the issuance event `e` of the new certificate `r` can be kept in its row (SQLite, migration
/// 6): the row holds its time, user and serial, and it records no failure.
pub(crate) fn kept_in_row(e: &UsageEvent, r: &CertificateRecord) -> bool {
    e.at == r.issued_at && e.user == Some(r.user) && e.serial == Some(r.serial) && e.failure.is_none()
}

/// Refuses to append issuance events outside an issuance: the store links the one of each certificate
/// from its row when it writes the certificate ([`CaStore::insert_certificates`]).
pub(crate) fn check_appended(events: &[UsageEvent]) -> Result<(), CaError> {
    match events.iter().find(|e| e.kind.is_issuance()) {
        Some(e) => Err(CaError::Misuse(format!("a {} event is recorded with its certificate only", e.kind.as_str()))),
        None => Ok(()),
    }
}

/// The position in `events` of the issuance event of the certificate `serial`, if there is one.
pub(crate) fn issuance_event(events: &[UsageEvent], serial: CertSerial) -> Option<usize> {
    events.iter().position(|e| e.kind.is_issuance() && e.serial == Some(serial))
}

/// The stored columns of a status: `status`, `status_at`, `revocation_reason`, `superseded_by`.
pub(crate) fn status_columns(s: CertStatus) -> (&'static str, Option<i64>, Option<&'static str>, Option<[u8; 16]>) {
    use qianbao_store::sql::ts_to_sql;
    match s {
        CertStatus::Active => ("active", None, None, None),
        CertStatus::Superseded { at, by } => ("superseded", Some(ts_to_sql(at)), None, Some(by.to_bytes())),
        CertStatus::Revoked { at, reason } => ("revoked", Some(ts_to_sql(at)), Some(reason.as_str()), None),
    }
}

/// The columns of `ca_certificates` in the order every backend selects them.
pub(crate) const CERT_COLUMNS: &str = "serial, fingerprint, user_id, device_id, issuer_generation, der, not_before, \
     not_after, issued_at, status, status_at, revocation_reason, superseded_by, replaces";

/// A `ca_certificates` row as plain column values, shared by the backends.
#[derive(Debug, Clone)]
pub(crate) struct CertRow {
    pub serial: Vec<u8>,
    pub fingerprint: Vec<u8>,
    pub user_id: Vec<u8>,
    pub device_id: Vec<u8>,
    pub issuer_generation: i64,
    pub der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub issued_at: i64,
    pub status: String,
    pub status_at: Option<i64>,
    pub revocation_reason: Option<String>,
    pub superseded_by: Option<Vec<u8>>,
    pub replaces: Option<Vec<u8>>,
}

/// The columns [`device_cert`] reads, for a plan ([`NewCertificate::resolve`]).
pub(crate) const DEVICE_CERT_COLUMNS: &str = "serial, user_id, status, not_after, issued_at";

/// A [`DeviceCert`] from its stored columns ([`DEVICE_CERT_COLUMNS`]).
pub(crate) fn device_cert(
    serial: &[u8],
    user_id: &[u8],
    status: &str,
    not_after: i64,
    issued_at: i64,
) -> Result<DeviceCert, StoreError> {
    use qianbao_store::sql::{id_from_sql, ts_from_sql};
    Ok(DeviceCert {
        serial: serial_from_sql(serial)?,
        user: UserId::from_raw(id_from_sql(user_id)?),
        status: DeviceCertStatus::from_name(status)?,
        not_after: ts_from_sql(not_after)?,
        issued_at: ts_from_sql(issued_at)?,
    })
}

fn serial_from_sql(b: &[u8]) -> Result<CertSerial, StoreError> {
    CertSerial::from_der_integer(b).ok_or_else(|| StoreError::corrupt("a stored certificate serial is malformed"))
}

/// A certificate status from its four columns.
pub(crate) fn status_from_sql(
    status: &str,
    status_at: Option<i64>,
    revocation_reason: Option<&str>,
    superseded_by: Option<&[u8]>,
) -> Result<CertStatus, StoreError> {
    use qianbao_store::sql::ts_from_sql;
    let at = || {
        status_at.ok_or_else(|| StoreError::corrupt("an inactive certificate has no status time")).and_then(ts_from_sql)
    };
    Ok(match status {
        "active" => CertStatus::Active,
        "superseded" => CertStatus::Superseded { at: at()?, by: serial_from_sql(superseded_by.unwrap_or_default())? },
        "revoked" => CertStatus::Revoked {
            at: at()?,
            reason: revocation_reason
                .and_then(RevocationReason::from_name)
                .ok_or_else(|| StoreError::corrupt("a revoked certificate has no known reason"))?,
        },
        other => return Err(StoreError::corrupt(format!("unknown certificate status {other:?}"))),
    })
}

/// The columns [`status_from_sql`] reads, in order.
pub(crate) const STATUS_COLUMNS: &str = "status, status_at, revocation_reason, superseded_by";

impl CertRow {
    /// The row of `r` (PostgreSQL binds it; SQLite binds from the record itself).
    #[cfg(any(test, feature = "postgres"))]
    pub(crate) fn from_record(r: &CertificateRecord) -> Self {
        use qianbao_store::sql::ts_to_sql;
        let (status, status_at, reason, by) = status_columns(r.status);
        let (reason, by) = (reason.map(str::to_string), by.map(|b| b.to_vec()));
        CertRow {
            serial: r.serial.to_bytes().to_vec(),
            fingerprint: r.fingerprint.to_bytes().to_vec(),
            user_id: r.user.to_bytes().to_vec(),
            device_id: r.device.to_bytes().to_vec(),
            issuer_generation: i64::from(r.issuer_generation),
            der: r.der.clone(),
            not_before: ts_to_sql(r.not_before),
            not_after: ts_to_sql(r.not_after),
            issued_at: ts_to_sql(r.issued_at),
            status: status.to_string(),
            status_at,
            revocation_reason: reason,
            superseded_by: by,
            replaces: r.replaces.map(|s| s.to_bytes().to_vec()),
        }
    }

    pub(crate) fn into_record(self) -> Result<CertificateRecord, StoreError> {
        use qianbao_store::sql::{id_from_sql, ts_from_sql};
        let status = status_from_sql(
            &self.status,
            self.status_at,
            self.revocation_reason.as_deref(),
            self.superseded_by.as_deref(),
        )?;
        let fingerprint: [u8; 32] = self
            .fingerprint
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::corrupt("a stored fingerprint is not 32 bytes"))?;
        let record = CertificateRecord {
            serial: serial_from_sql(&self.serial)?,
            user: UserId::from_raw(id_from_sql(&self.user_id)?),
            device: DeviceId::from_raw(id_from_sql(&self.device_id)?),
            fingerprint: Fingerprint::from_bytes(fingerprint),
            issuer_generation: u32::try_from(self.issuer_generation)
                .map_err(|_| StoreError::corrupt("issuer generation out of range"))?,
            not_before: ts_from_sql(self.not_before)?,
            not_after: ts_from_sql(self.not_after)?,
            issued_at: ts_from_sql(self.issued_at)?,
            status,
            replaces: self.replaces.as_deref().map(serial_from_sql).transpose()?,
            der: self.der,
        };
        // Pair assertion across the storage boundary: the stored DER is the fingerprinted certificate.
        if Fingerprint::of(&record.der) != record.fingerprint {
            return Err(StoreError::corrupt(format!("certificate {} does not match its fingerprint", record.serial)));
        }
        Ok(record)
    }
}

/// A `ca_usage` row as plain column values.
#[derive(Debug, Clone)]
pub(crate) struct UsageRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub serial: Option<Vec<u8>>,
    pub user_id: Option<Vec<u8>>,
    pub failure: Option<String>,
    pub detail: String,
}

impl UsageRow {
    pub(crate) fn into_record(self) -> Result<UsageRecord, StoreError> {
        use qianbao_store::sql::{id_from_sql, ts_from_sql, u64_from_sql};
        Ok(UsageRecord {
            seq: u64_from_sql(self.seq)?,
            event: UsageEvent {
                at: ts_from_sql(self.at)?,
                kind: UsageKind::from_name(&self.kind)
                    .ok_or_else(|| StoreError::corrupt(format!("unknown usage kind {:?}", self.kind)))?,
                serial: self.serial.as_deref().map(serial_from_sql).transpose()?,
                user: self.user_id.as_deref().map(id_from_sql).transpose()?.map(UserId::from_raw),
                failure: self.failure,
                detail: self.detail,
            },
        })
    }
}

/// The serial key from its stored bytes.
pub(crate) fn serial_key_from_sql(b: Option<Vec<u8>>) -> Result<[u8; 16], StoreError> {
    b.and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| StoreError::corrupt("the stored serial key is malformed"))
}

/// The first of `n` reserved certificate numbers, from the counter's value after the reservation.
pub(crate) fn reserved_first(next_after: i64, n: u32) -> Result<u64, StoreError> {
    next_after
        .checked_sub(i64::from(n))
        .and_then(|first| u64::try_from(first).ok())
        .ok_or_else(|| StoreError::corrupt("the certificate number counter is out of range"))
}

pub(crate) fn conflict(message: impl Into<String>) -> StoreError {
    StoreError::new(ErrorKind::Conflict, message)
}

/// Maps a store conflict to the CA's conflict error; other failures stay storage failures.
pub(crate) fn map_conflict(e: StoreError) -> CaError {
    if e.kind() == ErrorKind::Conflict { CaError::Conflict(e.message().to_string()) } else { CaError::Store(e) }
}

pub(crate) fn limit_sql(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 10_000))
}

/// The concrete store of this crate over the shared database; the facade holds one of these.
#[derive(Debug, Clone)]
pub struct CaDb {
    inner: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteCaStore),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgCaStore),
}

impl CaDb {
    /// Wraps `db` and applies this crate's migrations (component `ca`).
    pub async fn open(db: Database) -> Result<CaDb, CaError> {
        let inner = match db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(s) => Backend::Sqlite(sqlite::SqliteCaStore::new(s)),
            #[cfg(feature = "postgres")]
            Database::Postgres(p) => Backend::Postgres(postgres::PgCaStore::new(p)),
            #[allow(unreachable_patterns)]
            _ => return Err(CaError::Misuse("this build does not support the database's backend".into())),
        };
        let store = CaDb { inner };
        store.migrate().await?;
        Ok(store)
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match &$self.inner {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($s) => $e.await,
            #[cfg(feature = "postgres")]
            Backend::Postgres($s) => $e.await,
        }
    };
}

impl CaStore for CaDb {
    async fn migrate(&self) -> Result<(), CaError> {
        dispatch!(self, s => s.migrate())
    }

    async fn authorities(&self) -> Result<Vec<AuthorityRow>, CaError> {
        dispatch!(self, s => s.authorities())
    }

    async fn insert_authorities(&self, rows: Vec<AuthorityRow>, retire_issuing: Option<u32>) -> Result<(), CaError> {
        dispatch!(self, s => s.insert_authorities(rows, retire_issuing))
    }

    async fn insert_certificates(
        &self,
        news: Vec<NewCertificate>,
    ) -> Result<Vec<Result<IssueEffects, CaError>>, CaError> {
        dispatch!(self, s => s.insert_certificates(news))
    }

    async fn serial_key(&self, candidate: [u8; 16]) -> Result<[u8; 16], CaError> {
        dispatch!(self, s => s.serial_key(candidate))
    }

    async fn reserve_certificate_ids(&self, n: u32) -> Result<u64, CaError> {
        dispatch!(self, s => s.reserve_certificate_ids(n))
    }

    async fn revoke(
        &self,
        serial: CertSerial,
        reason: RevocationReason,
        at: Timestamp,
        event: UsageEvent,
    ) -> Result<RevokeOutcome, CaError> {
        dispatch!(self, s => s.revoke(serial, reason, at, event))
    }

    async fn certificate(&self, serial: CertSerial) -> Result<Option<CertificateRecord>, CaError> {
        dispatch!(self, s => s.certificate(serial))
    }

    async fn certificates_for_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, CaError> {
        dispatch!(self, s => s.certificates_for_user(user))
    }

    async fn certificates_for_device(&self, device: DeviceId) -> Result<Vec<CertificateRecord>, CaError> {
        dispatch!(self, s => s.certificates_for_device(device))
    }

    async fn inactive_certificates(&self, at: Timestamp) -> Result<Vec<CertificateRecord>, CaError> {
        dispatch!(self, s => s.inactive_certificates(at))
    }

    async fn next_crl_number(&self, generation: u32) -> Result<u64, CaError> {
        dispatch!(self, s => s.next_crl_number(generation))
    }

    async fn accept_nonces(&self, claims: Vec<NonceClaim>) -> Result<Vec<NonceOutcome>, CaError> {
        dispatch!(self, s => s.accept_nonces(claims))
    }

    async fn prune_nonces(&self, before: Timestamp) -> Result<u64, CaError> {
        dispatch!(self, s => s.prune_nonces(before))
    }

    async fn append_usage(&self, events: Vec<UsageEvent>) -> Result<(), CaError> {
        dispatch!(self, s => s.append_usage(events))
    }

    async fn usage_for_certificate(&self, serial: CertSerial, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        dispatch!(self, s => s.usage_for_certificate(serial, limit))
    }

    async fn usage_for_user(&self, user: UserId, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        dispatch!(self, s => s.usage_for_user(user, limit))
    }
}
