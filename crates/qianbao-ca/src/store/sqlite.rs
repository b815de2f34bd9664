//! The SQLite backend of [`CaStore`].

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::SqliteDb;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

use qianbao_store::drivers::rusqlite::{self, Connection, OptionalExtension, Row, params};
use qianbao_store::sql::ts_to_sql;
use qianbao_store::{ErrorKind, StoreError};

use super::{
    AuthorityKind, AuthorityRow, CERT_COLUMNS, CaStore, CertRow, DEVICE_CERT_COLUMNS, DeviceCert, IssueEffects,
    MIGRATIONS, NewCertificate, NonceClaim, NonceOutcome, RevokeOutcome, STATUS_COLUMNS, UsageRow, check_appended,
    conflict, device_cert, issuance_event, kept_in_row, limit_sql, map_conflict, reserved_first, serial_key_from_sql,
    status_columns, status_from_sql, usage_of_certificate_sql, usage_of_user_sql,
};
use crate::CaError;
use crate::keys::KeyHandle;
use crate::record::{CertSerial, CertStatus, CertificateRecord, RevocationReason, UsageEvent, UsageRecord};
use crate::serial::SerialCipher;

/// [`CaStore`] on SQLite.
///
/// Certificates are rows keyed by their number (migration 5): a certificate is found by decrypting its
/// serial with the serial key ([`SerialCipher`]) and reading that row, which must hold the same serial;
/// rows whose serial is not their number's (from before migration 5, or written with
/// [`NewCertificate::id`] `None`) are found through the partial index on `legacy_serial`.
#[derive(Debug, Clone)]
pub struct SqliteCaStore {
    db: SqliteDb,
    /// The serial key's cipher, read from `ca_serials` on first need (the key never changes once set).
    cipher: Arc<OnceLock<SerialCipher>>,
}

impl SqliteCaStore {
    /// A store over `db` (call [`CaStore::migrate`] before use, or open through [`super::CaDb`]).
    pub fn new(db: SqliteDb) -> Self {
        SqliteCaStore { db, cipher: Arc::new(OnceLock::new()) }
    }
}

/// The serial key's cipher, `None` while no key is stored.
fn cipher<'a>(c: &Connection, cell: &'a OnceLock<SerialCipher>) -> Result<Option<&'a SerialCipher>, StoreError> {
    if let Some(k) = cell.get() {
        return Ok(Some(k));
    }
    let key: Option<Vec<u8>> =
        c.prepare_cached("SELECT serial_key FROM ca_serials")?.query_row([], |r| r.get(0)).optional()?.flatten();
    match key {
        None => Ok(None),
        Some(k) => {
            let k = serial_key_from_sql(Some(k))?;
            Ok(Some(cell.get_or_init(|| SerialCipher::new(&k))))
        }
    }
}

/// The parameters of [`by_serial_sql`]: the number the serial key decrypts `serial` to (-1 for none) and
/// the serial.
fn serial_params(
    c: &Connection,
    cell: &OnceLock<SerialCipher>,
    serial: CertSerial,
) -> Result<(i64, [u8; 16]), StoreError> {
    let id = cipher(c, cell)?.and_then(|k| i64::try_from(k.id(serial)).ok()).unwrap_or(-1);
    Ok((id, serial.to_bytes()))
}

/// Selects `columns` of the certificate whose serial is `?2`: row `?1` when it holds that serial (`?1`:
/// [`serial_params`]), else a row found through `legacy_serial`.
pub(super) fn by_serial_sql(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM ca_certificates WHERE id = ?1 AND serial = ?2 \
         UNION ALL SELECT {columns} FROM ca_certificates WHERE legacy_serial = ?2 LIMIT 1"
    )
}

/// The row number of the certificate `serial`, if there is one.
fn locate(c: &Connection, cell: &OnceLock<SerialCipher>, serial: CertSerial) -> Result<Option<i64>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| by_serial_sql("id"));
    let (id, key) = serial_params(c, cell, serial)?;
    Ok(c.prepare_cached(&SQL)?.query_row(params![id, key.as_slice()], |r| r.get(0)).optional()?)
}

/// The certificate `serial`, if there is one.
fn cert_by_serial(
    c: &Connection,
    cell: &OnceLock<SerialCipher>,
    serial: CertSerial,
) -> Result<Option<CertificateRecord>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| by_serial_sql(CERT_COLUMNS));
    let (id, key) = serial_params(c, cell, serial)?;
    let row = c.prepare_cached(&SQL)?.query_row(params![id, key.as_slice()], cert_row).optional()?;
    row.map(CertRow::into_record).transpose()
}

