package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

var (
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)

// Export reads every user, token, scope, event, trust policy and
// subject-token use in one REPEATABLE READ,
// read-only transaction: one snapshot, however many replicas write
// meanwhile.
func (s *Store) Export(ctx context.Context) (store.Snapshot, error) {
	var snap store.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if snap.Users, err = queryUsers(ctx, tx); err != nil {
			return err
		}
		if snap.Scopes, err = queryScopes(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM events ORDER BY id`)
		if err != nil {
			return err
		}
		if snap.Events, err = pgx.CollectRows(rows, scanEvent); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		if err := exportWebhooks(ctx, tx, &snap); err != nil {
			return err
		}
		if err := exportSSO(ctx, tx, &snap); err != nil {
			return err
		}
		if err := exportTrust(ctx, tx, &snap); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+tokenColumns+`, digest, idempotency_key, request_hash FROM tokens ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var et store.ExportedToken
			var digest, hash []byte
			var key *string
			if et.Token, err = scanToken(rows, &digest, &key, &hash); err != nil {
				return err
			}
			if len(digest) != len(et.Digest) {
				return fmt.Errorf("token %s: digest of %d bytes", et.ID, len(digest))
			}
			copy(et.Digest[:], digest)
			if key != nil {
				et.IdempotencyKey = *key
				copy(et.RequestHash[:], hash)
			}
			snap.Tokens = append(snap.Tokens, et)
		}
		return rows.Err()
	})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("export postgres database: %w", err)
	}
	return snap, nil
}

