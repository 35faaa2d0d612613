-- Skills (GA, no beta header): uploaded folders with a SKILL.md, and their immutable versions.
-- `skills.body` and `skill_versions.body` are the objects as the API returns them; a version's
-- files live under `<data>/skills/<version id>/` (the upload's top folder stripped). A skill's
-- `name` is the kebab-case slug of its first upload, which every later upload must repeat and no
-- other skill may take. Deleting a skill deletes its versions (ON DELETE CASCADE).
CREATE TABLE skills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL
);

CREATE TABLE skill_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    skill_id TEXT NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_us INTEGER NOT NULL
);

CREATE INDEX skill_versions_by_skill ON skill_versions (skill_id, seq);
