-- stint schema, version 5 (SQLite): API tokens, users, login sessions and login failures.
-- No secret is stored as it was given: tokens and session ids are kept as their SHA-256 (they are
-- 256 random bits, so a hash is enough), passwords as scrypt hashes with a per-user salt. A copy
-- of the database therefore lets nobody in.

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash         TEXT    NOT NULL UNIQUE, -- hex SHA-256 of the token
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,                 -- written at most once a minute
  revoked_at   INTEGER
);
-- A name names one live token; a revoked token's name may be used again.
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  username   TEXT    NOT NULL UNIQUE,
  role       TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password   TEXT    NOT NULL, -- scrypt$N$r$p$<salt>$<hash> (base64)
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
  hash       TEXT    PRIMARY KEY, -- hex SHA-256 of the cookie's value
  user_id    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed logins, one row per failure and key (`user:<name>`, `ip:<address>`), kept for the
-- throttling window: every server behind a load balancer counts the same failures.
CREATE TABLE login_failures (
  id  INTEGER PRIMARY KEY,
  key TEXT    NOT NULL,
  at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
