package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// tokenColumns is what scanToken reads, in order.
const tokenColumns = `id, user_id, name, description, key_hint, created_at, expires_at, last_used_at, scopes`

// scanToken reads tokenColumns, plus any extra destinations after them.
func scanToken(row pgx.Row, extra ...any) (store.Token, error) {
	var t store.Token
	var created, expires time.Time
	var lastUsed *time.Time
	var scopes []string
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Description, &t.KeyHint, &created, &expires, &lastUsed, &scopes}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Token{}, err
	}
	t.Scopes = fromTextArray(scopes)
	t.CreatedAt = fromDB(created)
	t.ExpiresAt = fromDB(expires)
	if lastUsed != nil {
		at := fromDB(*lastUsed)
		t.LastUsedAt = &at
	}
	return t, nil
}

// maxReplayAttempts bounds CreateToken's insert-or-replay loop; see there.
const maxReplayAttempts = 3

// CreateToken stores a token, or replays an earlier create with the same
// idempotency key (see store.NewToken).
//
// With a key, the INSERT says ON CONFLICT (user_id, idempotency_key) DO
// NOTHING: two replicas sending the same key at once both reach the unique
// index, the second waits for the first to commit and then inserts nothing,
// so exactly one token is made. The loser then locks the winner's row and
// replays it. If that row is deleted in between, the insert is tried again.
func (s *Store) CreateToken(ctx context.Context, nt store.NewToken) (store.Token, bool, error) {
	var (
		tok      store.Token
		replayed bool
		err      error
	)
	for range maxReplayAttempts {
		tok, replayed, err = s.createOnce(ctx, nt)
		if !errors.Is(err, errRaced) {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrReplayed):
		return store.Token{}, false, fmt.Errorf("create token: %w", err)
	case errors.Is(err, store.ErrLimit):
		return store.Token{}, false, fmt.Errorf("create token: %d live tokens: %w", nt.MaxLive, err)
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return store.Token{}, false, fmt.Errorf("create token: %w", err)
	case isUniqueViolation(err):
		return store.Token{}, false, fmt.Errorf("create token %s: %w", nt.ID, store.ErrConflict)
	case isForeignKeyViolation(err):
		return store.Token{}, false, fmt.Errorf("create token: user %s: %w", nt.UserID, store.ErrNotFound)
	case err != nil:
		return store.Token{}, false, fmt.Errorf("create token %s: %w", nt.ID, err)
	}
	return tok, replayed, nil
}

// errRaced means the token holding an idempotency key vanished between the
// INSERT that saw it and the SELECT that came for it.
var errRaced = errors.New("idempotency key holder deleted concurrently")

