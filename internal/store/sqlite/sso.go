package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

const ssoProviderColumns = `name, issuer, client_id, client_secret, username_claim, scopes, allow, admin_if, create_users, created_at`

func scanSSOProvider(row scanner) (store.SSOProvider, error) {
	var p store.SSOProvider
	var c store.SSOColumns
	var create, created int64
	if err := row.Scan(&p.Name, &p.Issuer, &p.ClientID, &p.ClientSecret, &p.UsernameClaim, &c.Scopes, &c.Allow, &c.AdminIf, &create, &created); err != nil {
		return store.SSOProvider{}, err
	}
	if err := p.SetColumns(c); err != nil {
		return store.SSOProvider{}, err
	}
	p.CreateUsers = create == 1
	p.CreatedAt = fromDB(created)
	return p, nil
}

// CreateSSOProvider adds a provider; store.ErrConflict when the name is taken.
func (s *Store) CreateSSOProvider(ctx context.Context, p store.SSOProvider) error {
	if err := checkTime("created_at", p.CreatedAt); err != nil {
		return fmt.Errorf("create sso provider %s: %w", p.Name, err)
	}
	c, err := p.Columns()
	if err != nil {
		return fmt.Errorf("create sso provider %s: %w", p.Name, err)
	}
	create := 0
	if p.CreateUsers {
		create = 1
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_providers (`+ssoProviderColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Name, p.Issuer, p.ClientID, p.ClientSecret, p.UsernameClaim, c.Scopes, c.Allow, c.AdminIf, create, toDB(p.CreatedAt))
		return err
	})
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
	rows, err := s.query(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers ORDER BY name`)
	out, err := collect(rows, err, scanSSOProvider)
	if err != nil {
		return nil, fmt.Errorf("list sso providers: %w", err)
	}
	return out, nil
}

// SSOProviderByName returns one provider or store.ErrNotFound.
func (s *Store) SSOProviderByName(ctx context.Context, name string) (store.SSOProvider, error) {
	p, err := scanSSOProvider(s.queryRow(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.SSOProvider{}, fmt.Errorf("sso provider %s: %w", name, store.ErrNotFound)
	case err != nil:
		return store.SSOProvider{}, fmt.Errorf("sso provider %s: %w", name, err)
	}
	return p, nil
}

// DeleteSSOProvider removes a provider or returns store.ErrNotFound.
func (s *Store) DeleteSSOProvider(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM sso_providers WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete sso provider %s: %w", name, err)
	}
	return nil
}

// pruneBatch bounds how many expired rows one create forgets, so a backlog
// never makes a single request slow.
const pruneBatch = 256

// CreateDeviceCode stores a pending authorization.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	if err := checkTime("created_at", d.CreatedAt); err != nil {
		return fmt.Errorf("create device code: %w", err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_codes WHERE digest IN
			(SELECT digest FROM device_codes WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			toDB(d.CreatedAt), pruneBatch); err != nil {
			return err
		}
		if d.MaxPending > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM device_codes
				WHERE expires_at > ? AND state = 'pending' LIMIT ?)`, toDB(d.CreatedAt), d.MaxPending).Scan(&n); err != nil {
				return err
			}
			if n >= d.MaxPending {
				return fmt.Errorf("%d codes pending: %w", n, store.ErrLimit)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO device_codes
			(digest, user_code, client_host, client_addr, created_at, expires_at, interval_ns, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`,
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

func scanDeviceCode(row scanner) (store.DeviceCode, error) {
	var d store.DeviceCode
	var digest []byte
	var created, expires, interval, lastPoll int64
	var state string
	if err := row.Scan(&digest, &d.UserCode, &d.ClientHost, &d.ClientAddr, &created, &expires, &interval, &state, &d.UserID, &lastPoll, &d.Username); err != nil {
		return store.DeviceCode{}, err
	}
	copy(d.Digest[:], digest)
	d.CreatedAt, d.ExpiresAt = fromDB(created), fromDB(expires)
	d.Interval = time.Duration(interval)
	d.State = store.DeviceState(state)
	if lastPoll != 0 {
		d.LastPollAt = fromDB(lastPoll)
	}
	return d, nil
}

// DeviceCodeByUserCode returns the authorization with this user code.
func (s *Store) DeviceCodeByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error) {
	d, err := scanDeviceCode(s.queryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_code = ?`, userCode))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.DeviceCode{}, fmt.Errorf("device code: %w", store.ErrNotFound)
	case err != nil:
		return store.DeviceCode{}, fmt.Errorf("device code: %w", err)
	}
	return d, nil
}

// DecideDeviceCode approves or denies a pending authorization.
func (s *Store) DecideDeviceCode(ctx context.Context, userCode string, approve bool, userID string, now time.Time) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_code = ?`, userCode))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := store.CheckDecidable(d, now); err != nil {
			return err
		}
		state, uid := store.DeviceDenied, any(nil)
		if approve {
			state, uid = store.DeviceApproved, userID
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET state = ?, user_id = ? WHERE user_code = ?`, string(state), uid, userCode)
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
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE digest = ?`, digest[:]))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		next := store.AfterPoll(d, now)
		slow = next.Interval != d.Interval
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET last_poll_at = ?, interval_ns = ?, state = ? WHERE digest = ?`,
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
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sso_logins WHERE state_digest IN
			(SELECT state_digest FROM sso_logins WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			toDB(time.Now()), pruneBatch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_logins
			(state_digest, session_digest, provider, user_code, nonce, verifier, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
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

// TakeSSOLogin removes and returns an unexpired login.
func (s *Store) TakeSSOLogin(ctx context.Context, stateDigest [32]byte, now time.Time) (store.SSOLogin, error) {
	var l store.SSOLogin
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var sess []byte
		var exp int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sso_logins WHERE state_digest = ?
			RETURNING session_digest, provider, user_code, nonce, verifier, expires_at`, stateDigest[:]).
			Scan(&sess, &l.Provider, &l.UserCode, &l.Nonce, &l.Verifier, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		copy(l.SessionDigest[:], sess)
		l.StateDigest, l.ExpiresAt = stateDigest, fromDB(exp)
		if !now.Before(l.ExpiresAt) {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return store.SSOLogin{}, fmt.Errorf("sso login: %w", err)
	}
	return l, nil
}

// CreateSSOUser adds a password-less user and who provisioned it, in one
// transaction.
func (s *Store) CreateSSOUser(ctx context.Context, u store.User, provider string) error {
	if err := checkTime("created_at", u.CreatedAt); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, '', ?)`,
			u.ID, u.Username, toDB(u.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_users (user_id, provider) VALUES (?, ?)`, u.ID, provider)
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
	err := s.queryRow(ctx, `SELECT provider FROM sso_users WHERE user_id = ?`, userID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("user sso provider: %w", err)
	}
	return p, nil
}

// exportSSO reads every provider and provisioned user inside tx.
func exportSSO(ctx context.Context, tx *sql.Tx, snap *store.Snapshot) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+ssoProviderColumns+` FROM sso_providers ORDER BY name`)
	if snap.SSOProviders, err = collect(rows, err, scanSSOProvider); err != nil {
		return fmt.Errorf("sso providers: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT user_id, provider FROM sso_users ORDER BY user_id`)
	if snap.SSOUsers, err = collect(rows, err, scanSSOUser); err != nil {
		return fmt.Errorf("sso users: %w", err)
	}
	return nil
}

func scanSSOUser(row scanner) (store.SSOUser, error) {
	var u store.SSOUser
	return u, row.Scan(&u.UserID, &u.Provider)
}
