package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// tokenColumns is what scanToken reads, in order.
const tokenColumns = `id, user_id, name, description, key_hint, created_at, expires_at, last_used_at, scopes`

type scanner interface{ Scan(dest ...any) error }

// collect scans every row of a query's answer (rows, err) with scan and
// closes rows: [] rather than nil when there are none.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanToken reads tokenColumns, plus any extra destinations after them.
func scanToken(row scanner, extra ...any) (store.Token, error) {
	var t store.Token
	var created, expires int64
	var lastUsed sql.NullInt64
	var scopes string
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Description, &t.KeyHint, &created, &expires, &lastUsed, &scopes}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Token{}, err
	}
	t.Scopes = splitScopes(scopes)
	t.CreatedAt = fromDB(created)
	t.ExpiresAt = fromDB(expires)
	if lastUsed.Valid {
		at := fromDB(lastUsed.Int64)
		t.LastUsedAt = &at
	}
	return t, nil
}

// checkTime rejects times that Unix nanoseconds in an int64 cannot hold
// (before 1678 or after 2262), such as a zero time.Time.
func checkTime(field string, t time.Time) error {
	if y := t.Year(); y < 1678 || y > 2261 {
		return fmt.Errorf("%s %s is out of range", field, t.Format(time.RFC3339))
	}
	return nil
}

// CreateToken stores a token, or replays an earlier create with the same
// idempotency key (see store.NewToken).
func (s *Store) CreateToken(ctx context.Context, nt store.NewToken) (store.Token, bool, error) {
	if err := errors.Join(checkTime("created_at", nt.CreatedAt), checkTime("expires_at", nt.ExpiresAt)); err != nil {
		return store.Token{}, false, fmt.Errorf("create token: %w", err)
	}
	var (
		tok      store.Token
		replayed bool
	)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var key, hash any // NULL unless the create is idempotent
		if nt.IdempotencyKey != "" {
			key, hash = nt.IdempotencyKey, nt.RequestHash[:]
			var id string
			var prevHash []byte
			err := tx.QueryRowContext(ctx,
				`SELECT id, request_hash FROM tokens WHERE user_id = ? AND idempotency_key = ?`,
				nt.UserID, nt.IdempotencyKey).Scan(&id, &prevHash)
			switch {
			case err == nil:
				if !bytes.Equal(prevHash, nt.RequestHash[:]) {
					return store.ErrIdempotencyMismatch
				}
				// The caller never saw the first secret (or lost it), so it
				// is replaced: exactly one working secret per token.
				tok, err = scanToken(tx.QueryRowContext(ctx,
					`UPDATE tokens SET digest = ?, key_hint = ? WHERE id = ? RETURNING `+tokenColumns,
					nt.Digest[:], nt.KeyHint, id))
				replayed = true
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		// Writes are serialised on one connection in BEGIN IMMEDIATE
		// transactions, so this count and the insert below are atomic.
		if nt.MaxLive > 0 {
			var live int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM (SELECT 1 FROM tokens WHERE user_id = ? AND expires_at > ? LIMIT ?)`,
				nt.UserID, toDB(nt.CreatedAt), nt.MaxLive).Scan(&live); err != nil {
				return err
			}
			if live >= nt.MaxLive {
				return store.ErrLimit
			}
		}
		var err error
		tok, err = scanToken(tx.QueryRowContext(ctx,
			`INSERT INTO tokens (id, user_id, name, description, key_hint, digest, created_at, expires_at, idempotency_key, request_hash, scopes)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+tokenColumns,
			nt.ID, nt.UserID, nt.Name, nt.Description, nt.KeyHint, nt.Digest[:],
			toDB(nt.CreatedAt), toDB(nt.ExpiresAt), key, hash, joinScopes(nt.Scopes)))
		if err != nil {
			return err
		}
		// After the insert, so an idempotent replay above never meets it.
		if nt.SubjectTokenUse != nil {
			if err := recordSubjectTokenUse(ctx, tx, *nt.SubjectTokenUse, nt.CreatedAt); err != nil {
				return err // rolls the insert back
			}
		}
		return audit(ctx, tx, store.CreatedEventType(ctx), tok)
	})
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

// byDigestQuery answers the whole row as one text value: a header of
// byte lengths and integers, then the strings back to back. Through
// database/sql and the driver every result column costs allocations (its
// name, its declared type, its value) on every query; one column instead of
// twelve makes this read, the authentication hot path, about thirty
// allocations cheaper. The byte lengths make the packing unambiguous
// whatever the strings hold, and unpackRow checks them against the total.
// u.id is t.user_id by the join, so it is not sent twice. The alias keeps
// the column's name, which the driver copies on every query, short.
const byDigestQuery = `
SELECT printf('%d %d %d %d %d %d %d %d %d %d %d %d %s %d %s|',
              octet_length(t.id), octet_length(t.user_id), octet_length(t.name),
              octet_length(t.description), octet_length(t.key_hint),
              octet_length(u.username), octet_length(u.password_hash), octet_length(t.scopes),
              octet_length(u.role), octet_length(u.kind),
              t.created_at, t.expires_at, ifnull(t.last_used_at, '-'), u.created_at, ifnull(u.disabled_at, '-'))
       || t.id || t.user_id || t.name || t.description || t.key_hint || u.username || u.password_hash || t.scopes
       || u.role || u.kind
       AS packed
  FROM tokens t JOIN users u ON u.id = t.user_id
 WHERE t.digest = ?`

