-- PostgreSQL's form of sqlite/0023_import_pages.sql.
CREATE TABLE import_pages (
    import_id   BIGINT NOT NULL,
    first_event BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    events      TEXT NOT NULL,
    PRIMARY KEY (import_id, first_event)
);
