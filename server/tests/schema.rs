//! SQLite's and PostgreSQL's migrations (`server/migrations/sqlite`, `…/postgres`) take the same
//! numbered steps to the same schema: the same tables, columns, types (as each database spells
//! them), nullability, primary keys and named indexes, and the audit log's append-only trigger on
//! both. A step added to one folder and not the other fails here.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};

/// table → column → (type, not null, in the primary key); and the named indexes.
#[derive(Debug, PartialEq)]
struct Schema {
    columns: BTreeMap<String, BTreeMap<String, (String, bool, bool)>>,
    indexes: Vec<String>,
    triggers: Vec<String>,
    steps: Vec<i64>,
}

/// One word for a column's type, whichever database spelled it.
fn kind(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int8" => "integer",
        "text" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" | "float8" => "float",
        other => return format!("unknown: {other}"),
    }
    .to_owned()
}

async fn sqlite_schema(pool: &AnyPool) -> Schema {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns = BTreeMap::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"))
            .fetch_all(pool)
            .await
            .unwrap();
        let of_table = rows
            .iter()
            .map(|row| {
                let pk = row.get::<i64, _>(3) > 0;
                // A primary key holds no null in either database (SQLite's rowid alias says 0).
                (row.get::<String, _>(0), (kind(&row.get::<String, _>(1)), row.get::<i64, _>(2) != 0 || pk, pk))
            })
            .collect();
        columns.insert(table, of_table);
    }
    let indexes = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap();
    let steps =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.unwrap();
    Schema { columns, indexes, triggers, steps }
}

async fn postgres_schema(pool: &AnyPool) -> Schema {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, (CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END)::int8,
                (CASE WHEN EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                  JOIN information_schema.table_constraints t ON t.constraint_name = k.constraint_name
                   AND t.table_schema = k.table_schema
                 WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_schema = c.table_schema
                   AND k.table_name = c.table_name AND k.column_name = c.column_name) THEN 1 ELSE 0 END)::int8
         FROM information_schema.columns c
         WHERE c.table_schema = 'public' AND c.table_name <> '_sqlx_migrations'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns: BTreeMap<String, BTreeMap<String, (String, bool, bool)>> = BTreeMap::new();
    for row in rows {
        let (table, column, declared) = (row.get::<String, _>(0), row.get::<String, _>(1), row.get::<String, _>(2));
        let (not_null, pk) = (row.get::<i64, _>(3) != 0, row.get::<i64, _>(4) != 0);
        columns.entry(table).or_default().insert(column, (kind(&declared), not_null, pk));
    }
    // Named indexes: not those PostgreSQL makes for a primary key or a UNIQUE column.
    let indexes = sqlx::query_scalar(
        "SELECT i.indexname::text FROM pg_indexes i WHERE i.schemaname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers = sqlx::query_scalar(
        "SELECT DISTINCT trigger_name::text FROM information_schema.triggers WHERE trigger_schema = 'public' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let steps =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.unwrap();
    Schema { columns, indexes, triggers, steps }
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_make_the_same_schema() {
    let dir = std::env::temp_dir().join(format!("switchboard-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // SQLite's, with the Rust step after its migrations (the unhashed sessions' table dropped).
    let sqlite = server::access::session_store::open_main_database(&dir).await.unwrap();
    let cluster = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .expect("SWITCHBOARD_TEST_POSTGRES_URL: the schemas are compared with PostgreSQL's (scripts/test sets it)");
    server::support::db::install_drivers();
    let admin = AnyPool::connect(&cluster).await.unwrap();
    let name = format!("schema_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\"")).execute(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&admin).await.unwrap();
    let mut url = reqwest::Url::parse(&cluster).unwrap();
    url.set_path(&name);
    let postgres = server::support::db::open_postgres(url.as_str(), None, 2).await.unwrap();

    let (sqlite, postgres) = (sqlite_schema(&sqlite).await, postgres_schema(&postgres).await);
    assert!(sqlite.columns.len() > 20, "{sqlite:?}");
    assert!(sqlite.steps.len() >= 17, "{:?}", sqlite.steps);
    for (table, columns) in &sqlite.columns {
        assert_eq!(Some(columns), postgres.columns.get(table), "table {table}");
    }
    assert_eq!(
        sqlite.columns.keys().collect::<Vec<_>>(),
        postgres.columns.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    assert_eq!(sqlite.indexes, postgres.indexes, "the same named indexes");
    assert_eq!(sqlite.triggers, postgres.triggers, "the audit log is append-only on both");
    assert_eq!(sqlite.steps, postgres.steps, "the same numbered steps");
    let _ = std::fs::remove_dir_all(&dir);
}
