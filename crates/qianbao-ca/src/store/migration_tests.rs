//! Data written under the first schema reads back, and keeps every rule, after the later migrations —
//! on each backend.

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::Database;
use qianbao_store::testing::each_backend;

use super::{CaDb, CaStore, CertRow, DevicePlan, MIGRATIONS, NewCertificate, NonceClaim, NonceOutcome};
use crate::CaError;
use crate::order::OrderNonce;
use crate::record::{CertSerial, CertStatus, CertificateRecord, Fingerprint, RevocationReason, UsageEvent, UsageKind};

const T: u64 = 1_800_000_000;

fn record(n: u8, user: u128, device: u128, status: CertStatus) -> CertificateRecord {
    let at = Timestamp::from_unix_secs(T + u64::from(n));
    let der = vec![0x30, 0x03, n, n, n];
    CertificateRecord {
        serial: CertSerial::from_bytes([n; 16]).unwrap(),
        user: UserId::from_u128(user),
        device: DeviceId::from_u128(device),
        fingerprint: Fingerprint::of(&der),
        issuer_generation: 1,
        not_before: at,
        not_after: at.saturating_add(std::time::Duration::from_secs(365 * 86_400)),
        issued_at: at,
        status,
        replaces: None,
        der,
    }
}

/// A bytea / blob literal for the backend.
fn blob(db: &Database, b: &[u8]) -> String {
    let hex = data_encoding::HEXLOWER.encode(b);
    match db.backend() {
        qianbao_store::Backend::Postgres => format!("decode('{hex}', 'hex')"),
        _ => format!("X'{hex}'"),
    }
}

fn opt_blob(db: &Database, b: Option<Vec<u8>>) -> String {
    b.map_or_else(|| "NULL".to_string(), |b| blob(db, &b))
}

fn opt_text(s: Option<&str>) -> String {
    s.map_or_else(|| "NULL".to_string(), |s| format!("'{s}'"))
}

/// The first schema's INSERT of a certificate row (literal values: the same SQL text on both backends).
fn insert_v1_certificate(db: &Database, r: &CertificateRecord) -> String {
    let c = CertRow::from_record(r);
    format!(
        "INSERT INTO ca_certificates (serial, fingerprint, user_id, device_id, issuer_generation, der, not_before, \
         not_after, issued_at, status, status_at, revocation_reason, superseded_by, replaces) VALUES \
         ({}, {}, {}, {}, {}, {}, {}, {}, {}, '{}', {}, {}, {}, {});",
        blob(db, &c.serial),
        blob(db, &c.fingerprint),
        blob(db, &c.user_id),
        blob(db, &c.device_id),
        c.issuer_generation,
        blob(db, &c.der),
        c.not_before,
        c.not_after,
        c.issued_at,
        c.status,
        c.status_at.map_or_else(|| "NULL".to_string(), |t| t.to_string()),
        opt_text(c.revocation_reason.as_deref()),
        opt_blob(db, c.superseded_by),
        opt_blob(db, c.replaces),
    )
}

fn insert_v1_usage(db: &Database, e: &UsageEvent) -> String {
    format!(
        "INSERT INTO ca_usage (at, kind, serial, user_id, failure, detail) VALUES ({}, '{}', {}, {}, {}, '{}');",
        qianbao_store::sql::ts_to_sql(e.at),
        e.kind.as_str(),
        opt_blob(db, e.serial.map(|s| s.to_bytes().to_vec())),
        opt_blob(db, e.user.map(|u| u.to_bytes().to_vec())),
        opt_text(e.failure.as_deref()),
        e.detail,
    )
}

async fn execute(db: &Database, sql: String) {
    match db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(s) => s.write(move |c| Ok(c.execute_batch(&sql)?)).await.unwrap(),
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => p.client().await.unwrap().batch_execute(&sql).await.unwrap(),
        other => panic!("no such backend in this build: {:?}", other.backend()),
    }
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(T + secs)
}

