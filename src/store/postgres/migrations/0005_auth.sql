-- stint schema, version 5 (PostgreSQL): API tokens, users, login sessions and login failures.
-- {{schema}} is replaced by the quoted schema name. As in SQLite: tokens and session ids are kept
-- as their SHA-256 (256 random bits each), passwords as scrypt hashes with a per-user salt.

CREATE TABLE {{schema}}.api_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text   COLLATE "C" NOT NULL,
  role         text   NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash         text   NOT NULL UNIQUE, -- hex SHA-256 of the token
  created_at   bigint NOT NULL,
  expires_at   bigint,
  last_used_at bigint,                 -- written at most once a minute
  revoked_at   bigint
);
-- A name names one live token; a revoked token's name may be used again.
CREATE UNIQUE INDEX api_tokens_name ON {{schema}}.api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE {{schema}}.users (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username   text   COLLATE "C" NOT NULL UNIQUE,
  role       text   NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password   text   NOT NULL, -- scrypt$N$r$p$<salt>$<hash> (base64)
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE {{schema}}.sessions (
  hash       text   PRIMARY KEY, -- hex SHA-256 of the cookie's value
  user_id    bigint NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX sessions_user ON {{schema}}.sessions (user_id);
CREATE INDEX sessions_expires ON {{schema}}.sessions (expires_at);

-- Failed logins, one row per failure and key (`user:<name>`, `ip:<address>`), kept for the
-- throttling window: every server behind a load balancer counts the same failures.
CREATE TABLE {{schema}}.login_failures (
  id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text   NOT NULL,
  at  bigint NOT NULL
);
CREATE INDEX login_failures_key ON {{schema}}.login_failures (key, at);
CREATE INDEX login_failures_at ON {{schema}}.login_failures (at);
