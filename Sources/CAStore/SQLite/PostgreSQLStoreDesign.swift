// PostgreSQL store — design (not yet implemented; docs/architecture.md#stores "SQLite | PostgreSQL").
//
// A `PostgresStore` conforms to the same `RegistrationDataStore` protocols, using postgres-nio
// (async, so no thread is blocked):
// - Schema: the tables of `SQLiteSchema` with `timestamptz` for times, `bytea` for DER/CSR,
//   `text COLLATE "C"` for serials and digests (keyset pagination must order bytes, as SQLite
//   does), `bigint` for CRL numbers and audit seq. The partial UNIQUE indexes are identical,
//   except that the case-insensitive host-name ones (`registrations_open_hostname`,
//   `agents_active_hostname`, SQLite `COLLATE NOCASE`) index `lower(hostname)`.
// - `perform(_:)`: one `BEGIN ISOLATION LEVEL READ COMMITTED … COMMIT`; each precondition read
//   is `SELECT … FOR UPDATE` so concurrent appliance nodes serialise on the rows they touch.
//   Token consumption is `UPDATE … SET consumed_at = $1 WHERE token_sha256 = $2 AND consumed_at
//   IS NULL AND expires_at > $1 RETURNING …` (zero rows → tokenUnavailable); the SQLite
//   store checks the same conditions inside its single-writer transaction. Serial/registration uniqueness come from constraints
//   (SQLSTATE 23505 → StoreError.conflict).
// - CRL numbers: `INSERT … ON CONFLICT (issuer_ski) DO UPDATE SET next_number =
//   crl_state.next_number + 1 RETURNING next_number - 1` — atomic across nodes, clock-free.
// - Audit chain: append takes `pg_advisory_xact_lock(<audit key>)` (or `SELECT … FOR UPDATE`
//   on the head row) so two nodes cannot both extend the same head.
// - Revocation walks: the same keyset query (`issuer_ski = $1 AND serial > $2 ORDER BY serial
//   LIMIT $3`) on the covering index; `revocationStatus` reads both tables in one statement.
// - Revocation sequence (CRL publisher's incremental step): `seq bigint` from a SEQUENCE is not
//   commit-ordered across concurrent transactions (a lower number can commit later), so the
//   PostgreSQL store must take `pg_advisory_xact_lock(<revocation key>)` around the insert and
//   assign `MAX(seq) + 1` under it, as SQLite's single writer does.
// - Decisions inside the transaction (`revokeAgentLine`, `completeReservation`,
//   `releaseReservation`): `SELECT … FROM agents WHERE id = $1 FOR UPDATE` first, so an agent's
//   revocation and the completion or reservation of its certificates serialise on the agent row;
//   the line is then read under that lock, as SQLite's single writer does.
// - Errors: connection loss, `57P01`, `53xxx` → `unavailable`; `23xxx` → `conflict`;
//   `40001`/`40P01` (serialisation/deadlock) → retried once, then `unavailable`.
// - Integration tests run the shared conformance suite against a throwaway cluster
//   (`initdb` + `pg_ctl` on a run-time port), as they do against SQLite files.