fn revoke_event(r: &CertificateRecord) -> UsageEvent {
    UsageEvent {
        at: at(200),
        kind: UsageKind::Revoked,
        serial: Some(r.serial),
        user: Some(r.user),
        failure: None,
        detail: "revoked".into(),
    }
}

fn event(kind: UsageKind, r: &CertificateRecord, detail: &str) -> UsageEvent {
    UsageEvent {
        at: r.issued_at,
        kind,
        serial: Some(r.serial),
        user: Some(r.user),
        failure: None,
        detail: detail.into(),
    }
}

#[tokio::test]
async fn data_of_the_first_schema_survives_the_migrations() {
    each_backend("ca migrations keep data", |db| async move {
        db.migrate(&MIGRATIONS[..1]).await.unwrap();
        let revoked =
            CertStatus::Revoked { at: Timestamp::from_unix_secs(T + 100), reason: RevocationReason::KeyCompromise };
        let a = record(1, 1, 1, CertStatus::Active);
        let b = record(2, 1, 2, revoked);
        let events = [
            event(UsageKind::Issued, &a, "issue a"),
            event(UsageKind::Issued, &b, "issue b"),
            event(UsageKind::Verified, &a, "verify a"),
            UsageEvent {
                at: b.issued_at,
                kind: UsageKind::Revoked,
                serial: Some(b.serial),
                user: None,
                failure: None,
                detail: "revoke b".into(),
            },
        ];
        let mut sql = insert_v1_certificate(&db, &a) + &insert_v1_certificate(&db, &b);
        let used = format!(
            "INSERT INTO ca_order_nonces (user_id, nonce, signed_at, serial) VALUES ({}, {}, {}, {});",
            blob(&db, &a.user.to_bytes()),
            blob(&db, &[7; 16]),
            qianbao_store::sql::ts_to_sql(a.issued_at),
            blob(&db, &a.serial.to_bytes()),
        );
        sql += &used;
        for e in &events {
            sql += &insert_v1_usage(&db, e);
        }
        execute(&db, sql).await;

        let store = CaDb::open(db.clone()).await.unwrap();
        assert_eq!(store.certificate(a.serial).await.unwrap(), Some(a.clone()));
        assert_eq!(store.certificate(b.serial).await.unwrap(), Some(b.clone()));
        assert_eq!(store.certificates_for_user(a.user).await.unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(store.certificates_for_device(b.device).await.unwrap(), vec![b.clone()]);
        let inactive = store.inactive_certificates(Timestamp::from_unix_secs(T)).await.unwrap();
        assert_eq!(inactive, vec![b.clone()]);
        let details = |v: Vec<crate::record::UsageRecord>| v.into_iter().map(|u| u.event.detail).collect::<Vec<_>>();
        assert_eq!(details(store.usage_for_certificate(a.serial, 10).await.unwrap()), ["issue a", "verify a"]);
        assert_eq!(details(store.usage_for_certificate(a.serial, 1).await.unwrap()), ["verify a"]);
        assert_eq!(details(store.usage_for_certificate(b.serial, 10).await.unwrap()), ["issue b", "revoke b"]);
        assert_eq!(details(store.usage_for_user(a.user, 10).await.unwrap()), ["issue a", "issue b", "verify a"]);

        // A nonce used before the migrations is still used; a new one is accepted once.
        let claim = |nonce: u8| NonceClaim {
            user: a.user,
            nonce: OrderNonce([nonce; 16]),
            signed_at: a.issued_at,
            serial: a.serial,
            at: a.issued_at,
            grace: std::time::Duration::ZERO,
            event: event(UsageKind::OrderSigned, &a, "order"),
        };
        let outcomes = store.accept_nonces(vec![claim(7), claim(8), claim(8)]).await.unwrap();
        assert_eq!(outcomes, [NonceOutcome::Replayed, NonceOutcome::Accepted, NonceOutcome::Replayed]);
        assert_eq!(store.prune_nonces(a.issued_at.saturating_add(std::time::Duration::from_secs(1))).await.unwrap(), 2);

        // The rules still hold on the migrated tables: one active certificate per device, serials unique.
        let mut again = record(3, 1, 1, CertStatus::Active);
        let new = |r: CertificateRecord, plan| NewCertificate {
            record: r,
            id: None,
            plan,
            supersede: vec![],
            revoke: vec![],
            revoke_reason: RevocationReason::Unspecified,
            events: vec![],
        };
        let refused = store.insert_certificate(new(again.clone(), DevicePlan::Given)).await;
        assert!(matches!(refused, Err(CaError::Conflict(_))), "{refused:?}");
        again.serial = a.serial;
        again.device = DeviceId::from_u128(9);
        let refused = store.insert_certificate(new(again, DevicePlan::Issue)).await;
        assert!(matches!(refused, Err(CaError::Conflict(_))), "{refused:?}");
        let fine = record(4, 1, 4, CertStatus::Active);
        let mut issued = new(fine.clone(), DevicePlan::Issue);
        issued.events = vec![event(UsageKind::Issued, &fine, "issue fine")];
        store.insert_certificate(issued).await.unwrap();
        assert_eq!(store.certificate(fine.serial).await.unwrap(), Some(fine.clone()));
        store.append_usage(vec![event(UsageKind::Verified, &fine, "verify fine")]).await.unwrap();
        assert_eq!(details(store.usage_for_certificate(fine.serial, 10).await.unwrap()), ["issue fine", "verify fine"]);
        // An issuance event is written with its certificate only (it would not be found by serial).
        let stray = store.append_usage(vec![event(UsageKind::Renewed, &fine, "stray")]).await;
        assert!(matches!(stray, Err(CaError::Misuse(_))), "{stray:?}");

        // Migration 5: certificates numbered after every row from before, serials the number's under the
        // serial key, found beside the rows from before.
        let key = store.serial_key([9; 16]).await.unwrap();
        assert_eq!(store.serial_key([10; 16]).await.unwrap(), key, "the first key stays");
        let first = store.reserve_certificate_ids(4).await.unwrap();
        // SQLite: rows from before keep their rowid as their number, so new numbers come after them
        // (PostgreSQL numbers only new rows).
        if matches!(db.backend(), qianbao_store::Backend::Sqlite) {
            assert!(first >= 4, "numbers after the rows from before: {first}");
        }
        assert_eq!(store.reserve_certificate_ids(1).await.unwrap(), first + 4);
        let cipher = crate::SerialCipher::new(&key);
        let mut numbered = record(5, 1, 5, CertStatus::Active);
        numbered.serial = cipher.serial(first + 1, [7; 10]).unwrap();
        let mut issued = new(numbered.clone(), DevicePlan::Issue);
        issued.id = Some(first + 1);
        issued.events = vec![event(UsageKind::Issued, &numbered, "issue numbered")];
        store.insert_certificate(issued).await.unwrap();
        store.append_usage(vec![event(UsageKind::Verified, &numbered, "verify numbered")]).await.unwrap();
        assert_eq!(store.certificate(numbered.serial).await.unwrap(), Some(numbered.clone()));
        assert_eq!(store.certificate(a.serial).await.unwrap(), Some(a.clone()));
        assert_eq!(
            store.certificate(cipher.serial(first + 2, [7; 10]).unwrap()).await.unwrap(),
            None,
            "a number never written"
        );
        assert_eq!(
            details(store.usage_for_certificate(numbered.serial, 10).await.unwrap()),
            ["issue numbered", "verify numbered"]
        );
        let revoked =
            store.revoke(numbered.serial, RevocationReason::Superseded, at(200), revoke_event(&numbered)).await;
        assert!(matches!(revoked, Ok(super::RevokeOutcome::Revoked(_))), "{revoked:?}");
        let revoked_old = store.revoke(a.serial, RevocationReason::Superseded, at(200), revoke_event(&a)).await;
        assert!(matches!(revoked_old, Ok(super::RevokeOutcome::Revoked(_))), "{revoked_old:?}");
        // The same number again, or a serial already held by a row from before, is refused.
        let mut twice = record(6, 1, 6, CertStatus::Active);
        twice.serial = numbered.serial;
        let mut again = new(twice, DevicePlan::Issue);
        again.id = Some(first + 1);
        assert!(matches!(store.insert_certificate(again).await, Err(CaError::Conflict(_))));
        let mut old_serial = record(7, 1, 7, CertStatus::Active);
        old_serial.serial = b.serial;
        assert!(matches!(
            store.insert_certificate(new(old_serial, DevicePlan::Issue)).await,
            Err(CaError::Conflict(_))
        ));
    })
    .await;
}

/// The lines of SQLite's query plan for `sql` with `params`.
async fn query_plan(
    db: &Database,
    sql: String,
    params: Vec<qianbao_store::drivers::rusqlite::types::Value>,
) -> Vec<String> {
    use qianbao_store::drivers::rusqlite::params_from_iter;
    db.as_sqlite()
        .unwrap()
        .read(move |c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap()
}

/// SQLite uses the partial usage index by serial for a certificate's usage only when the query repeats
/// its condition word for word: the query plan names the index and scans no table.
#[tokio::test]
async fn the_usage_of_a_certificate_is_read_through_the_index() {
    use qianbao_store::drivers::rusqlite::types::Value;
    let db = Database::open_in_memory().unwrap();
    CaDb::open(db.clone()).await.unwrap();
    let no_table_scan =
        |plan: &[String]| !plan.iter().any(|l| ["SCAN ca_", "SCAN u", "SCAN c"].iter().any(|t| l.starts_with(t)));
    let sql = super::usage_of_certificate_sql("c.id = $3", true).replace('$', "?");
    let plan = query_plan(&db, sql, vec![Value::Blob(vec![1; 16]), Value::Integer(10), Value::Integer(5)]).await;
    assert!(plan.iter().any(|l| l.contains("INDEX ca_usage_serial")), "{plan:?}");
    // Only the at most `limit` rows already found are scanned (`recent`), no table.
    assert!(no_table_scan(&plan), "{plan:?}");
    // A user's usage: through the usage index by user and the certificates' index by user.
    let sql = super::usage_of_user_sql(true).replace('$', "?");
    let plan = query_plan(&db, sql, vec![Value::Blob(vec![1; 16]), Value::Integer(10)]).await;
    assert!(plan.iter().any(|l| l.contains("INDEX ca_usage_user")), "{plan:?}");
    assert!(plan.iter().any(|l| l.contains("INDEX ca_certificates_user")), "{plan:?}");
    assert!(no_table_scan(&plan), "{plan:?}");

    // A certificate is found by its row number, or through the index of serials from before; no scan.
    let plan =
        query_plan(&db, super::sqlite::by_serial_sql("*"), vec![Value::Integer(5), Value::Blob(vec![1; 16])]).await;
    assert!(plan.iter().any(|l| l.contains("INTEGER PRIMARY KEY")), "{plan:?}");
    assert!(plan.iter().any(|l| l.contains("INDEX ca_certificates_legacy_serial")), "{plan:?}");
    assert!(!plan.iter().any(|l| l.starts_with("SCAN")), "{plan:?}");

    // Appending a usage event evaluates the partial index's condition without a temporary table.
    let program = db
        .as_sqlite()
        .unwrap()
        .read(|c| {
            let mut stmt = c.prepare(
                "EXPLAIN INSERT INTO ca_usage (seq, at, kind, serial, user_id, failure, detail) \
                 VALUES (7, 1, 'verified', X'01', NULL, NULL, 'x')",
            )?;
            let ops = stmt.query_map([], |r| r.get::<_, String>(1))?.collect::<Result<Vec<_>, _>>()?;
            Ok(ops)
        })
        .await
        .unwrap();
    assert!(program.iter().any(|op| op == "IdxInsert"), "{program:?}");
    assert!(!program.iter().any(|op| op == "OpenEphemeral"), "{program:?}");
}

/// The number of rows in `ca_usage` (SQLite).
async fn usage_rows(db: &Database) -> i64 {
    db.as_sqlite()
        .unwrap()
        .read(|c| Ok(c.query_row("SELECT count(*) FROM ca_usage", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap()
}

/// SQLite (migration 6): an issuance keeps its event in the certificate's row and writes no `ca_usage`
/// row; the events of a certificate and of a user still come back in one increasing sequence.
#[tokio::test]
async fn an_issuance_event_is_kept_in_its_certificates_row() {
    let db = Database::open_in_memory().unwrap();
    let store = CaDb::open(db.clone()).await.unwrap();
    let issue = |r: &CertificateRecord, e: UsageEvent| NewCertificate {
        record: r.clone(),
        id: None,
        plan: DevicePlan::Issue,
        supersede: vec![],
        revoke: vec![],
        revoke_reason: RevocationReason::Unspecified,
        events: vec![e],
    };
    let (a, b) = (record(1, 1, 1, CertStatus::Active), record(2, 1, 2, CertStatus::Active));
    store.insert_certificate(issue(&a, event(UsageKind::Issued, &a, "issue a"))).await.unwrap();
    assert_eq!(usage_rows(&db).await, 0);
    store.append_usage(vec![event(UsageKind::Verified, &a, "verify a")]).await.unwrap();
    let issued = store.insert_certificates(vec![issue(&b, event(UsageKind::Issued, &b, "issue b"))]).await.unwrap();
    assert!(issued[0].is_ok(), "{issued:?}");
    let verified = vec![event(UsageKind::Verified, &b, "verify b"), event(UsageKind::Verified, &a, "verify a again")];
    store.append_usage(verified).await.unwrap();
    assert_eq!(usage_rows(&db).await, 3, "the two issuance events are in their rows");

    let details = |v: &[crate::record::UsageRecord]| v.iter().map(|u| u.event.detail.clone()).collect::<Vec<_>>();
    let of_user = store.usage_for_user(a.user, 10).await.unwrap();
    assert_eq!(details(&of_user), ["issue a", "verify a", "issue b", "verify b", "verify a again"]);
    assert!(of_user.windows(2).all(|w| w[0].seq < w[1].seq), "{of_user:?}");
    assert_eq!(of_user[0].event, event(UsageKind::Issued, &a, "issue a"), "the row says all of the event");
    assert_eq!(details(&store.usage_for_user(a.user, 2).await.unwrap()), ["verify b", "verify a again"]);
    let of_a = store.usage_for_certificate(a.serial, 10).await.unwrap();
    assert_eq!(details(&of_a), ["issue a", "verify a", "verify a again"]);
    assert_eq!(details(&store.usage_for_certificate(a.serial, 1).await.unwrap()), ["verify a again"]);
    assert_eq!(details(&store.usage_for_certificate(b.serial, 10).await.unwrap()), ["issue b", "verify b"]);

    // An issuance event the row cannot say (another time) is appended and linked, as before.
    let c = record(3, 1, 3, CertStatus::Active);
    let mut late = event(UsageKind::Issued, &c, "issue c");
    late.at = at(50);
    store.insert_certificate(issue(&c, late.clone())).await.unwrap();
    assert_eq!(usage_rows(&db).await, 4);
    let of_c = store.usage_for_certificate(c.serial, 10).await.unwrap();
    assert_eq!(of_c.iter().map(|u| u.event.clone()).collect::<Vec<_>>(), [late]);
    assert!(of_c[0].seq > of_user[4].seq);
}
