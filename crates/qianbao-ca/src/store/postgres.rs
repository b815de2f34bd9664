//! The PostgreSQL backend of [`CaStore`].

use std::collections::{HashMap, HashSet};

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::PgDb;
use qianbao_store::drivers::deadpool_postgres::GenericClient;
use qianbao_store::drivers::tokio_postgres::Row;
use qianbao_store::sql::{ts_from_sql, ts_to_sql};
use qianbao_store::{ErrorKind, StoreError};

use super::{
    AuthorityKind, AuthorityRow, CERT_COLUMNS, CaStore, CertRow, DEVICE_CERT_COLUMNS, DeviceCert, IssueEffects,
    MIGRATIONS, NewCertificate, NonceClaim, NonceOutcome, RevokeOutcome, STATUS_COLUMNS, UsageRow, check_appended,
    conflict, device_cert, issuance_event, limit_sql, map_conflict, reserved_first, serial_key_from_sql,
    status_from_sql, usage_of_certificate_sql, usage_of_user_sql,
};
use crate::CaError;
use crate::keys::KeyHandle;
use crate::record::{CertSerial, CertificateRecord, RevocationReason, UsageEvent, UsageRecord};

/// [`CaStore`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCaStore {
    db: PgDb,
}

impl PgCaStore {
    /// A store over `db` (call [`CaStore::migrate`] before use, or open through [`super::CaDb`]).
    pub fn new(db: PgDb) -> Self {
        PgCaStore { db }
    }
}

fn cert_row(r: &Row) -> CertRow {
    CertRow {
        serial: r.get(0),
        fingerprint: r.get(1),
        user_id: r.get(2),
        device_id: r.get(3),
        issuer_generation: i64::from(r.get::<_, i32>(4)),
        der: r.get(5),
        not_before: r.get(6),
        not_after: r.get(7),
        issued_at: r.get(8),
        status: r.get(9),
        status_at: r.get(10),
        revocation_reason: r.get(11),
        superseded_by: r.get(12),
        replaces: r.get(13),
    }
}

fn records(rows: Vec<Row>) -> Result<Vec<CertificateRecord>, StoreError> {
    rows.iter().map(|r| cert_row(r).into_record()).collect()
}

/// Appends `events`; answers the `seq` of each, in order.
async fn insert_usage(c: &impl GenericClient, events: &[UsageEvent]) -> Result<Vec<i64>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut at = Vec::with_capacity(events.len());
    let mut kind = Vec::with_capacity(events.len());
    let mut serial = Vec::with_capacity(events.len());
    let mut user = Vec::with_capacity(events.len());
    let mut failure = Vec::with_capacity(events.len());
    let mut detail = Vec::with_capacity(events.len());
    for e in events {
        at.push(ts_to_sql(e.at));
        kind.push(e.kind.as_str());
        serial.push(e.serial.map(|s| s.to_bytes().to_vec()));
        user.push(e.user.map(|u| u.to_bytes().to_vec()));
        failure.push(e.failure.as_deref());
        detail.push(e.detail.as_str());
    }
    // Identity values are drawn in the SELECT's order (ORDER BY n), so sorting the returned ones gives
    // each event's seq in order.
    let rows = c
        .query(
            "INSERT INTO ca_usage (at, kind, serial, user_id, failure, detail) \
             SELECT at, kind, serial, user_id, failure, detail FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bytea[], $5::text[], $6::text[]) \
             WITH ORDINALITY AS t(at, kind, serial, user_id, failure, detail, n) ORDER BY n RETURNING seq",
            &[&at, &kind, &serial, &user, &failure, &detail],
        )
        .await?;
    let mut seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    seqs.sort_unstable();
    if seqs.len() != events.len() {
        return Err(StoreError::corrupt("the usage insert answered another number of rows"));
    }
    Ok(seqs)
}