const insertToken = `INSERT INTO tokens (id, user_id, name, description, key_hint, digest, created_at, expires_at, idempotency_key, request_hash, scopes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

func (s *Store) createOnce(ctx context.Context, nt store.NewToken) (tok store.Token, replayed bool, err error) {
	args := []any{nt.ID, nt.UserID, nt.Name, nt.Description, nt.KeyHint, nt.Digest[:],
		toDB(nt.CreatedAt), toDB(nt.ExpiresAt), nil, nil, textArray(nt.Scopes)}
	if _, audited := store.AuditFrom(ctx); nt.IdempotencyKey == "" && nt.MaxLive <= 0 && nt.SubjectTokenUse == nil && !audited {
		// One statement, its own transaction.
		tok, err = scanToken(s.pool.QueryRow(ctx, insertToken+` RETURNING `+tokenColumns, args...))
		return tok, false, err
	}
	if nt.IdempotencyKey != "" {
		args[8], args[9] = nt.IdempotencyKey, nt.RequestHash[:]
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if nt.MaxLive > 0 {
			// The user's row lock serialises this user's creates on every
			// replica, so the count below and the insert are one step.
			// (No row: the insert fails on the foreign key.)
			if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, nt.UserID); err != nil {
				return err
			}
			if nt.IdempotencyKey != "" {
				// A replay is never refused by the ceiling: look for the
				// holder of the key before counting.
				var held bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tokens WHERE user_id = $1 AND idempotency_key = $2)`,
					nt.UserID, nt.IdempotencyKey).Scan(&held); err != nil {
					return err
				}
				if held {
					return s.replay(ctx, tx, nt, &tok, &replayed)
				}
			}
			var live int
			if err := tx.QueryRow(ctx,
				`SELECT count(*) FROM (SELECT 1 FROM tokens WHERE user_id = $1 AND expires_at > $2 LIMIT $3) l`,
				nt.UserID, toDB(nt.CreatedAt), nt.MaxLive).Scan(&live); err != nil {
				return err
			}
			if live >= nt.MaxLive {
				return store.ErrLimit
			}
		}
		var err error
		if nt.IdempotencyKey == "" {
			tok, err = scanToken(tx.QueryRow(ctx, insertToken+` RETURNING `+tokenColumns, args...))
		} else {
			tok, err = scanToken(tx.QueryRow(ctx,
				insertToken+` ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING `+tokenColumns, args...))
			if errors.Is(err, pgx.ErrNoRows) {
				// A replay re-issues the secret and records no second event.
				return s.replay(ctx, tx, nt, &tok, &replayed)
			}
		}
		if err != nil {
			return err
		}
		// After the insert, so an idempotent replay above never meets it;
		// a replayed identity token rolls the insert back.
		if nt.SubjectTokenUse != nil {
			if err := recordSubjectTokenUse(ctx, tx, *nt.SubjectTokenUse, nt.CreatedAt); err != nil {
				return err
			}
		}
		// The event commits with the token or not at all.
		return audit(ctx, tx, store.CreatedEventType(ctx), tok)
	})
	return tok, replayed, err
}

// replay answers a create whose idempotency key is taken: it locks the
// holder and gives it nt's digest, or fails with ErrIdempotencyMismatch.
func (s *Store) replay(ctx context.Context, tx pgx.Tx, nt store.NewToken, tok *store.Token, replayed *bool) error {
	// At READ COMMITTED this statement sees the committed holder; FOR
	// UPDATE keeps a concurrent replay or delete out until the
	// transaction ends.
	var id string
	var prevHash []byte
	err := tx.QueryRow(ctx,
		`SELECT id, request_hash FROM tokens WHERE user_id = $1 AND idempotency_key = $2 FOR UPDATE`,
		nt.UserID, nt.IdempotencyKey).Scan(&id, &prevHash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errRaced
	case err != nil:
		return err
	case !bytes.Equal(prevHash, nt.RequestHash[:]):
		return store.ErrIdempotencyMismatch
	}
	// The caller never saw the first secret (or lost it), so it is
	// replaced: exactly one working secret per token.
	*tok, err = scanToken(tx.QueryRow(ctx,
		`UPDATE tokens SET digest = $1, key_hint = $2 WHERE id = $3 RETURNING `+tokenColumns,
		nt.Digest[:], nt.KeyHint, id))
	*replayed = err == nil
	return err
}

const byDigestQuery = `
SELECT t.id, t.user_id, t.name, t.description, t.key_hint, t.created_at, t.expires_at, t.last_used_at, t.scopes,
       u.id, u.username, u.password_hash, u.created_at, u.role, u.kind, u.disabled_at
  FROM tokens t JOIN users u ON u.id = t.user_id
 WHERE t.digest = $1`

// TokenByDigest is the authentication hot path: one read on the unique
// digest index joined to the owner by primary key. pgx prepares it once per
// connection and reuses the plan.
func (s *Store) TokenByDigest(ctx context.Context, digest [32]byte) (store.Token, store.User, error) {
	var u store.User
	var userCreated time.Time
	var disabled *time.Time
	t, err := scanToken(s.pool.QueryRow(ctx, byDigestQuery, digest[:]),
		&u.ID, &u.Username, &u.PasswordHash, &userCreated, &u.Role, &u.Kind, &disabled)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// No digest in the message: it identifies a secret.
		return store.Token{}, store.User{}, fmt.Errorf("token by digest: %w", store.ErrNotFound)
	case err != nil:
		return store.Token{}, store.User{}, fmt.Errorf("token by digest: %w", err)
	}
	u.CreatedAt = fromDB(userCreated)
	if disabled != nil {
		u.Disabled, u.DisabledAt = true, fromDB(*disabled)
	}
	return t, u, nil
}

