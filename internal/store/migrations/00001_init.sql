-- +goose Up

-- Key/value settings: account_id, region, ...
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row; bumped in the same transaction as every config mutation.
CREATE TABLE config_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE TABLE trust_anchors (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL UNIQUE,
    source_type               TEXT NOT NULL,
    source_data               TEXT NOT NULL,
    enabled                   BOOLEAN NOT NULL,
    crl_dp_revocation_enabled BOOLEAN NOT NULL,
    notification_settings     TEXT NOT NULL, -- JSON array
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

CREATE TABLE crls (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    trust_anchor_id TEXT NOT NULL REFERENCES trust_anchors (id) ON DELETE CASCADE,
    crl_data        BYTEA NOT NULL,
    enabled         BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX crls_trust_anchor_id ON crls (trust_anchor_id);

CREATE TABLE profiles (
    id                          TEXT PRIMARY KEY,
    name                        TEXT NOT NULL UNIQUE,
    role_arns                   TEXT NOT NULL, -- JSON array
    duration_seconds            BIGINT NOT NULL,
    session_policy              TEXT NOT NULL,
    managed_policy_arns         TEXT NOT NULL, -- JSON array
    enabled                     BOOLEAN NOT NULL,
    accept_role_session_name    BOOLEAN NOT NULL,
    require_instance_properties BOOLEAN NOT NULL,
    attribute_mappings          TEXT NOT NULL, -- JSON array
    created_by                  TEXT NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

CREATE TABLE subjects (
    id           TEXT PRIMARY KEY,
    x509_subject TEXT NOT NULL UNIQUE,
    enabled      BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX subjects_last_seen_at ON subjects (last_seen_at);

CREATE TABLE subject_credentials (
    subject_id    TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    certificate   BYTEA NOT NULL,
    enabled       BOOLEAN NOT NULL,
    failed        BOOLEAN NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    seen_count    BIGINT NOT NULL,
    PRIMARY KEY (subject_id, issuer, serial_number)
);

CREATE TABLE subject_instance_properties (
    subject_id      TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    properties_hash TEXT NOT NULL, -- hex SHA-256 of properties
    properties      TEXT NOT NULL, -- JSON object
    failed          BOOLEAN NOT NULL,
    seen_at         BIGINT NOT NULL,
    PRIMARY KEY (subject_id, properties_hash)
);

CREATE TABLE policies (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    path               TEXT NOT NULL,
    arn                TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL,
    default_version_id TEXT NOT NULL,
    next_version       BIGINT NOT NULL, -- number of the next version id
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX policies_name ON policies (lower(name));

CREATE TABLE policy_versions (
    policy_id  TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version_id)
);

CREATE TABLE roles (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    path                    TEXT NOT NULL,
    assume_role_policy      TEXT NOT NULL,
    description             TEXT NOT NULL,
    max_session_duration    BIGINT NOT NULL,
    permissions_boundary    TEXT NOT NULL,
    sessions_revoked_before BIGINT NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_name ON roles (lower(name));

CREATE TABLE role_policies (
    role_id  TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role_id, name)
);

CREATE TABLE role_policy_attachments (
    role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    PRIMARY KEY (role_id, policy_id)
);
CREATE INDEX role_policy_attachments_policy_id ON role_policy_attachments (policy_id);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_name ON users (lower(name));

CREATE TABLE user_policies (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE user_policy_attachments (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    PRIMARY KEY (user_id, policy_id)
);
CREATE INDEX user_policy_attachments_policy_id ON user_policy_attachments (policy_id);

CREATE TABLE access_keys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    sealed_secret BYTEA NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX access_keys_user_id ON access_keys (user_id);

-- The credential keyring (store.KeyRecord); material sealed by internal/sts.
CREATE TABLE keyring (
    id           TEXT PRIMARY KEY,
    sealed       BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    active_until BIGINT NOT NULL,
    retire_at    BIGINT NOT NULL
);

-- Tags of every taggable resource; resource_id is the resource's internal id
-- (UUID or IAM unique id), resource_kind a store.ResourceKind.
CREATE TABLE tags (
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (resource_kind, resource_id, key)
);

-- Audit events (issue 9) arrive in a later migration.

-- +goose Down
DROP TABLE tags;
DROP TABLE keyring;
DROP TABLE access_keys;
DROP TABLE user_policy_attachments;
DROP TABLE user_policies;
DROP TABLE users;
DROP TABLE role_policy_attachments;
DROP TABLE role_policies;
DROP TABLE roles;
DROP TABLE policy_versions;
DROP TABLE policies;
DROP TABLE subject_instance_properties;
DROP TABLE subject_credentials;
DROP TABLE subjects;
DROP TABLE profiles;
DROP TABLE crls;
DROP TABLE trust_anchors;
DROP TABLE config_version;
DROP TABLE settings;