/// The last `limit` usage entries `sql` selects for `key` ([`usage_of_user_sql`] or
/// [`usage_of_certificate_sql`]), oldest first.
async fn usage(db: &PgDb, sql: &str, key: Vec<u8>, limit: u32) -> Result<Vec<UsageRecord>, StoreError> {
    let client = db.client().await?;
    let rows = client.query(sql, &[&key, &limit_sql(limit)]).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            UsageRow {
                seq: r.get(0),
                at: r.get(1),
                kind: r.get(2),
                serial: r.get(3),
                user_id: r.get(4),
                failure: r.get(5),
                detail: r.get(6),
            }
            .into_record()
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

/// The device's certificates, for the plan of an issuance ([`NewCertificate::resolve`]).
async fn device_certs(c: &impl GenericClient, new: &NewCertificate) -> Result<Vec<DeviceCert>, StoreError> {
    let rows = c
        .query(
            &format!("SELECT {DEVICE_CERT_COLUMNS} FROM ca_certificates WHERE device_id = $1"),
            &[&new.record.device.to_bytes().as_slice()],
        )
        .await?;
    rows.iter()
        .map(|r| device_cert(r.get::<_, &[u8]>(0), r.get::<_, &[u8]>(1), r.get::<_, &str>(2), r.get(3), r.get(4)))
        .collect()
}

/// Writes an issuance whose plan was resolved (see the SQLite backend's `write_resolved`).
async fn write_resolved(c: &impl GenericClient, new: &NewCertificate) -> Result<(), StoreError> {
    let at = ts_to_sql(new.record.issued_at);
    let by = new.record.serial.to_bytes().to_vec();
    for s in &new.supersede {
        let n = c
            .execute(
                "UPDATE ca_certificates SET status = 'superseded', status_at = $1, superseded_by = $2 \
                 WHERE serial = $3 AND status = 'active'",
                &[&at, &by, &s.to_bytes().to_vec()],
            )
            .await?;
        if n != 1 {
            return Err(conflict(format!("certificate {s} is no longer active")));
        }
    }
    for s in &new.revoke {
        let n = c
            .execute(
                "UPDATE ca_certificates SET status = 'revoked', status_at = $1, revocation_reason = $2 \
                 WHERE serial = $3 AND status <> 'revoked'",
                &[&at, &new.revoke_reason.as_str(), &s.to_bytes().to_vec()],
            )
            .await?;
        if n != 1 {
            return Err(conflict(format!("certificate {s} was revoked concurrently")));
        }
    }
    // The events first: the certificate row links its issuance event by `seq`.
    let seqs = insert_usage(c, &new.events).await?;
    let issued_event = issuance_event(&new.events, new.record.serial).map(|i| seqs[i]);
    let r = CertRow::from_record(&new.record);
    // The number is recorded only: PostgreSQL finds certificates through its index by serial.
    let id = new
        .id
        .map(i64::try_from)
        .transpose()
        .map_err(|_| StoreError::corrupt("a certificate number is out of range"))?;
    let generation = i32::try_from(r.issuer_generation).map_err(|_| StoreError::corrupt("generation out of range"))?;
    c.execute(
        &format!(
            "INSERT INTO ca_certificates ({CERT_COLUMNS}, issued_event, id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ),
        &[
            &r.serial,
            &r.fingerprint,
            &r.user_id,
            &r.device_id,
            &generation,
            &r.der,
            &r.not_before,
            &r.not_after,
            &r.issued_at,
            &r.status,
            &r.status_at,
            &r.revocation_reason,
            &r.superseded_by,
            &r.replaces,
            &issued_event,
            &id,
        ],
    )
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if e.kind() == ErrorKind::Conflict {
            conflict("the device already has an active certificate, or the serial is taken")
        } else {
            e
        }
    })?;
    Ok(())
}