// tokenByDigest is TokenByDigest's read of the store (tokencache.go): one
// read on the unique digest index joined to the owner by primary key.
func (s *Store) tokenByDigest(ctx context.Context, digest [32]byte) (store.Token, store.User, error) {
	row, err := s.digests.lookup(ctx, &digest)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// No digest in the message: it identifies a secret.
		return store.Token{}, store.User{}, fmt.Errorf("token by digest: %w", store.ErrNotFound)
	case err != nil:
		return store.Token{}, store.User{}, fmt.Errorf("token by digest: %w", err)
	}
	t, u, ok := unpackRow(row)
	if !ok {
		// Never the row itself: it holds a password hash.
		return store.Token{}, store.User{}, errors.New("token by digest: malformed packed row")
	}
	return t, u, nil
}

// unpackRow splits what byDigestQuery returns. The strings it returns share
// row's memory.
func unpackRow(row string) (t store.Token, u store.User, ok bool) {
	head, rest, ok := strings.Cut(row, "|")
	if !ok {
		return t, u, false
	}
	// Ten byte lengths, then created, expires, last used ("-" for NULL),
	// the user's created and disabled ("-" for NULL).
	const nstr = 10
	var n [nstr + 5]int64
	var null [len(n)]bool
	for i := range n {
		var f string
		if i < len(n)-1 {
			if f, head, ok = strings.Cut(head, " "); !ok {
				return t, u, false
			}
		} else {
			f, head = head, ""
		}
		if (i == nstr+2 || i == nstr+4) && f == "-" {
			null[i] = true
			continue
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil || (i < nstr && v < 0) {
			return t, u, false
		}
		n[i] = v
	}
	var total int64
	for _, l := range n[:nstr] {
		total += l
	}
	if total != int64(len(rest)) {
		return t, u, false
	}
	var strs [nstr]string
	for i := range strs {
		strs[i], rest = rest[:n[i]], rest[n[i]:]
	}
	t = store.Token{ID: strs[0], UserID: strs[1], Name: strs[2], Description: strs[3], KeyHint: strs[4],
		CreatedAt: fromDB(n[nstr]), ExpiresAt: fromDB(n[nstr+1]), Scopes: splitScopes(strs[7])}
	if !null[nstr+2] {
		at := fromDB(n[nstr+2])
		t.LastUsedAt = &at
	}
	u = store.User{ID: strs[1], Username: strs[5], PasswordHash: strs[6], CreatedAt: fromDB(n[nstr+3]),
		Role: strs[8], Kind: strs[9]}
	if !null[nstr+4] {
		u.Disabled, u.DisabledAt = true, fromDB(n[nstr+4])
	}
	return t, u, true
}

// TouchToken records a use of the token. It reads first, so that the common
// case (used again within minInterval) costs no write lock at all; the
// update re-checks the interval, so racing touches still write once.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time, minInterval time.Duration) error {
	if err := checkTime("last_used_at", at); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	var last sql.NullInt64
	err := s.queryRow(ctx, `SELECT last_used_at FROM tokens WHERE id = ?`, id).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("touch token %s: %w", id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	threshold := toDB(at.Add(-minInterval))
	if last.Valid && last.Int64 > threshold {
		return nil
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
			toDB(at), id, threshold)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// GetToken returns one of the user's tokens or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, userID, id string) (store.Token, error) {
	t, err := scanToken(s.queryRow(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE `+ownerIs(userID)+` AND id = ?`, userID, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Token{}, fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	case err != nil:
		return store.Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return t, nil
}

// ScanTokens returns one bounded page of the user's tokens; see
// store.Store. With a filter, the filters are checked on a window of at
// most MaxScan rows of the (user_id, id) index, read in one read
// transaction with the count that tells whether the window was full.
// Without one every examined row matches, so the page is read straight off
// the index.
func (s *Store) ScanTokens(ctx context.Context, opts store.ListOptions) ([]store.Token, string, error) {
	windowed, err := opts.Windowed()
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}

	var rows strings.Builder // the user's rows, newest first
	rows.WriteString(`FROM tokens WHERE ` + ownerIs(opts.UserID))
	rargs := []any{opts.UserID}
	if opts.BeforeID != "" {
		rows.WriteString(` AND id < ?`)
		rargs = append(rargs, opts.BeforeID)
	}
	window := rows.String() + ` ORDER BY id DESC LIMIT ?`
	wargs := append(append([]any{}, rargs...), opts.MaxScan)

	var q strings.Builder
	var args []any
	if windowed {
		q.WriteString(`SELECT ` + tokenColumns + ` FROM (SELECT * ` + window + `) WHERE 1 = 1`)
		args = append(args, wargs...)
	} else {
		q.WriteString(`SELECT ` + tokenColumns + ` ` + rows.String())
		args = append(args, rargs...)
	}
	switch opts.Status {
	case store.StatusAll:
	case store.StatusActive:
		q.WriteString(` AND expires_at > ?`)
		args = append(args, toDB(opts.Now))
	case store.StatusExpired:
		q.WriteString(` AND expires_at <= ?`)
		args = append(args, toDB(opts.Now))
	default:
		return nil, "", fmt.Errorf("list tokens: unknown status %d", opts.Status)
	}
	if opts.NameGlob != "" {
		q.WriteString(` AND name GLOB ?`)
		args = append(args, sqliteGlob(opts.NameGlob))
	}
	args = appendScopeFilter(&q, args, opts.Scopes)
	if !opts.UnusedBefore.IsZero() {
		q.WriteString(` AND (last_used_at IS NULL OR last_used_at < ?)`)
		args = append(args, clampDB(opts.UnusedBefore))
	}
	if !opts.ExpiresBefore.IsZero() {
		q.WriteString(` AND expires_at < ?`)
		args = append(args, clampDB(opts.ExpiresBefore))
	}
	// One row past the page says whether the page ended the matches.
	q.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, opts.Limit+1)

	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	toks, err := func() ([]store.Token, error) {
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		toks := make([]store.Token, 0, min(opts.Limit+1, 101))
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
		}
		return toks, rows.Err()
	}()
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	if len(toks) > opts.Limit {
		return toks[:opts.Limit], toks[opts.Limit-1].ID, nil
	}
	if !windowed {
		return toks, "", nil
	}
	var n int
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(id) FROM (SELECT id `+window+`)`, wargs...).Scan(&n, &last); err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	if n < opts.MaxScan {
		return toks, "", nil
	}
	return toks, last.String, nil
}

// ownerIs is the condition that keeps userID's rows, taking userID as its
// one parameter: "user_id = ?", or for store.AnyUser a condition true of
// every row, so callers bind the same arguments either way.
func ownerIs(userID string) string {
	if userID == store.AnyUser {
		return `? = '*'`
	}
	return `user_id = ?`
}

// sqliteGlob turns our glob ('*' and '?' special, all else literal) into a
// pattern for SQLite's case-sensitive GLOB, whose only other special
// character is '[': it is written as the one-character class "[[]".
// (']' and '^' are special only inside a class.)
func sqliteGlob(glob string) string {
	return strings.ReplaceAll(glob, "[", "[[]")
}

// DeleteToken removes one of the user's tokens or returns store.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, userID, id string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx,
			`DELETE FROM tokens WHERE `+ownerIs(userID)+` AND id = ? RETURNING `+tokenColumns, userID, id))
		if err != nil {
			return err
		}
		return audit(ctx, tx, store.EventTokenDeleted, t)
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	return nil
}