// TouchToken records a use of the token. It reads first, so that the common
// case (used again within minInterval) is one index read and no write, no
// row lock and no WAL; the UPDATE re-checks the interval, so replicas
// touching the same token at once still write once.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time, minInterval time.Duration) error {
	var last *time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_used_at FROM tokens WHERE id = $1`, id).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("touch token %s: %w", id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	threshold := toDB(at.Add(-minInterval))
	if last != nil && last.After(threshold) {
		return nil
	}
	if _, err := s.pool.Exec(ctx,
		`UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		toDB(at), id, threshold); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// GetToken returns one of the user's tokens or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, userID, id string) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE `+ownerIs(userID, "$1")+` AND id = $2`, userID, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Token{}, fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	case err != nil:
		return store.Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return t, nil
}

// ScanTokens returns one bounded page of the user's tokens; see
// store.Store. With a filter, the filters are checked on a window of at
// most MaxScan rows of the (user_id, id) index, read in one REPEATABLE
// READ transaction with the count that tells whether the window was full.
// Without one every examined row matches, so the page is read straight off
// the index.
func (s *Store) ScanTokens(ctx context.Context, opts store.ListOptions) ([]store.Token, string, error) {
	windowed, err := opts.Windowed()
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}

	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var rows strings.Builder // the user's rows, newest first
	rows.WriteString(`FROM tokens WHERE ` + ownerIs(opts.UserID, arg(opts.UserID)))
	if opts.BeforeID != "" {
		rows.WriteString(` AND id < ` + arg(opts.BeforeID))
	}
	var q strings.Builder
	window := ""
	if windowed {
		window = rows.String() + ` ORDER BY id DESC LIMIT ` + arg(opts.MaxScan)
		q.WriteString(`SELECT ` + tokenColumns + ` FROM (SELECT * ` + window + `) w WHERE true`)
	} else {
		q.WriteString(`SELECT ` + tokenColumns + ` ` + rows.String())
	}
	nWindowArgs := len(args)
	switch opts.Status {
	case store.StatusAll:
	case store.StatusActive:
		q.WriteString(` AND expires_at > ` + arg(toDB(opts.Now)))
	case store.StatusExpired:
		q.WriteString(` AND expires_at <= ` + arg(toDB(opts.Now)))
	default:
		return nil, "", fmt.Errorf("list tokens: unknown status %d", opts.Status)
	}
	if opts.NameGlob != "" {
		q.WriteString(` AND name LIKE ` + arg(likePattern(opts.NameGlob)) + ` ESCAPE '\'`)
	}
	if len(opts.Scopes) > 0 {
		q.WriteString(` AND scopes @> ` + arg(textArray(opts.Scopes)) + `::text[]`)
	}
	if !opts.UnusedBefore.IsZero() {
		q.WriteString(` AND (last_used_at IS NULL OR last_used_at < ` + arg(toDB(opts.UnusedBefore)) + `)`)
	}
	if !opts.ExpiresBefore.IsZero() {
		q.WriteString(` AND expires_at < ` + arg(toDB(opts.ExpiresBefore)))
	}
	// One row past the page says whether the page ended the matches.
	q.WriteString(` ORDER BY id DESC LIMIT ` + arg(opts.Limit+1))

	var (
		toks []store.Token
		next string
	)
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q.String(), args...)
		if err != nil {
			return err
		}
		toks = make([]store.Token, 0, min(opts.Limit+1, 101))
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				rows.Close()
				return err
			}
			toks = append(toks, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(toks) > opts.Limit {
			toks = toks[:opts.Limit]
			next = toks[opts.Limit-1].ID
			return nil
		}
		if !windowed {
			return nil
		}
		var n int
		var last *string
		if err := tx.QueryRow(ctx, `SELECT count(*), min(id) FROM (SELECT id `+window+`) w`,
			args[:nWindowArgs]...).Scan(&n, &last); err != nil {
			return err
		}
		if n >= opts.MaxScan && last != nil {
			next = *last
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	return toks, next, nil
}

// likePattern turns our glob ('*' any run, '?' one character, everything
// else literal) into a LIKE pattern with '\' as the escape character. LIKE
// on the COLLATE "C" name column is case-sensitive and '_' matches one
// character (not byte), as GLOB does on SQLite.
func likePattern(glob string) string {
	var b strings.Builder
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DeleteToken removes one of the user's tokens or returns store.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, userID, id string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		t, err := scanToken(tx.QueryRow(ctx,
			`DELETE FROM tokens WHERE `+ownerIs(userID, "$1")+` AND id = $2 RETURNING `+tokenColumns, userID, id))
		if err != nil {
			return err
		}
		return audit(ctx, tx, store.EventTokenDeleted, t)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	return nil
}

