package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

const ssoProviderColumns = `name, issuer, client_id, client_secret, username_claim, scopes, allow, admin_if, create_users, created_at`

func scanSSOProvider(row pgx.Row) (store.SSOProvider, error) {
	var p store.SSOProvider
	var c store.SSOColumns
	var created time.Time
	if err := row.Scan(&p.Name, &p.Issuer, &p.ClientID, &p.ClientSecret, &p.UsernameClaim, &c.Scopes, &c.Allow, &c.AdminIf, &p.CreateUsers, &created); err != nil {
		return store.SSOProvider{}, err
	}
	if err := p.SetColumns(c); err != nil {
		return store.SSOProvider{}, err
	}
	p.CreatedAt = fromDB(created)
	return p, nil
}

// CreateSSOProvider adds a provider; store.ErrConflict when the name is taken.
func (s *Store) CreateSSOProvider(ctx context.Context, p store.SSOProvider) error {
	c, err := p.Columns()
	if err != nil {
		return fmt.Errorf("create sso provider %s: %w", p.Name, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sso_providers (`+ssoProviderColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.Name, p.Issuer, p.ClientID, p.ClientSecret, p.UsernameClaim, c.Scopes, c.Allow, c.AdminIf, p.CreateUsers, toDB(p.CreatedAt))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create sso provider %s: %w", p.Name, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create sso provider %s: %w", p.Name, err)
	}
	return nil
}

// ListSSOProviders returns every provider ordered by name.
func (s *Store) ListSSOProviders(ctx context.Context) ([]store.SSOProvider, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers ORDER BY name`)
	out, err := collect(rows, err, scanSSOProvider)
	if err != nil {
		return nil, fmt.Errorf("list sso providers: %w", err)
	}
	return out, nil
}

// SSOProviderByName returns one provider or store.ErrNotFound.
func (s *Store) SSOProviderByName(ctx context.Context, name string) (store.SSOProvider, error) {
	p, err := scanSSOProvider(s.pool.QueryRow(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers WHERE name = $1`, name))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.SSOProvider{}, fmt.Errorf("sso provider %s: %w", name, store.ErrNotFound)
	case err != nil:
		return store.SSOProvider{}, fmt.Errorf("sso provider %s: %w", name, err)
	}
	return p, nil
}

// DeleteSSOProvider removes a provider or returns store.ErrNotFound.
func (s *Store) DeleteSSOProvider(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM sso_providers WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete sso provider %s: %w", name, err)
	}
	return nil
}

// pruneBatch bounds how many expired rows one create forgets.
const pruneBatch = 256

// CreateDeviceCode stores a pending authorization.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM device_codes WHERE digest IN
			(SELECT digest FROM device_codes WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`,
			toDB(d.CreatedAt), pruneBatch); err != nil {
			return err
		}
		if d.MaxPending > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM device_codes
				WHERE expires_at > $1 AND state = 'pending' LIMIT $2) AS p`, toDB(d.CreatedAt), d.MaxPending).Scan(&n); err != nil {
				return err
			}
			if n >= d.MaxPending {
				return fmt.Errorf("%d codes pending: %w", n, store.ErrLimit)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO device_codes
			(digest, user_code, client_host, client_addr, created_at, expires_at, interval_ns, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')`,
			d.Digest[:], d.UserCode, d.ClientHost, d.ClientAddr, toDB(d.CreatedAt), toDB(d.ExpiresAt), int64(d.Interval))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create device code: %w", store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create device code: %w", err)
	}
	return nil
}

const deviceColumns = `digest, user_code, client_host, client_addr, created_at, expires_at, interval_ns, state, coalesce(user_id, ''), last_poll_at,
	coalesce((SELECT username FROM users WHERE users.id = device_codes.user_id), '')`

func scanDeviceCode(row pgx.Row) (store.DeviceCode, error) {
	var d store.DeviceCode
	var digest []byte
	var created, expires time.Time
	var lastPoll *time.Time
	var interval int64
	var state string
	if err := row.Scan(&digest, &d.UserCode, &d.ClientHost, &d.ClientAddr, &created, &expires, &interval, &state, &d.UserID, &lastPoll, &d.Username); err != nil {
		return store.DeviceCode{}, err
	}
	copy(d.Digest[:], digest)
	d.CreatedAt, d.ExpiresAt = fromDB(created), fromDB(expires)
	d.Interval = time.Duration(interval)
	d.State = store.DeviceState(state)
	if lastPoll != nil {
		d.LastPollAt = fromDB(*lastPoll)
	}
	return d, nil
}

// DeviceCodeByUserCode returns the authorization with this user code.
func (s *Store) DeviceCodeByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error) {
	d, err := scanDeviceCode(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_code = $1`, userCode))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.DeviceCode{}, fmt.Errorf("device code: %w", store.ErrNotFound)
	case err != nil:
		return store.DeviceCode{}, fmt.Errorf("device code: %w", err)
	}
	return d, nil
}

// DecideDeviceCode approves or denies a pending authorization; the row is
// locked for the decision so two decisions cannot both win.
func (s *Store) DecideDeviceCode(ctx context.Context, userCode string, approve bool, userID string, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		d, err := scanDeviceCode(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_code = $1 FOR UPDATE`, userCode))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := store.CheckDecidable(d, now); err != nil {
			return err
		}
		state, uid := store.DeviceDenied, (*string)(nil)
		if approve {
			state, uid = store.DeviceApproved, &userID
		}
		_, err = tx.Exec(ctx, `UPDATE device_codes SET state = $1, user_id = $2 WHERE user_code = $3`, string(state), uid, userCode)
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("decide device code: user %s: %w", userID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("decide device code: %w", err)
	}
	return nil
}