/// One batch of nonce claims in one transaction, set-based: the certificates' rows read `FOR SHARE` (a
/// concurrent revocation either commits first and is seen, or waits for this batch), the new nonces
/// inserted in (user, nonce) order with `unnest` (so two batches never wait on each other in a cycle),
/// and the accepted orders' usage events.
async fn accept_nonces(c: &impl GenericClient, claims: &[NonceClaim]) -> Result<Vec<NonceOutcome>, StoreError> {
    let mut serials: Vec<Vec<u8>> = claims.iter().map(|c| c.serial.to_bytes().to_vec()).collect();
    serials.sort();
    serials.dedup();
    let rows = c
        .query(
            &format!(
                "SELECT serial, {STATUS_COLUMNS} FROM ca_certificates WHERE serial = ANY($1) ORDER BY serial FOR SHARE"
            ),
            &[&serials],
        )
        .await?;
    let mut statuses = HashMap::new();
    for r in &rows {
        let serial: Vec<u8> = r.get(0);
        let status: String = r.get(1);
        let reason: Option<String> = r.get(3);
        let by: Option<Vec<u8>> = r.get(4);
        statuses.insert(serial, status_from_sql(&status, r.get(2), reason.as_deref(), by.as_deref())?);
    }
    let mut out: Vec<Option<NonceOutcome>> = Vec::with_capacity(claims.len());
    let mut candidates: Vec<usize> = Vec::new();
    let mut keys = HashSet::new();
    for (i, claim) in claims.iter().enumerate() {
        let status = statuses.get(claim.serial.to_bytes().as_slice()).copied();
        if let Some(refused) = NonceOutcome::refusal(claim, status) {
            out.push(Some(refused));
        } else if !keys.insert((claim.user, claim.nonce)) {
            out.push(Some(NonceOutcome::Replayed)); // the same nonce twice in one batch
        } else {
            out.push(None);
            candidates.push(i);
        }
    }
    candidates.sort_by_key(|&i| (claims[i].user.to_bytes(), claims[i].nonce.0));
    let users: Vec<Vec<u8>> = candidates.iter().map(|&i| claims[i].user.to_bytes().to_vec()).collect();
    let nonces: Vec<Vec<u8>> = candidates.iter().map(|&i| claims[i].nonce.0.to_vec()).collect();
    let signed: Vec<i64> = candidates.iter().map(|&i| ts_to_sql(claims[i].signed_at)).collect();
    let by: Vec<Vec<u8>> = candidates.iter().map(|&i| claims[i].serial.to_bytes().to_vec()).collect();
    let inserted = c
        .query(
            "INSERT INTO ca_order_nonces (user_id, nonce, signed_at, serial) \
             SELECT u, n, s, c FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bytea[]) WITH ORDINALITY AS t(u, n, s, c, o) \
             ORDER BY o ON CONFLICT DO NOTHING RETURNING user_id, nonce",
            &[&users, &nonces, &signed, &by],
        )
        .await?;
    let inserted: HashSet<(Vec<u8>, Vec<u8>)> = inserted.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut events = Vec::new();
    for &i in &candidates {
        let key = (claims[i].user.to_bytes().to_vec(), claims[i].nonce.0.to_vec());
        out[i] = Some(if inserted.contains(&key) {
            events.push(claims[i].event.clone());
            NonceOutcome::Accepted
        } else {
            NonceOutcome::Replayed
        });
    }
    insert_usage(c, &events).await?;
    out.into_iter().map(|o| o.ok_or_else(|| StoreError::corrupt("a nonce claim was left undecided"))).collect()
}

impl CaStore for PgCaStore {
    async fn migrate(&self) -> Result<(), CaError> {
        Ok(self.db.migrate(MIGRATIONS).await?)
    }

