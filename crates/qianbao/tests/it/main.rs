//! Journeys through the facade, on every configured backend.

use qianbao::Wallet;

#[tokio::test]
async fn a_wallet_opens_on_sqlite_file_and_postgres() {
    let dir = tempfile_dir();
    let w = Wallet::builder().sqlite(dir.join("w.sqlite")).build().await.unwrap();
    assert_eq!(w.backend(), qianbao::Backend::Sqlite);
    match qianbao_store_url() {
        Some(url) => {
            let w = Wallet::builder().postgres(url).build().await.unwrap();
            assert_eq!(w.backend(), qianbao::Backend::Postgres);
        }
        None => eprintln!("postgres skipped: no PostgreSQL (QIANBAO_TEST_POSTGRES_URL is not set)"),
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qianbao-it-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn qianbao_store_url() -> Option<String> {
    std::env::var("QIANBAO_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())
}
