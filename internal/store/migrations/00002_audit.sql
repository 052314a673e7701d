-- +goose Up

-- Audit events: CreateSession outcomes, control-plane changes and gateway
-- decisions. Append-only; never part of the config version. The id is chosen
-- by the writer (a random UUID), so a batch written twice (a retry after an
-- ambiguous commit) adds nothing the second time.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL, -- Unix nanoseconds
    request_id TEXT NOT NULL,
    source_ip  TEXT NOT NULL,
    principal  TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL,
    outcome    TEXT NOT NULL, -- allowed, denied, error
    error_code TEXT NOT NULL,
    reason     TEXT NOT NULL,
    before_doc TEXT NOT NULL, -- JSON, '' when none
    after_doc  TEXT NOT NULL, -- JSON, '' when none
    details    TEXT NOT NULL  -- JSON object, '' when none
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_principal ON audit_events (principal, at);

-- +goose Down
DROP TABLE audit_events;
