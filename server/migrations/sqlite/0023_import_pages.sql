-- An imported session's events in pages (issue 62): a viewer's stream reads one page at a time,
-- so that it holds one page, whatever the import's size (each stream held every event before:
-- 40 of them took the console from 82 MB to 3.1 GB). `first_event` numbers the page's first event
-- (from 1, as the stream numbers them), `event_count` how many it holds, `events` their JSON array
-- (compact, as uploaded). An import's `document` keeps the rest of the export, its session's
-- events moved here; one imported before this step is moved at its first read.
CREATE TABLE import_pages (
    import_id   INTEGER NOT NULL,
    first_event INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    events      TEXT NOT NULL,
    PRIMARY KEY (import_id, first_event)
);