/// Takes the next certificate number from the counter, inside the current transaction.
fn take_id(c: &Connection, n: u32) -> Result<u64, StoreError> {
    let next: i64 = c
        .prepare_cached("UPDATE ca_serials SET next_id = next_id + ?1 RETURNING next_id")?
        .query_row(params![i64::from(n)], |r| r.get(0))?;
    reserved_first(next, n)
}

fn cert_row(r: &Row<'_>) -> rusqlite::Result<CertRow> {
    Ok(CertRow {
        serial: r.get(0)?,
        fingerprint: r.get(1)?,
        user_id: r.get(2)?,
        device_id: r.get(3)?,
        issuer_generation: r.get(4)?,
        der: r.get(5)?,
        not_before: r.get(6)?,
        not_after: r.get(7)?,
        issued_at: r.get(8)?,
        status: r.get(9)?,
        status_at: r.get(10)?,
        revocation_reason: r.get(11)?,
        superseded_by: r.get(12)?,
        replaces: r.get(13)?,
    })
}

fn certs(c: &Connection, where_sql: &str, key: &[u8]) -> Result<Vec<CertificateRecord>, StoreError> {
    let sql = format!("SELECT {CERT_COLUMNS} FROM ca_certificates WHERE {where_sql}");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![key], cert_row)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(CertRow::into_record).collect()
}

/// Sorts a user's or device's certificates oldest first (issued_at, then serial), in Rust: with an
/// `ORDER BY` SQLite re-prepares the statement after every write to the database (measured: each
/// `certificates_for_device` of an issuance paid a full parse and plan), and these lists are short.
fn oldest_first(mut v: Vec<CertificateRecord>) -> Vec<CertificateRecord> {
    v.sort_unstable_by_key(|r| (r.issued_at, r.serial));
    v
}

/// The next numbers of the usage record, taken inside one write job: `ca_usage_seq` is read once
/// ([`Seqs::load`]) and written back once ([`Seqs::save`]). Events appended to `ca_usage` and issuance
/// events kept in their certificate's row (migration 6) share this one increasing sequence.
struct Seqs {
    next: i64,
    loaded: i64,
}

impl Seqs {
    fn load(c: &Connection) -> Result<Self, StoreError> {
        let next: i64 = c.prepare_cached("SELECT next_seq FROM ca_usage_seq")?.query_row([], |r| r.get(0))?;
        Ok(Seqs { next, loaded: next })
    }

    fn take(&mut self) -> i64 {
        let seq = self.next;
        self.next += 1;
        seq
    }

    fn save(self, c: &Connection) -> Result<(), StoreError> {
        if self.next != self.loaded {
            c.prepare_cached("UPDATE ca_usage_seq SET next_seq = ?1")?.execute(params![self.next])?;
        }
        Ok(())
    }
}

/// Appends one event to `ca_usage` ([`insert_event`]).
const INSERT_EVENT_SQL: &str =
    "INSERT INTO ca_usage (seq, at, kind, serial, user_id, failure, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Appends `e` to `ca_usage` with `insert` ([`INSERT_EVENT_SQL`]), numbered from `seqs`; answers its `seq`.
fn insert_event(insert: &mut rusqlite::Statement<'_>, seqs: &mut Seqs, e: &UsageEvent) -> Result<i64, StoreError> {
    let seq = seqs.take();
    insert.execute(params![
        seq,
        ts_to_sql(e.at),
        e.kind.as_str(),
        e.serial.map(CertSerial::to_bytes),
        e.user.map(UserId::to_bytes),
        e.failure,
        e.detail,
    ])?;
    Ok(seq)
}

/// Appends `events` in a job of their own (numbers loaded and saved around them; one statement for all).
fn insert_usage<'e>(c: &Connection, events: impl IntoIterator<Item = &'e UsageEvent>) -> Result<(), StoreError> {
    let mut events = events.into_iter().peekable();
    if events.peek().is_none() {
        return Ok(());
    }
    let mut seqs = Seqs::load(c)?;
    let mut insert = c.prepare_cached(INSERT_EVENT_SQL)?;
    for e in events {
        insert_event(&mut insert, &mut seqs, e)?;
    }
    seqs.save(c)
}

