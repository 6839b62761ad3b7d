import { SEALS_MIGRATION } from './seal-store';
import { ARCHIVE_MIGRATION } from './archive-store';
import { LICENCES_MIGRATION } from './licence-store';

/**
 * Schema migrations, applied in order; PRAGMA user_version records how far a file has come.
 * Append new steps, never edit shipped ones.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE agencies (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    region TEXT,
    created_at TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    agency_code TEXT,
    roles TEXT NOT NULL,
    label TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  ) WITHOUT ROWID;
  CREATE INDEX api_keys_agency ON api_keys (agency_code, id);

  CREATE TABLE certificates (
    serial TEXT PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL,
    profile TEXT NOT NULL,
    subject TEXT NOT NULL,
    agency_code TEXT,
    key_id TEXT,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    der TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at TEXT,
    revocation_reason TEXT,
    created_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX certificates_issuer_status ON certificates (issuer, status);
  CREATE INDEX certificates_agency ON certificates (agency_code, serial);

  CREATE TABLE keys (
    id TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL,
    key_store TEXT NOT NULL CHECK (key_store IN ('software', 'pkcs11')),
    label TEXT NOT NULL,
    agency_code TEXT,
    public_key TEXT NOT NULL,
    wrapped_key TEXT,
    token_key_id TEXT,
    created_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX keys_agency ON keys (agency_code, id);

  CREATE TABLE key_uses (
    id TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL,
    api_key_id TEXT,
    agency_code TEXT,
    purpose TEXT NOT NULL,
    digest TEXT NOT NULL,
    at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX key_uses_key ON key_uses (key_id, id);

  CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE trust_anchors (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    der TEXT NOT NULL,
    label TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE log_entries (
    idx INTEGER PRIMARY KEY NOT NULL,
    leaf_input TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX log_entries_event ON log_entries (event_id);

  CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID;

  CREATE TABLE log_checkpoints (
    size INTEGER PRIMARY KEY NOT NULL,
    root_hash TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  SEALS_MIGRATION,
  ARCHIVE_MIGRATION,
  LICENCES_MIGRATION,
];