// DeleteTokens removes the user's listed tokens with one statement in one
// transaction: the ids travel as a JSON array, which json_each turns into
// rows, and RETURNING says which of them existed.
func (s *Store) DeleteTokens(ctx context.Context, userID string, ids []string) (deleted, notFound []string, err error) {
	deleted, notFound = []string{}, []string{}
	if len(ids) == 0 {
		return deleted, notFound, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, nil, fmt.Errorf("delete tokens: %w", err)
	}
	gone := make(map[string]bool, len(ids))
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM tokens WHERE `+ownerIs(userID)+` AND id IN (SELECT value FROM json_each(?)) RETURNING `+tokenColumns,
			userID, string(list))
		if err != nil {
			return err
		}
		var toks []store.Token
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				rows.Close()
				return err
			}
			gone[t.ID] = true
			toks = append(toks, t)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
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
// restarts its lifetime at now. LastUsedAt is cleared: the new secret has
// not been used yet.
func (s *Store) RotateToken(ctx context.Context, userID, id string, digest [32]byte, keyHint string, now, notAfter time.Time) (store.Token, error) {
	if err := checkTime("now", now); err != nil {
		return store.Token{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	var tok store.Token
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx,
			`SELECT created_at, expires_at FROM tokens WHERE user_id = ? AND id = ?`, userID, id).
			Scan(&created, &expires)
		if err != nil {
			return err
		}
		if toDB(now) >= expires {
			return store.ErrExpired
		}
		newExpiry := now.Add(time.Duration(expires - created))
		if !notAfter.IsZero() && newExpiry.After(notAfter) {
			newExpiry = notAfter
		}
		if err := checkTime("expires_at", newExpiry); err != nil {
			return err
		}
		tok, err = scanToken(tx.QueryRowContext(ctx,
			`UPDATE tokens SET digest = ?, key_hint = ?, created_at = ?, expires_at = ?, last_used_at = NULL
			  WHERE id = ? RETURNING `+tokenColumns,
			digest[:], keyHint, toDB(now), toDB(newExpiry), id))
		if err != nil {
			return err
		}
		return audit(ctx, tx, store.EventTokenRotated, tok)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