// PollDeviceCode records a poll and returns the authorization as it was.
func (s *Store) PollDeviceCode(ctx context.Context, digest [32]byte, now time.Time) (store.DeviceCode, bool, error) {
	var d store.DeviceCode
	var slow bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDeviceCode(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE digest = $1 FOR UPDATE`, digest[:]))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		next := store.AfterPoll(d, now)
		slow = next.Interval != d.Interval
		_, err = tx.Exec(ctx, `UPDATE device_codes SET last_poll_at = $1, interval_ns = $2, state = $3 WHERE digest = $4`,
			toDB(now), int64(next.Interval), string(next.State), digest[:])
		return err
	})
	if err != nil {
		return store.DeviceCode{}, false, fmt.Errorf("poll device code: %w", err)
	}
	return d, slow, nil
}

// CreateSSOLogin stores a browser login, first forgetting expired ones.
func (s *Store) CreateSSOLogin(ctx context.Context, l store.SSOLogin) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sso_logins WHERE state_digest IN
			(SELECT state_digest FROM sso_logins WHERE expires_at <= now() ORDER BY expires_at LIMIT $1)`, pruneBatch); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sso_logins
			(state_digest, session_digest, provider, user_code, nonce, verifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			l.StateDigest[:], l.SessionDigest[:], l.Provider, l.UserCode, l.Nonce, l.Verifier, toDB(l.ExpiresAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create sso login: %w", store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create sso login: %w", err)
	}
	return nil
}

// TakeSSOLogin removes and returns an unexpired login: one DELETE …
// RETURNING, so of two concurrent callbacks only one gets it.
func (s *Store) TakeSSOLogin(ctx context.Context, stateDigest [32]byte, now time.Time) (store.SSOLogin, error) {
	var l store.SSOLogin
	var sess []byte
	var exp time.Time
	err := s.pool.QueryRow(ctx, `DELETE FROM sso_logins WHERE state_digest = $1
		RETURNING session_digest, provider, user_code, nonce, verifier, expires_at`, stateDigest[:]).
		Scan(&sess, &l.Provider, &l.UserCode, &l.Nonce, &l.Verifier, &exp)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.SSOLogin{}, fmt.Errorf("sso login: %w", store.ErrNotFound)
	case err != nil:
		return store.SSOLogin{}, fmt.Errorf("sso login: %w", err)
	}
	copy(l.SessionDigest[:], sess)
	l.StateDigest, l.ExpiresAt = stateDigest, fromDB(exp)
	if !now.Before(l.ExpiresAt) {
		return store.SSOLogin{}, fmt.Errorf("sso login: %w", store.ErrNotFound)
	}
	return l, nil
}

// CreateSSOUser adds a password-less user and who provisioned it, in one
// transaction.
func (s *Store) CreateSSOUser(ctx context.Context, u store.User, provider string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, '', $3)`,
			u.ID, u.Username, toDB(u.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sso_users (user_id, provider) VALUES ($1, $2)`, u.ID, provider)
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create user %q: %w", u.Username, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return nil
}

// UserSSOProvider returns the provider that provisioned the user, or "".
func (s *Store) UserSSOProvider(ctx context.Context, userID string) (string, error) {
	var p string
	err := s.pool.QueryRow(ctx, `SELECT provider FROM sso_users WHERE user_id = $1`, userID).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("user sso provider: %w", err)
	}
	return p, nil
}

// exportSSO reads every provider and provisioned user inside tx.
func exportSSO(ctx context.Context, tx pgx.Tx, snap *store.Snapshot) error {
	rows, err := tx.Query(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers ORDER BY name`)
	if snap.SSOProviders, err = collect(rows, err, scanSSOProvider); err != nil {
		return fmt.Errorf("sso providers: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT user_id, provider FROM sso_users ORDER BY user_id`)
	if snap.SSOUsers, err = collect(rows, err, scanSSOUser); err != nil {
		return fmt.Errorf("sso users: %w", err)
	}
	return nil
}

func scanSSOUser(row pgx.Row) (store.SSOUser, error) {
	var u store.SSOUser
	return u, row.Scan(&u.UserID, &u.Provider)
}

// importSSO writes snap's providers and provisioned users inside tx (after
// the users they refer to).
func importSSO(ctx context.Context, tx pgx.Tx, snap store.Snapshot) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"sso_providers"},
		[]string{"name", "issuer", "client_id", "client_secret", "username_claim", "scopes", "allow", "admin_if", "create_users", "created_at"},
		pgx.CopyFromSlice(len(snap.SSOProviders), func(i int) ([]any, error) {
			p := snap.SSOProviders[i]
			c, err := p.Columns()
			if err != nil {
				return nil, err
			}
			return []any{p.Name, p.Issuer, p.ClientID, p.ClientSecret, p.UsernameClaim, c.Scopes,
				c.Allow, c.AdminIf, p.CreateUsers, toDB(p.CreatedAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy sso providers: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"sso_users"}, []string{"user_id", "provider"},
		pgx.CopyFromSlice(len(snap.SSOUsers), func(i int) ([]any, error) {
			return []any{snap.SSOUsers[i].UserID, snap.SSOUsers[i].Provider}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy sso users: %w", err)
	}
	return nil
}
