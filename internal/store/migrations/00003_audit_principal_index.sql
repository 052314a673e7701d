-- +goose Up
DROP INDEX audit_events_principal;

-- +goose Down
CREATE INDEX audit_events_principal ON audit_events (principal, at);