/// The last `limit` usage entries `sql` selects for `key` ([`usage_of_user_sql`] or
/// [`usage_of_certificate_sql`], `$n` placeholders; `$3` the certificate's row number), oldest first.
fn usage(c: &Connection, sql: &str, key: &[u8], limit: u32, row: Option<i64>) -> Result<Vec<UsageRecord>, StoreError> {
    let sql = sql.replace('$', "?");
    let mut stmt = c.prepare_cached(&sql)?;
    let row_of = |r: &Row<'_>| {
        Ok(UsageRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            kind: r.get(2)?,
            serial: r.get(3)?,
            user_id: r.get(4)?,
            failure: r.get(5)?,
            detail: r.get(6)?,
        })
    };
    let mut rows = match row {
        Some(id) => stmt.query_map(params![key, limit_sql(limit), id], row_of)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map(params![key, limit_sql(limit)], row_of)?.collect::<Result<Vec<_>, _>>()?,
    };
    rows.reverse();
    rows.into_iter().map(UsageRow::into_record).collect()
}

/// The statements every issuance of a batch runs, taken from the connection's statement cache once per
/// batch instead of once per use (each look-up hashes the whole SQL text and moves the statement out of
/// the cache and back).
struct IssueStatements<'c> {
    /// The device's certificates ([`DEVICE_CERT_COLUMNS`]).
    device: rusqlite::CachedStatement<'c>,
    /// Whether a row holds the serial as a legacy serial.
    legacy_taken: rusqlite::CachedStatement<'c>,
    /// The certificate's row.
    insert: rusqlite::CachedStatement<'c>,
}

impl<'c> IssueStatements<'c> {
    fn prepare(c: &'c Connection) -> Result<Self, StoreError> {
        static DEVICE: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {DEVICE_CERT_COLUMNS} FROM ca_certificates WHERE device_id = ?1"));
        static INSERT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO ca_certificates ({CERT_COLUMNS}, issued_event, id, legacy_serial, issued_kind, \
                 issued_detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            )
        });
        Ok(IssueStatements {
            device: c.prepare_cached(&DEVICE)?,
            legacy_taken: c.prepare_cached("SELECT 1 FROM ca_certificates WHERE legacy_serial = ?1")?,
            insert: c.prepare_cached(&INSERT)?,
        })
    }

    /// The device's certificates, for the plan of an issuance ([`NewCertificate::resolve`]).
    fn device_certs(&mut self, new: &NewCertificate) -> Result<Vec<DeviceCert>, StoreError> {
        let mut rows = self.device.query(params![new.record.device.to_bytes().as_slice()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let serial = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            let user = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            let status = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
            out.push(device_cert(serial, user, status, r.get(3)?, r.get(4)?)?);
        }
        Ok(out)
    }
}

