package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// trustColumns is what scanTrustPolicy reads, in order (p is
// trust_policies, u its user).
const trustColumns = `p.name, p.issuer, p.audience, p.claims, p.user_id, u.username, p.scopes, p.max_lifetime, p.created_at`

const trustFrom = ` FROM trust_policies p JOIN users u ON u.id = p.user_id`

func scanTrustPolicy(row pgx.CollectableRow) (store.TrustPolicy, error) {
	var p store.TrustPolicy
	var claims string
	var scopes []string
	var maxLifetime int64
	var created time.Time
	if err := row.Scan(&p.Name, &p.Issuer, &p.Audience, &claims, &p.UserID, &p.Username, &scopes, &maxLifetime, &created); err != nil {
		return store.TrustPolicy{}, err
	}
	var err error
	if p.Claims, err = store.DecodeClaims(claims); err != nil {
		return store.TrustPolicy{}, fmt.Errorf("trust policy %s: %w", p.Name, err)
	}
	p.Scopes = fromTextArray(scopes)
	p.MaxLifetime = time.Duration(maxLifetime)
	p.CreatedAt = fromDB(created)
	return p, nil
}

func queryTrustPolicies(ctx context.Context, q querier, query string, args ...any) ([]store.TrustPolicy, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, scanTrustPolicy)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.TrustPolicy{}
	}
	return out, nil
}

// CreateTrustPolicy adds a policy: store.ErrConflict when the name is
// taken, store.ErrNotFound when the user is unknown.
func (s *Store) CreateTrustPolicy(ctx context.Context, p store.TrustPolicy) error {
	if p.MaxLifetime <= 0 {
		return fmt.Errorf("create trust policy %s: max lifetime %s is not positive", p.Name, p.MaxLifetime)
	}
	claims, err := store.EncodeClaims(p.Claims)
	if err != nil {
		return fmt.Errorf("create trust policy %s: %w", p.Name, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO trust_policies
		(name, issuer, audience, claims, user_id, scopes, max_lifetime, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.Name, p.Issuer, p.Audience, claims, p.UserID, textArray(p.Scopes), int64(p.MaxLifetime), toDB(p.CreatedAt))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create trust policy %s: %w", p.Name, store.ErrConflict)
	case isForeignKeyViolation(err):
		return fmt.Errorf("create trust policy %s: user %s: %w", p.Name, p.UserID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create trust policy %s: %w", p.Name, err)
	}
	return nil
}

// ListTrustPolicies returns every policy ordered by name.
func (s *Store) ListTrustPolicies(ctx context.Context) ([]store.TrustPolicy, error) {
	out, err := queryTrustPolicies(ctx, s.pool, `SELECT `+trustColumns+trustFrom+` ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("list trust policies: %w", err)
	}
	return out, nil
}

// TrustPoliciesForIssuer returns the policies naming issuer, by name.
func (s *Store) TrustPoliciesForIssuer(ctx context.Context, issuer string) ([]store.TrustPolicy, error) {
	out, err := queryTrustPolicies(ctx, s.pool, `SELECT `+trustColumns+trustFrom+` WHERE p.issuer = $1 ORDER BY p.name`, issuer)
	if err != nil {
		return nil, fmt.Errorf("trust policies for %s: %w", issuer, err)
	}
	return out, nil
}

// DeleteTrustPolicy removes a policy or returns store.ErrNotFound.
func (s *Store) DeleteTrustPolicy(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM trust_policies WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete trust policy %s: %w", name, err)
	}
	return nil
}

// pruneUsesBatch bounds how many expired subject-token uses one create
// deletes, so a backlog never makes a single exchange slow.
const pruneUsesBatch = 256

// recordSubjectTokenUse remembers u inside tx, first forgetting up to
// pruneUsesBatch uses expired at now (skipping rows another replica is
// pruning, so creates never queue on each other's prune). A record of the
// same identity token still live at now is store.ErrReplayed; an expired
// one is replaced.
//
// Two replicas recording the same use at once both reach the primary key:
// the second waits for the first to commit, then ON CONFLICT sees its live
// row, updates nothing and is refused. Should the key be hit any other way
// (a unique_violation), that is a replay too.
func recordSubjectTokenUse(ctx context.Context, tx pgx.Tx, u store.SubjectTokenUse, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM subject_token_uses WHERE (issuer, id) IN
		(SELECT issuer, id FROM subject_token_uses WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		toDB(now), pruneUsesBatch); err != nil {
		return fmt.Errorf("prune subject token uses: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO subject_token_uses (issuer, id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (issuer, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE subject_token_uses.expires_at <= $4`,
		u.Issuer, u.ID, toDB(u.ExpiresAt), toDB(now))
	switch {
	case isUniqueViolation(err):
		return store.ErrReplayed
	case err != nil:
		return fmt.Errorf("record subject token use: %w", err)
	case tag.RowsAffected() == 0:
		return store.ErrReplayed
	}
	return nil
}

// exportTrust reads every policy and subject-token use inside tx.
func exportTrust(ctx context.Context, tx pgx.Tx, snap *store.Snapshot) error {
	var err error
	if snap.TrustPolicies, err = queryTrustPolicies(ctx, tx, `SELECT `+trustColumns+trustFrom+` ORDER BY p.name`); err != nil {
		return fmt.Errorf("trust policies: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT issuer, id, expires_at FROM subject_token_uses ORDER BY issuer, id`)
	if err != nil {
		return fmt.Errorf("subject token uses: %w", err)
	}
	snap.SubjectTokenUses, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SubjectTokenUse, error) {
		var u store.SubjectTokenUse
		err := row.Scan(&u.Issuer, &u.ID, &u.ExpiresAt)
		u.ExpiresAt = fromDB(u.ExpiresAt)
		return u, err
	})
	if err != nil {
		return fmt.Errorf("subject token uses: %w", err)
	}
	if snap.SubjectTokenUses == nil {
		snap.SubjectTokenUses = []store.SubjectTokenUse{}
	}
	return nil
}

// importTrust copies snap's policies and uses inside tx.
func importTrust(ctx context.Context, tx pgx.Tx, snap store.Snapshot) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"trust_policies"},
		[]string{"name", "issuer", "audience", "claims", "user_id", "scopes", "max_lifetime", "created_at"},
		pgx.CopyFromSlice(len(snap.TrustPolicies), func(i int) ([]any, error) {
			p := snap.TrustPolicies[i]
			if p.MaxLifetime <= 0 {
				return nil, fmt.Errorf("trust policy %s: max lifetime %s is not positive", p.Name, p.MaxLifetime)
			}
			claims, err := store.EncodeClaims(p.Claims)
			if err != nil {
				return nil, err
			}
			return []any{p.Name, p.Issuer, p.Audience, claims, p.UserID, textArray(p.Scopes),
				int64(p.MaxLifetime), toDB(p.CreatedAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy trust policies: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"subject_token_uses"}, []string{"issuer", "id", "expires_at"},
		pgx.CopyFromSlice(len(snap.SubjectTokenUses), func(i int) ([]any, error) {
			u := snap.SubjectTokenUses[i]
			return []any{u.Issuer, u.ID, toDB(u.ExpiresAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy subject token uses: %w", err)
	}
	return nil
}

// policiesGranting lists, inside tx, the names of the policies whose scopes
// hold scope.
func policiesGranting(ctx context.Context, tx pgx.Tx, scope string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT name FROM trust_policies WHERE scopes @> ARRAY[$1::text] ORDER BY name`, scope)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