    async fn authorities(&self) -> Result<Vec<AuthorityRow>, CaError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                "SELECT kind, generation, cert_der, key_handle, retired, created_at, not_after FROM ca_authorities \
                 ORDER BY kind DESC, generation",
                &[],
            )
            .await
            .map_err(StoreError::from)?;
        let out = rows
            .iter()
            .map(|r| {
                Ok(AuthorityRow {
                    kind: AuthorityKind::from_name(r.get(0))?,
                    generation: u32::try_from(r.get::<_, i32>(1))
                        .map_err(|_| StoreError::corrupt("authority generation out of range"))?,
                    cert_der: r.get(2),
                    key_handle: KeyHandle(r.get(3)),
                    retired: r.get(4),
                    created_at: ts_from_sql(r.get(5))?,
                    not_after: ts_from_sql(r.get(6))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(out)
    }

    async fn insert_authorities(&self, rows: Vec<AuthorityRow>, retire_issuing: Option<u32>) -> Result<(), CaError> {
        let run = async {
            let mut client = self.db.client().await?;
            let tx = client.transaction().await?;
            if let Some(g) = retire_issuing {
                let g = i32::try_from(g).map_err(|_| StoreError::corrupt("generation out of range"))?;
                let n = tx
                    .execute(
                        "UPDATE ca_authorities SET retired = TRUE WHERE kind = 'issuing' AND generation = $1 AND NOT retired",
                        &[&g],
                    )
                    .await?;
                if n != 1 {
                    return Err(conflict(format!("issuing CA G{g} is not the current one")));
                }
            }
            for r in &rows {
                let g = i32::try_from(r.generation).map_err(|_| StoreError::corrupt("generation out of range"))?;
                tx.execute(
                    "INSERT INTO ca_authorities (kind, generation, cert_der, key_handle, retired, created_at, not_after) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &r.kind.as_str(),
                        &g,
                        &r.cert_der,
                        &r.key_handle.0,
                        &r.retired,
                        &ts_to_sql(r.created_at),
                        &ts_to_sql(r.not_after),
                    ],
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        run.await.map_err(map_conflict)
    }

    async fn insert_certificates(
        &self,
        news: Vec<NewCertificate>,
    ) -> Result<Vec<Result<IssueEffects, CaError>>, CaError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        // In device order, so two batches inserting for the same devices wait on each other in one
        // direction only (no deadlock on the one-active-per-device index); answers in the caller's order.
        let mut order: Vec<usize> = (0..news.len()).collect();
        order.sort_by_key(|&i| (news[i].record.device, i));
        let mut news: Vec<Option<NewCertificate>> = news.into_iter().map(Some).collect();
        let run = async {
            let mut client = self.db.client().await?;
            let mut tx = client.transaction().await?;
            let mut out: Vec<Option<Result<IssueEffects, CaError>>> = (0..news.len()).map(|_| None).collect();
            for i in order {
                let Some(mut new) = news[i].take() else { continue };
                let existing = device_certs(&tx, &new).await?;
                let effects = match new.resolve(&existing) {
                    Ok(effects) => effects,
                    Err(refused) => {
                        out[i] = Some(Err(refused));
                        continue;
                    }
                };
                // A concurrent transaction can still win a race the plan could not see (it had not
                // committed): its conflict undoes this issuance alone.
                let sp = tx.savepoint("ca_certificate").await?;
                match write_resolved(&sp, &new).await {
                    Ok(()) => {
                        sp.commit().await?;
                        out[i] = Some(Ok(effects));
                    }
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        sp.rollback().await?;
                        out[i] = Some(Err(map_conflict(e)));
                    }
                    Err(e) => return Err(e),
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(
                out.into_iter().map(|r| r.unwrap_or_else(|| Err(CaError::Misuse("unanswered".into())))).collect(),
            )
        };
        run.await.map_err(map_conflict)
    }

    async fn revoke(
        &self,
        serial: CertSerial,
        reason: RevocationReason,
        at: Timestamp,
        event: UsageEvent,
    ) -> Result<RevokeOutcome, CaError> {
        let key = serial.to_bytes().to_vec();
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let n = tx
            .execute(
                "UPDATE ca_certificates SET status = 'revoked', status_at = $1, revocation_reason = $2 \
                 WHERE serial = $3 AND status <> 'revoked'",
                &[&ts_to_sql(at), &reason.as_str(), &key],
            )
            .await
            .map_err(StoreError::from)?;
        let rows = tx
            .query(&format!("SELECT {CERT_COLUMNS} FROM ca_certificates WHERE serial = $1"), &[&key])
            .await
            .map_err(StoreError::from)?;
        let record = records(rows)?.pop();
        let out = match (n, record) {
            (_, None) => RevokeOutcome::NotFound,
            (1, Some(r)) => {
                insert_usage(&tx, std::slice::from_ref(&event)).await?;
                RevokeOutcome::Revoked(r)
            }
            (_, Some(r)) => RevokeOutcome::AlreadyRevoked(r),
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    async fn certificate(&self, serial: CertSerial) -> Result<Option<CertificateRecord>, CaError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                &format!("SELECT {CERT_COLUMNS} FROM ca_certificates WHERE serial = $1"),
                &[&serial.to_bytes().to_vec()],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(records(rows)?.pop())
    }

    async fn certificates_for_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, CaError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                &format!("SELECT {CERT_COLUMNS} FROM ca_certificates WHERE user_id = $1 ORDER BY issued_at, serial"),
                &[&user.to_bytes().to_vec()],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(records(rows)?)
    }

    async fn certificates_for_device(&self, device: DeviceId) -> Result<Vec<CertificateRecord>, CaError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                &format!("SELECT {CERT_COLUMNS} FROM ca_certificates WHERE device_id = $1 ORDER BY issued_at, serial"),
                &[&device.to_bytes().to_vec()],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(records(rows)?)
    }

    async fn inactive_certificates(&self, at: Timestamp) -> Result<Vec<CertificateRecord>, CaError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CERT_COLUMNS} FROM ca_certificates WHERE status <> 'active' AND not_after > $1 ORDER BY serial"
                ),
                &[&ts_to_sql(at)],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(records(rows)?)
    }

    async fn serial_key(&self, candidate: [u8; 16]) -> Result<[u8; 16], CaError> {
        let client = self.db.client().await?;
        let row = client
            .query_one(
                "UPDATE ca_serials SET serial_key = coalesce(serial_key, $1) RETURNING serial_key",
                &[&candidate.as_slice()],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(serial_key_from_sql(row.get(0))?)
    }

    async fn reserve_certificate_ids(&self, n: u32) -> Result<u64, CaError> {
        let client = self.db.client().await?;
        let row = client
            .query_one("UPDATE ca_serials SET next_id = next_id + $1 RETURNING next_id", &[&i64::from(n)])
            .await
            .map_err(StoreError::from)?;
        Ok(reserved_first(row.get(0), n)?)
    }

    async fn next_crl_number(&self, generation: u32) -> Result<u64, CaError> {
        let g = i32::try_from(generation).map_err(|_| StoreError::corrupt("generation out of range"))?;
        let client = self.db.client().await?;
        let row = client
            .query_one(
                "INSERT INTO ca_crl_numbers (generation, last_number) VALUES ($1, 1) \
                 ON CONFLICT (generation) DO UPDATE SET last_number = ca_crl_numbers.last_number + 1 \
                 RETURNING last_number",
                &[&g],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(qianbao_store::sql::u64_from_sql(row.get(0))?)
    }

    async fn accept_nonces(&self, claims: Vec<NonceClaim>) -> Result<Vec<NonceOutcome>, CaError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let out = accept_nonces(&tx, &claims).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    async fn prune_nonces(&self, before: Timestamp) -> Result<u64, CaError> {
        let client = self.db.client().await?;
        let n = client
            .execute("DELETE FROM ca_order_nonces WHERE signed_at < $1", &[&ts_to_sql(before)])
            .await
            .map_err(StoreError::from)?;
        Ok(n)
    }

    async fn append_usage(&self, events: Vec<UsageEvent>) -> Result<(), CaError> {
        check_appended(&events)?;
        let client = self.db.client().await?;
        insert_usage(&client, &events).await?;
        Ok(())
    }

    async fn usage_for_certificate(&self, serial: CertSerial, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| usage_of_certificate_sql("c.serial = $1", false));
        Ok(usage(&self.db, &SQL, serial.to_bytes().to_vec(), limit).await?)
    }

    async fn usage_for_user(&self, user: UserId, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| usage_of_user_sql(false));
        Ok(usage(&self.db, &SQL, user.to_bytes().to_vec(), limit).await?)
    }
}