/// Writes an issuance whose plan was resolved: the status changes, the record, the usage events. Every
/// condition was checked on rows read in this transaction; what can still fail here is a unique
/// constraint (a number taken twice: two stores handing out one block) or the database itself.
fn write_resolved(
    c: &Connection,
    st: &mut IssueStatements<'_>,
    cell: &OnceLock<SerialCipher>,
    seqs: &mut Seqs,
    new: &NewCertificate,
) -> Result<(), StoreError> {
    let at = ts_to_sql(new.record.issued_at);
    let by = new.record.serial.to_bytes().to_vec();
    for s in &new.supersede {
        let n = c
            .prepare_cached(
                "UPDATE ca_certificates SET status = 'superseded', status_at = ?1, superseded_by = ?2 \
                 WHERE id = ?3 AND status = 'active'",
            )?
            .execute(params![at, by, locate(c, cell, *s)?])?;
        if n != 1 {
            return Err(conflict(format!("certificate {s} is no longer active")));
        }
    }
    for s in &new.revoke {
        let n = c
            .prepare_cached(
                "UPDATE ca_certificates SET status = 'revoked', status_at = ?1, revocation_reason = ?2 \
                 WHERE id = ?3 AND status <> 'revoked'",
            )?
            .execute(params![at, new.revoke_reason.as_str(), locate(c, cell, *s)?])?;
        if n != 1 {
            return Err(conflict(format!("certificate {s} was revoked concurrently")));
        }
    }
    // The row's number: the serial's own, or (a serial the key did not make) the next from the counter,
    // the serial then indexed in `legacy_serial`. Either way no other certificate may hold the serial.
    let r = &new.record;
    let key = cipher(c, cell)?;
    let numbered = new.id.filter(|id| key.map(|k| k.id(r.serial)) == Some(*id));
    let taken = match numbered {
        Some(_) => st.legacy_taken.exists(params![r.serial.to_bytes().as_slice()])?,
        None => locate(c, cell, r.serial)?.is_some(),
    };
    if taken {
        return Err(conflict("the certificate's serial is taken"));
    }
    let id = match numbered {
        Some(id) => id,
        None => take_id(c, 1)?,
    };
    let id = i64::try_from(id).map_err(|_| StoreError::corrupt("a certificate number is out of range"))?;
    let legacy = numbered.is_none().then(|| r.serial.to_bytes());
    // The events, numbered in order. The certificate's issuance event is kept in its row when the row
    // says all of it (migration 6), else appended and linked from the row by its `seq`.
    let linked = issuance_event(&new.events, r.serial);
    let in_row = linked.filter(|&i| kept_in_row(&new.events[i], r));
    let mut issued_event = None;
    for (i, e) in new.events.iter().enumerate() {
        let seq = if Some(i) == in_row {
            seqs.take()
        } else {
            insert_event(&mut *c.prepare_cached(INSERT_EVENT_SQL)?, seqs, e)?
        };
        if Some(i) == linked {
            issued_event = Some(seq);
        }
    }
    let (issued_kind, issued_detail) = in_row.map(|i| (new.events[i].kind.as_str(), &new.events[i].detail)).unzip();
    // Bound from the record itself (no row copy: the DER is the largest value of an issuance).
    let (status, status_at, reason, by) = status_columns(r.status);
    st.insert
        .execute(params![
            r.serial.to_bytes(),
            r.fingerprint.to_bytes(),
            r.user.to_bytes(),
            r.device.to_bytes(),
            i64::from(r.issuer_generation),
            r.der,
            ts_to_sql(r.not_before),
            ts_to_sql(r.not_after),
            ts_to_sql(r.issued_at),
            status,
            status_at,
            reason,
            by,
            r.replaces.map(CertSerial::to_bytes),
            issued_event,
            id,
            legacy,
            issued_kind,
            issued_detail
        ])
        .map_err(|e| {
            let e = StoreError::from(e);
            if e.kind() == ErrorKind::Conflict { conflict("the certificate's serial is taken") } else { e }
        })?;
    Ok(())
}

/// Several issuances inside the writer's transaction, in order. Each reads its device's certificates
/// and resolves its plan first (reads only), and is written only when nothing refuses it, so a refused
/// one leaves no trace and needs no savepoint of its own (on a file database every savepoint copies each
/// page it touches to a temporary sub-journal file first: measured, 17% of the CPU of a batch of
/// issuances). A write that fails after its plan was resolved fails the whole job, which the store rolls
/// back; the caller may then retry the issuances one by one.
fn write_new_certificates(
    c: &Connection,
    cell: &OnceLock<SerialCipher>,
    news: Vec<NewCertificate>,
) -> Result<Vec<Result<IssueEffects, CaError>>, StoreError> {
    let mut out = Vec::with_capacity(news.len());
    let mut seqs = Seqs::load(c)?;
    let mut st = IssueStatements::prepare(c)?;
    for mut new in news {
        let existing = st.device_certs(&new)?;
        match new.resolve(&existing) {
            Err(refused) => out.push(Err(refused)),
            Ok(effects) => {
                write_resolved(c, &mut st, cell, &mut seqs, &new)?;
                out.push(Ok(effects));
            }
        }
    }
    seqs.save(c)?;
    Ok(out)
}