// Import writes snap in one transaction with COPY. It first locks the
// tables against writers (readers go on), so the emptiness check and the
// count check afterwards are exact even if a replica is already running on
// the target; it commits only if both hold.
func (s *Store) Import(ctx context.Context, snap store.Snapshot, opts store.ImportOptions) (store.ImportResult, error) {
	var res store.ImportResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE users, tokens, scopes, events, trust_policies, subject_token_uses, sso_providers, sso_users, webhooks, webhook_deliveries, token_expiry_notices IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		before, err := counts(ctx, tx)
		if err != nil {
			return err
		}
		if !opts.IntoNonEmpty && before.Users+before.Tokens > 0 {
			return fmt.Errorf("%w: it has %d users and %d tokens", store.ErrNotEmpty, before.Users, before.Tokens)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "password_hash", "created_at", "role", "kind", "disabled_at"},
			pgx.CopyFromSlice(len(snap.Users), func(i int) ([]any, error) {
				u, err := snap.Users[i].WithDefaults()
				return []any{u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt), u.Role, u.Kind, disabledAt(u)}, err
			}))
		if err != nil {
			return fmt.Errorf("copy users: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"tokens"},
			[]string{"id", "user_id", "name", "description", "key_hint", "digest", "created_at", "expires_at", "last_used_at", "idempotency_key", "request_hash", "scopes"},
			pgx.CopyFromSlice(len(snap.Tokens), func(i int) ([]any, error) {
				t := snap.Tokens[i]
				var lastUsed *time.Time
				if t.LastUsedAt != nil {
					at := toDB(*t.LastUsedAt)
					lastUsed = &at
				}
				var key, hash any
				if t.IdempotencyKey != "" {
					key, hash = t.IdempotencyKey, t.RequestHash[:]
				}
				return []any{t.ID, t.UserID, t.Name, t.Description, t.KeyHint, t.Digest[:],
					toDB(t.CreatedAt), toDB(t.ExpiresAt), lastUsed, key, hash, textArray(t.Scopes)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy tokens: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"scopes"}, []string{"name", "description", "created_at", "max_lifetime"},
			pgx.CopyFromSlice(len(snap.Scopes), func(i int) ([]any, error) {
				sc := snap.Scopes[i]
				return []any{sc.Name, sc.Description, toDB(sc.CreatedAt), nullDuration(sc.MaxLifetime)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy scopes: %w", err)
		}
		// Events go last: they reference their users.
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"id", "user_id", "time", "type", "token_id", "token_name",
			"token_key_hint", "actor_kind", "actor_token_id", "actor_token_name", "client_address", "user_agent", "source", "reason",
			"trust_policy", "claims", "actor_user", "detail"},
			pgx.CopyFromSlice(len(snap.Events), func(i int) ([]any, error) {
				e := snap.Events[i]
				policy, claims, err := eventTrust(e)
				if err != nil {
					return nil, err
				}
				return []any{e.ID, eventUser(e), toDB(e.Time), e.Type, e.TokenID, e.TokenName, e.TokenKeyHint, e.ActorKind,
					e.ActorTokenID, e.ActorTokenName, e.ClientAddress, e.UserAgent, e.Source, e.Reason, policy, claims,
					e.ActorUser, e.Detail}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		// Policies reference their users too.
		if err := importTrust(ctx, tx, snap); err != nil {
			return err
		}
		if err := importSSO(ctx, tx, snap); err != nil {
			return err
		}
		if err := importWebhooks(ctx, tx, snap); err != nil {
			return err
		}
		after, err := counts(ctx, tx)
		if err != nil {
			return err
		}
		res = store.ImportResult{Users: after.Users - before.Users, Tokens: after.Tokens - before.Tokens,
			Scopes: after.Scopes - before.Scopes, Events: after.Events - before.Events,
			TrustPolicies: after.TrustPolicies - before.TrustPolicies, SubjectTokenUses: after.SubjectTokenUses - before.SubjectTokenUses,
			SSOProviders: after.SSOProviders - before.SSOProviders, SSOUsers: after.SSOUsers - before.SSOUsers,
			Webhooks: after.Webhooks - before.Webhooks, Outbox: after.Outbox - before.Outbox, ExpiryNotices: after.ExpiryNotices - before.ExpiryNotices}
		want := store.ImportResult{Users: len(snap.Users), Tokens: len(snap.Tokens), Scopes: len(snap.Scopes), Events: len(snap.Events),
			TrustPolicies: len(snap.TrustPolicies), SubjectTokenUses: len(snap.SubjectTokenUses),
			SSOProviders: len(snap.SSOProviders), SSOUsers: len(snap.SSOUsers),
			Webhooks: len(snap.Webhooks), Outbox: len(snap.Outbox), ExpiryNotices: len(snap.ExpiryNotices)}
		if res != want {
			return fmt.Errorf("count check failed: %+v written, want %+v; nothing was committed", res, want)
		}
		return nil
	})
	switch {
	case isUniqueViolation(err):
		return store.ImportResult{}, fmt.Errorf("import into postgres database: a username, token id, digest, scope, event id, trust policy, subject token use, sso provider or webhook is already there (%w); nothing was imported", store.ErrConflict)
	case err != nil:
		return store.ImportResult{}, fmt.Errorf("import into postgres database: %w", err)
	}
	return res, nil
}

// counts returns how many rows each imported table holds.
func counts(ctx context.Context, tx pgx.Tx) (store.ImportResult, error) {
	var c store.ImportResult
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tokens),
		(SELECT count(*) FROM scopes), (SELECT count(*) FROM events),
		(SELECT count(*) FROM trust_policies), (SELECT count(*) FROM subject_token_uses),
		(SELECT count(*) FROM sso_providers), (SELECT count(*) FROM sso_users),
		(SELECT count(*) FROM webhooks), (SELECT count(*) FROM webhook_deliveries), (SELECT count(*) FROM token_expiry_notices)`).
		Scan(&c.Users, &c.Tokens, &c.Scopes, &c.Events, &c.TrustPolicies, &c.SubjectTokenUses, &c.SSOProviders, &c.SSOUsers,
			&c.Webhooks, &c.Outbox, &c.ExpiryNotices)
	return c, err
}
