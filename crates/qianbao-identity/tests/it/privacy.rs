//! Privacy at rest: after a full registration + real-name + payment-password journey, no password,
//! payment password, ID number, card number, name or phone number is in the database in the clear — not
//! in the SQLite file bytes, not in any column of any table (read back raw or hex-encoded), and the masked
//! forms reveal no more than the mask.

use qianbao_store::drivers::rusqlite;

use super::*;

const PAY: &str = "815926";
const PAY_2: &str = "270419";
const NEW_PASSWORD: &str = "violet harbor seven lanterns";
const PHONE: &str = "13812345678";

/// Runs the journey; returns the secrets that must not appear.
async fn journey(env: &Env) -> Vec<String> {
    let p = phone(PHONE);
    let user = env.verified_user(&p).await;
    env.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
    env.id.change_password(user, &pw(PASSWORD), &pw(NEW_PASSWORD), ctx(1)).await.unwrap();
    let req = card_request(CARD_1, "王小明", PHONE, Some(ID_F), env.now());
    let a = env.id.start_application(user, &req, ctx(1)).await.unwrap();
    env.id.submit_application(a.id, ctx(1)).await.unwrap();
    env.id.review_application(a.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
    env.id.set_payment_password(user, &PaymentPassword::parse(PAY).unwrap(), ctx(1)).await.unwrap();
    env.id.verify_payment_password(user, &PaymentPassword::parse(PAY).unwrap(), ctx(1)).await.unwrap();
    let _ = env.id.verify_payment_password(user, &PaymentPassword::parse("999000").unwrap(), ctx(1)).await;
    let auth = ResetAuthorization { contact: p.clone(), verified_at: env.now() };
    env.id.reset_payment_password(user, &PaymentPassword::parse(PAY_2).unwrap(), &auth, ctx(1)).await.unwrap();
    let stored = env.id.user(user).await.unwrap();
    assert_eq!(stored.real_name.unwrap().id_masked.as_deref(), Some("110105********002X"));
    assert_eq!(env.id.bank_cards(user).await.unwrap()[0].masked, "6222***********0128");
    vec![
        PASSWORD.into(),
        NEW_PASSWORD.into(),
        PAY.into(),
        PAY_2.into(),
        ID_F.into(),
        ID_F.to_lowercase(),
        CARD_1.into(),
        "6222 0212 3456 7890 128".into(),
        PHONE.into(),
        "王小明".into(),
        // More than the masks show: a longer head or tail of the ID and card numbers.
        ID_F[..7].into(),
        ID_F[13..].into(),
        CARD_1[..5].into(),
        CARD_1[CARD_1.len() - 5..].into(),
        "19491231".into(),
    ]
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn assert_absent(haystack: &[u8], secrets: &[String], what: &str) {
    let lower = String::from_utf8_lossy(haystack).to_lowercase();
    for s in secrets {
        let needle = s.as_bytes();
        assert!(!haystack.windows(needle.len()).any(|w| w == needle), "{s:?} found in the clear in {what}");
        assert!(!lower.contains(&hex(s)), "{s:?} found hex-encoded in {what}");
    }
}

fn sqlite_dump(c: &rusqlite::Connection) -> Vec<u8> {
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().filter(|t| t.starts_with("identity_")).count() >= 9, "{tables:?}");
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = c.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        out.extend_from_slice(b);
                        out.extend_from_slice(hex(&String::from_utf8_lossy(b)).as_bytes());
                    }
                    rusqlite::types::ValueRef::Integer(v) => out.extend_from_slice(v.to_string().as_bytes()),
                    _ => {}
                }
                out.push(b'\n');
            }
        }
    }
    out
}

#[tokio::test]
async fn no_secret_or_personal_number_is_stored_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.sqlite");
    let db = Database::open_sqlite(&path).unwrap();
    let env = env_with(db.clone(), fast()).await;
    let secrets = journey(&env).await;
    // Every column of every table.
    let dump = db.as_sqlite().unwrap().read(|c| Ok(sqlite_dump(c))).await.unwrap();
    assert!(dump.len() > 10_000, "the dump is not empty: {} bytes", dump.len());
    assert_absent(&dump, &secrets, "a column");
    // The database files themselves (main file, WAL, shared memory).
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        files.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert_absent(&files, &secrets, "the SQLite files");
    // The masks are there (so the search above can find things).
    let text = String::from_utf8_lossy(&dump);
    assert!(text.contains("110105********002X") && text.contains("6222***********0128") && text.contains("王**"));
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn no_secret_in_any_postgres_column_either() {
    qianbao_store::testing::each_backend("identity privacy dump", |db| async move {
        let env = env_with(db.clone(), fast()).await;
        let secrets = journey(&env).await;
        let Some(pg) = db.as_postgres() else { return };
        let client = pg.client().await.unwrap();
        let tables: Vec<String> = client
            .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut dump = Vec::new();
        for t in tables {
            for row in client.query(&format!("SELECT t::text FROM {t} AS t"), &[]).await.unwrap() {
                dump.extend(row.get::<_, String>(0).into_bytes());
                dump.push(b'\n');
            }
        }
        assert!(dump.len() > 3_000, "{} bytes: {}", dump.len(), String::from_utf8_lossy(&dump));
        assert_absent(&dump, &secrets, "a PostgreSQL column");
    })
    .await;
}