/// One batch of nonce claims inside the writer's transaction: statuses re-read, nonces inserted, the
/// accepted orders' usage events written.
fn accept_nonces(
    c: &Connection,
    cell: &OnceLock<SerialCipher>,
    claims: &[NonceClaim],
) -> Result<Vec<NonceOutcome>, StoreError> {
    static STATUS_SQL: LazyLock<String> = LazyLock::new(|| by_serial_sql(STATUS_COLUMNS));
    let mut statuses: HashMap<CertSerial, Option<CertStatus>> = HashMap::new();
    let mut status_stmt = c.prepare_cached(&STATUS_SQL)?;
    let mut insert = c.prepare_cached(
        "INSERT INTO ca_order_nonces (user_id, nonce, signed_at, serial) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    let mut out = Vec::with_capacity(claims.len());
    let mut accepted = Vec::new();
    for claim in claims {
        let status = match statuses.get(&claim.serial) {
            Some(s) => *s,
            None => {
                let (id, key) = serial_params(c, cell, claim.serial)?;
                let row = status_stmt
                    .query_row(params![id, key.as_slice()], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<Vec<u8>>>(3)?,
                        ))
                    })
                    .optional()?;
                let s = row
                    .map(|(s, at, reason, by)| status_from_sql(&s, at, reason.as_deref(), by.as_deref()))
                    .transpose()?;
                statuses.insert(claim.serial, s);
                s
            }
        };
        if let Some(refused) = NonceOutcome::refusal(claim, status) {
            out.push(refused);
            continue;
        }
        let n = insert.execute(params![
            claim.user.to_bytes().as_slice(),
            claim.nonce.0.as_slice(),
            ts_to_sql(claim.signed_at),
            claim.serial.to_bytes().as_slice()
        ])?;
        if n == 1 {
            accepted.push(&claim.event);
            out.push(NonceOutcome::Accepted);
        } else {
            out.push(NonceOutcome::Replayed);
        }
    }
    insert_usage(c, accepted)?;
    Ok(out)
}

impl CaStore for SqliteCaStore {
    async fn migrate(&self) -> Result<(), CaError> {
        Ok(self.db.migrate(MIGRATIONS).await?)
    }

