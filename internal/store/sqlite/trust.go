package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// trustColumns is what scanTrustPolicy reads, in order (p is
// trust_policies, u its user).
const trustColumns = `p.name, p.issuer, p.audience, p.claims, p.user_id, u.username, p.scopes, p.max_lifetime, p.created_at`

const trustFrom = ` FROM trust_policies p JOIN users u ON u.id = p.user_id`

func scanTrustPolicy(row scanner) (store.TrustPolicy, error) {
	var p store.TrustPolicy
	var claims, scopes string
	var maxLifetime, created int64
	if err := row.Scan(&p.Name, &p.Issuer, &p.Audience, &claims, &p.UserID, &p.Username, &scopes, &maxLifetime, &created); err != nil {
		return store.TrustPolicy{}, err
	}
	var err error
	if p.Claims, err = store.DecodeClaims(claims); err != nil {
		return store.TrustPolicy{}, fmt.Errorf("trust policy %s: %w", p.Name, err)
	}
	p.Scopes = splitScopes(scopes)
	p.MaxLifetime = time.Duration(maxLifetime)
	p.CreatedAt = fromDB(created)
	return p, nil
}

// CreateTrustPolicy adds a policy: store.ErrConflict when the name is
// taken, store.ErrNotFound when the user is unknown.
func (s *Store) CreateTrustPolicy(ctx context.Context, p store.TrustPolicy) error {
	if err := checkTime("created_at", p.CreatedAt); err != nil {
		return fmt.Errorf("create trust policy %s: %w", p.Name, err)
	}
	if p.MaxLifetime <= 0 {
		return fmt.Errorf("create trust policy %s: max lifetime %s is not positive", p.Name, p.MaxLifetime)
	}
	claims, err := store.EncodeClaims(p.Claims)
	if err != nil {
		return fmt.Errorf("create trust policy %s: %w", p.Name, err)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trust_policies
			(name, issuer, audience, claims, user_id, scopes, max_lifetime, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Name, p.Issuer, p.Audience, claims, p.UserID, joinScopes(p.Scopes), int64(p.MaxLifetime), toDB(p.CreatedAt))
		return err
	})
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

// trustPolicies reads policies through q: s.query (the reader pool's
// statement cache, for the exchange's per-request read) or a transaction.
func (s *Store) trustPolicies(ctx context.Context, q queryFunc, query string, args ...any) ([]store.TrustPolicy, error) {
	rows, err := q(ctx, query, args...)
	return collect(rows, err, scanTrustPolicy)
}

type queryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

// ListTrustPolicies returns every policy ordered by name.
func (s *Store) ListTrustPolicies(ctx context.Context) ([]store.TrustPolicy, error) {
	out, err := s.trustPolicies(ctx, s.query, `SELECT `+trustColumns+trustFrom+` ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("list trust policies: %w", err)
	}
	return out, nil
}

// TrustPoliciesForIssuer returns the policies naming issuer, by name.
func (s *Store) TrustPoliciesForIssuer(ctx context.Context, issuer string) ([]store.TrustPolicy, error) {
	out, err := s.trustPolicies(ctx, s.query, `SELECT `+trustColumns+trustFrom+` WHERE p.issuer = ? ORDER BY p.name`, issuer)
	if err != nil {
		return nil, fmt.Errorf("trust policies for %s: %w", issuer, err)
	}
	return out, nil
}

// DeleteTrustPolicy removes a policy or returns store.ErrNotFound.
func (s *Store) DeleteTrustPolicy(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM trust_policies WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete trust policy %s: %w", name, err)
	}
	return nil
}

// pruneUsesBatch bounds how many expired subject-token uses one create
// deletes, so a backlog never makes a single exchange slow.
const pruneUsesBatch = 256

// recordSubjectTokenUse remembers u inside tx, first forgetting up to
// pruneUsesBatch uses expired at now. A record of the same identity token
// still live at now is store.ErrReplayed; an expired one is replaced.
func recordSubjectTokenUse(ctx context.Context, tx *sql.Tx, u store.SubjectTokenUse, now time.Time) error {
	if err := checkTime("subject token expires_at", u.ExpiresAt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM subject_token_uses WHERE (issuer, id) IN
		(SELECT issuer, id FROM subject_token_uses WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
		toDB(now), pruneUsesBatch); err != nil {
		return fmt.Errorf("prune subject token uses: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO subject_token_uses (issuer, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (issuer, id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE subject_token_uses.expires_at <= ?`,
		u.Issuer, u.ID, toDB(u.ExpiresAt), toDB(now))
	if err != nil {
		return fmt.Errorf("record subject token use: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrReplayed
	}
	return nil
}

// exportTrust reads every policy and subject-token use inside tx.
func (s *Store) exportTrust(ctx context.Context, tx *sql.Tx, snap *store.Snapshot) error {
	var err error
	if snap.TrustPolicies, err = s.trustPolicies(ctx, tx.QueryContext, `SELECT `+trustColumns+trustFrom+` ORDER BY p.name`); err != nil {
		return fmt.Errorf("trust policies: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT issuer, id, expires_at FROM subject_token_uses ORDER BY issuer, id`)
	if err != nil {
		return fmt.Errorf("subject token uses: %w", err)
	}
	defer rows.Close()
	snap.SubjectTokenUses = []store.SubjectTokenUse{}
	for rows.Next() {
		var u store.SubjectTokenUse
		var exp int64
		if err := rows.Scan(&u.Issuer, &u.ID, &exp); err != nil {
			return fmt.Errorf("subject token uses: %w", err)
		}
		u.ExpiresAt = fromDB(exp)
		snap.SubjectTokenUses = append(snap.SubjectTokenUses, u)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("subject token uses: %w", err)
	}
	return nil
}

// policiesGranting lists, inside tx, the names of the policies whose scopes
// hold scope.
func policiesGranting(ctx context.Context, tx *sql.Tx, scope string) ([]string, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT name FROM trust_policies WHERE instr(' ' || scopes || ' ', ?) > 0 ORDER BY name`, " "+scope+" ")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