// DeleteTokens removes the user's listed tokens with one statement (so one
// transaction): the ids travel as one text[] parameter and RETURNING says
// which of them existed.
func (s *Store) DeleteTokens(ctx context.Context, userID string, ids []string) (deleted, notFound []string, err error) {
	deleted, notFound = []string{}, []string{}
	if len(ids) == 0 {
		return deleted, notFound, nil
	}
	gone := make(map[string]bool, len(ids))
	err = s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`DELETE FROM tokens WHERE `+ownerIs(userID, "$1")+` AND id = ANY($2::text[]) RETURNING `+tokenColumns, userID, ids)
		if err != nil {
			return err
		}
		toks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Token, error) { return scanToken(row) })
		if err != nil {
			return err
		}
		for _, t := range toks {
			gone[t.ID] = true
		}
		return audit(ctx, tx, store.EventTokenDeleted, toks...)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("delete tokens: %w", err)
	}
	// Report in input order; an id listed twice was deleted by its first
	// mention, so its second one finds nothing.
	for _, id := range ids {
		if gone[id] {
			deleted = append(deleted, id)
			delete(gone, id)
		} else {
			notFound = append(notFound, id)
		}
	}
	return deleted, notFound, nil
}

// RotateToken gives one of the user's tokens a new digest and key hint and
// restarts its lifetime at now. The row is locked while its lifetime is
// read, so two rotations of one token on two replicas do not interleave.
func (s *Store) RotateToken(ctx context.Context, userID, id string, digest [32]byte, keyHint string, now, notAfter time.Time) (store.Token, error) {
	var tok store.Token
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var created, expires time.Time
		err := tx.QueryRow(ctx,
			`SELECT created_at, expires_at FROM tokens WHERE user_id = $1 AND id = $2 FOR UPDATE`, userID, id).
			Scan(&created, &expires)
		if err != nil {
			return err
		}
		if !now.Before(expires) {
			return store.ErrExpired
		}
		newExpiry := now.Add(expires.Sub(created))
		if !notAfter.IsZero() && newExpiry.After(notAfter) {
			newExpiry = notAfter
		}
		tok, err = scanToken(tx.QueryRow(ctx,
			`UPDATE tokens SET digest = $1, key_hint = $2, created_at = $3, expires_at = $4, last_used_at = NULL
			  WHERE id = $5 RETURNING `+tokenColumns,
			digest[:], keyHint, toDB(now), toDB(newExpiry), id))
		if err != nil {
			return err
		}
		return audit(ctx, tx, store.EventTokenRotated, tok)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Token{}, fmt.Errorf("rotate token %s: %w", id, store.ErrNotFound)
	case errors.Is(err, store.ErrExpired):
		return store.Token{}, fmt.Errorf("rotate token %s: %w", id, err)
	case isUniqueViolation(err):
		return store.Token{}, fmt.Errorf("rotate token %s: %w", id, store.ErrConflict)
	case err != nil:
		return store.Token{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	return tok, nil
}

// ownerIs is the condition that keeps userID's rows, with param (its
// placeholder, "$1") bound to userID: "user_id = $1", or for
// store.AnyUser a condition true of every row, so callers bind the same
// arguments either way.
func ownerIs(userID, param string) string {
	if userID == store.AnyUser {
		return param + `::text = '*'`
	}
	return `user_id = ` + param
}