    async fn authorities(&self) -> Result<Vec<AuthorityRow>, CaError> {
        let rows = self
            .db
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT kind, generation, cert_der, key_handle, retired, created_at, not_after FROM ca_authorities \
                     ORDER BY kind DESC, generation",
                )?;
                let raw = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, Vec<u8>>(3)?,
                            r.get::<_, bool>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                raw.into_iter()
                    .map(|(kind, generation, cert_der, handle, retired, created_at, not_after)| {
                        Ok(AuthorityRow {
                            kind: AuthorityKind::from_name(&kind)?,
                            generation: u32::try_from(generation)
                                .map_err(|_| StoreError::corrupt("authority generation out of range"))?,
                            cert_der,
                            key_handle: KeyHandle(handle),
                            retired,
                            created_at: qianbao_store::sql::ts_from_sql(created_at)?,
                            not_after: qianbao_store::sql::ts_from_sql(not_after)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        Ok(rows)
    }

    async fn insert_authorities(&self, rows: Vec<AuthorityRow>, retire_issuing: Option<u32>) -> Result<(), CaError> {
        self.db
            .write(move |c| {
                if let Some(g) = retire_issuing {
                    let n = c.execute(
                        "UPDATE ca_authorities SET retired = 1 WHERE kind = 'issuing' AND generation = ?1 AND retired = 0",
                        params![i64::from(g)],
                    )?;
                    if n != 1 {
                        return Err(conflict(format!("issuing CA G{g} is not the current one")));
                    }
                }
                for r in &rows {
                    c.execute(
                        "INSERT INTO ca_authorities (kind, generation, cert_der, key_handle, retired, created_at, not_after) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            r.kind.as_str(),
                            i64::from(r.generation),
                            r.cert_der,
                            r.key_handle.0,
                            r.retired,
                            ts_to_sql(r.created_at),
                            ts_to_sql(r.not_after)
                        ],
                    )?;
                }
                Ok(())
            })
            .await
            .map_err(map_conflict)
    }

    async fn insert_certificates(
        &self,
        news: Vec<NewCertificate>,
    ) -> Result<Vec<Result<IssueEffects, CaError>>, CaError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let cell = self.cipher.clone();
        self.db.write(move |c| write_new_certificates(c, &cell, news)).await.map_err(map_conflict)
    }

    async fn serial_key(&self, candidate: [u8; 16]) -> Result<[u8; 16], CaError> {
        let key = self
            .db
            .write(move |c| {
                let key: Option<Vec<u8>> = c
                    .prepare_cached("UPDATE ca_serials SET serial_key = coalesce(serial_key, ?1) RETURNING serial_key")?
                    .query_row(params![candidate.as_slice()], |r| r.get(0))?;
                serial_key_from_sql(key)
            })
            .await?;
        Ok(key)
    }

    async fn reserve_certificate_ids(&self, n: u32) -> Result<u64, CaError> {
        Ok(self.db.write(move |c| take_id(c, n)).await?)
    }

    async fn revoke(
        &self,
        serial: CertSerial,
        reason: RevocationReason,
        at: Timestamp,
        event: UsageEvent,
    ) -> Result<RevokeOutcome, CaError> {
        let cell = self.cipher.clone();
        let out = self
            .db
            .write(move |c| {
                let n = c.execute(
                    "UPDATE ca_certificates SET status = 'revoked', status_at = ?1, revocation_reason = ?2 \
                     WHERE id = ?3 AND status <> 'revoked'",
                    params![ts_to_sql(at), reason.as_str(), locate(c, &cell, serial)?],
                )?;
                let record = cert_by_serial(c, &cell, serial)?;
                match (n, record) {
                    (_, None) => Ok(RevokeOutcome::NotFound),
                    (1, Some(r)) => {
                        insert_usage(c, [&event])?;
                        Ok(RevokeOutcome::Revoked(r))
                    }
                    (_, Some(r)) => Ok(RevokeOutcome::AlreadyRevoked(r)),
                }
            })
            .await?;
        Ok(out)
    }

    async fn certificate(&self, serial: CertSerial) -> Result<Option<CertificateRecord>, CaError> {
        let cell = self.cipher.clone();
        Ok(self.db.read(move |c| cert_by_serial(c, &cell, serial)).await?)
    }

    async fn certificates_for_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, CaError> {
        let key = user.to_bytes();
        Ok(self.db.read(move |c| certs(c, "user_id = ?1", &key).map(oldest_first)).await?)
    }

    async fn certificates_for_device(&self, device: DeviceId) -> Result<Vec<CertificateRecord>, CaError> {
        let key = device.to_bytes();
        Ok(self.db.read(move |c| certs(c, "device_id = ?1", &key).map(oldest_first)).await?)
    }

    async fn inactive_certificates(&self, at: Timestamp) -> Result<Vec<CertificateRecord>, CaError> {
        let t = ts_to_sql(at);
        Ok(self
            .db
            .read(move |c| {
                let sql = format!(
                    "SELECT {CERT_COLUMNS} FROM ca_certificates WHERE status <> 'active' AND not_after > ?1 ORDER BY serial"
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map(params![t], cert_row)?.collect::<Result<Vec<_>, _>>()?;
                rows.into_iter().map(CertRow::into_record).collect::<Result<Vec<_>, _>>()
            })
            .await?)
    }

    async fn next_crl_number(&self, generation: u32) -> Result<u64, CaError> {
        let n: i64 = self
            .db
            .write(move |c| {
                Ok(c.query_row(
                    "INSERT INTO ca_crl_numbers (generation, last_number) VALUES (?1, 1) \
                     ON CONFLICT (generation) DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
                    params![i64::from(generation)],
                    |r| r.get(0),
                )?)
            })
            .await?;
        Ok(qianbao_store::sql::u64_from_sql(n)?)
    }

    async fn accept_nonces(&self, claims: Vec<NonceClaim>) -> Result<Vec<NonceOutcome>, CaError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let cell = self.cipher.clone();
        Ok(self.db.write(move |c| accept_nonces(c, &cell, &claims)).await?)
    }

    async fn prune_nonces(&self, before: Timestamp) -> Result<u64, CaError> {
        let t = ts_to_sql(before);
        let n = self
            .db
            .write(move |c| Ok(c.execute("DELETE FROM ca_order_nonces WHERE signed_at < ?1", params![t])?))
            .await?;
        Ok(n as u64)
    }

    async fn append_usage(&self, events: Vec<UsageEvent>) -> Result<(), CaError> {
        if events.is_empty() {
            return Ok(());
        }
        check_appended(&events)?;
        Ok(self.db.write(move |c| insert_usage(c, &events)).await?)
    }

    async fn usage_for_certificate(&self, serial: CertSerial, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        static SQL: LazyLock<String> = LazyLock::new(|| usage_of_certificate_sql("c.id = $3", true));
        let cell = self.cipher.clone();
        Ok(self
            .db
            .read(move |c| {
                let id = locate(c, &cell, serial)?.unwrap_or(-1);
                usage(c, &SQL, &serial.to_bytes(), limit, Some(id))
            })
            .await?)
    }

    async fn usage_for_user(&self, user: UserId, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        let key = user.to_bytes();
        static SQL: LazyLock<String> = LazyLock::new(|| usage_of_user_sql(true));
        Ok(self.db.read(move |c| usage(c, &SQL, &key, limit, None)).await?)
    }
}
