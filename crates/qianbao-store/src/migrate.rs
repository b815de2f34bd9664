//! Schema migrations: every crate owns its tables and registers its own ordered migrations, applied
//! once on open and recorded in the `qianbao_schema_migrations` table.

/// One schema change of one component, with its SQL for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The owning component, e.g. `"ledger"`. Versions are numbered per component.
    pub component: &'static str,
    /// 1, 2, 3, … in order, no gaps.
    pub version: u32,
    /// A short name, recorded and checked so a changed migration is noticed.
    pub name: &'static str,
    /// SQL for SQLite (may hold several statements).
    pub sqlite: &'static str,
    /// SQL for PostgreSQL (may hold several statements).
    pub postgres: &'static str,
}

pub(crate) const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS qianbao_schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// Checks that a component's list is well formed: one component, versions 1..=n in order.
pub(crate) fn check_list(migrations: &[Migration]) -> Result<(), crate::StoreError> {
    for (i, m) in migrations.iter().enumerate() {
        let want = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if m.version != want || m.component != migrations[0].component {
            return Err(crate::StoreError::new(
                crate::ErrorKind::Migration,
                format!(
                    "migration list of {:?} is malformed at {:?} v{}: expected one component numbered from 1",
                    migrations[0].component, m.component, m.version
                ),
            ));
        }
    }
    Ok(())
}

/// Decides which migrations still need to run, given the `(version, name)` pairs already recorded.
pub(crate) fn pending<'a>(
    migrations: &'a [Migration],
    applied: &[(u32, String)],
) -> Result<&'a [Migration], crate::StoreError> {
    check_list(migrations)?;
    for (version, name) in applied {
        match migrations.iter().find(|m| m.version == *version) {
            Some(m) if m.name == name => {}
            Some(m) => {
                return Err(crate::StoreError::new(
                    crate::ErrorKind::Migration,
                    format!("{} v{version} was applied as {name:?} but this build calls it {:?}", m.component, m.name),
                ));
            }
            None => {
                return Err(crate::StoreError::new(
                    crate::ErrorKind::Migration,
                    format!(
                        "the database has {:?} v{version} ({name:?}), newer than this build knows: upgrade the library",
                        migrations.first().map(|m| m.component).unwrap_or("?")
                    ),
                ));
            }
        }
    }
    let done = applied.len();
    Ok(&migrations[done.min(migrations.len())..])
}
