//! Custom skills' rows: each skill's object and name (unique), and its versions' objects with their
//! bundles' sizes. A version's files are on disk (`EngineState::skill_dir`), not here.

use sqlx::SqliteConnection;

use super::Store;
use crate::ApiResult;

/// A version to write.
pub struct NewSkillVersion {
    pub id: String,
    pub skill_id: String,
    /// Its object as the API returns it.
    pub body: String,
    pub size_bytes: i64,
    pub created_us: i64,
}

impl Store {
    /// The id of the skill named `name`, if there is one.
    pub async fn skill_named(&self, name: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM skills WHERE name = ?").bind(name).fetch_optional(&self.pool).await?)
    }

    /// A new skill with its first version, in one transaction; false when another skill took the
    /// name first (nothing was written).
    pub async fn insert_skill(&self, id: &str, name: &str, body: &str, version: NewSkillVersion) -> ApiResult<bool> {
        let mut tx = self.pool.begin().await?;
        let inserted =
            sqlx::query("INSERT INTO skills (id, name, source, body, created_us) VALUES (?, ?, 'custom', ?, ?)")
                .bind(id)
                .bind(name)
                .bind(body)
                .bind(version.created_us)
                .execute(&mut *tx)
                .await;
        if let Err(sqlx::Error::Database(error)) = &inserted
            && error.is_unique_violation()
        {
            return Ok(false);
        }
        inserted?;
        insert_version(&version, &mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a version and makes it the skill's latest (updated at `at`); false when there is no
    /// such skill (nothing was written).
    pub async fn add_skill_version(&self, version: NewSkillVersion, at: &str) -> ApiResult<bool> {
        let mut tx = self.pool.begin().await?;
        insert_version(&version, &mut tx).await?;
        let updated = sqlx::query(
            "UPDATE skills SET body = json_set(body, '$.latest_version_id', ?, '$.updated_at', ?) WHERE id = ?",
        )
        .bind(&version.id)
        .bind(at)
        .bind(&version.skill_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A skill's object and name, if there is one by that id.
    pub async fn skill_row(&self, id: &str) -> ApiResult<Option<(String, String)>> {
        Ok(sqlx::query_as("SELECT body, name FROM skills WHERE id = ?").bind(id).fetch_optional(&self.pool).await?)
    }

    /// The object of version `id` of the skill, if it has one.
    pub async fn skill_version_body(&self, skill_id: &str, id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM skill_versions WHERE id = ? AND skill_id = ?")
            .bind(id)
            .bind(skill_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Deletes the skill with every version; answers the versions' ids, whose files go next.
    pub async fn delete_skill(&self, id: &str) -> ApiResult<Vec<String>> {
        let versions = sqlx::query_scalar("SELECT id FROM skill_versions WHERE skill_id = ?")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        sqlx::query("DELETE FROM skills WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(versions)
    }

    /// Deletes a version; the newest that remains becomes the latest (updated at `at`). False when
    /// it is the skill's only version (nothing was deleted).
    pub async fn delete_skill_version(&self, skill_id: &str, version_id: &str, at: &str) -> ApiResult<bool> {
        let mut tx = self.pool.begin().await?;
        let remaining: Option<String> = sqlx::query_scalar(
            "SELECT id FROM skill_versions WHERE skill_id = ? AND id != ? ORDER BY seq DESC LIMIT 1",
        )
        .bind(skill_id)
        .bind(version_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(latest) = remaining else { return Ok(false) };
        sqlx::query("DELETE FROM skill_versions WHERE id = ?").bind(version_id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE skills SET body = json_set(body, '$.latest_version_id', ?, '$.updated_at', ?) WHERE id = ?",
        )
        .bind(&latest)
        .bind(at)
        .bind(skill_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_version(version: &NewSkillVersion, tx: &mut SqliteConnection) -> ApiResult<()> {
    sqlx::query("INSERT INTO skill_versions (id, skill_id, body, size_bytes, created_us) VALUES (?, ?, ?, ?, ?)")
        .bind(&version.id)
        .bind(&version.skill_id)
        .bind(&version.body)
        .bind(version.size_bytes)
        .bind(version.created_us)
        .execute(tx)
        .await?;
    Ok(())
}
