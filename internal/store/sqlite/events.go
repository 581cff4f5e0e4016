package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

const eventColumns = `id, user_id, time, type, token_id, token_name, token_key_hint, actor_kind,
actor_token_id, actor_token_name, client_address, user_agent, source, reason, trust_policy, claims, actor_user, detail`

// eventChunk is how many events one multi-row INSERT carries: 18 bound
// values each, well under SQLite's 32766. One statement per event costs
// about 5x more for a bulk delete of 1000, and JSON through json_each
// spends most of its time re-parsing each row.
const eventChunk = 100

// insertEvents returns the INSERT for n events.
func insertEvents(n int) string {
	row := `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	return `INSERT INTO events (` + eventColumns + `) VALUES ` + row + strings.Repeat(", "+row, n-1)
}

// addEvents inserts events inside tx, with their webhook deliveries.
func addEvents(ctx context.Context, tx *sql.Tx, evs []store.Event) error {
	if err := enqueueWebhooks(ctx, tx, evs); err != nil {
		return err
	}
	for _, e := range evs {
		if err := checkTime("event time", e.Time); err != nil {
			return err
		}
	}
	args := make([]any, 0, 18*min(len(evs), eventChunk))
	for len(evs) > 0 {
		chunk := evs[:min(len(evs), eventChunk)]
		evs = evs[len(chunk):]
		args = args[:0]
		for _, e := range chunk {
			policy, claims, err := eventTrust(e)
			if err != nil {
				return err
			}
			args = append(args, e.ID, eventUser(e), toDB(e.Time), e.Type, e.TokenID, e.TokenName, e.TokenKeyHint,
				e.ActorKind, e.ActorTokenID, e.ActorTokenName, e.ClientAddress, e.UserAgent, e.Source, e.Reason,
				policy, claims, e.ActorUser, e.Detail)
		}
		if _, err := tx.ExecContext(ctx, insertEvents(len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// eventUser is the user_id column of e: NULL for an event in no user's
// trail (a failed SSO sign-in of no known user, a provider error).
func eventUser(e store.Event) any {
	if e.UserID == "" {
		return nil
	}
	return e.UserID
}

// eventTrust is the trust_policy and claims columns of e: NULL when unset.
func eventTrust(e store.Event) (policy, claims any, err error) {
	if e.TrustPolicy != "" {
		policy = e.TrustPolicy
	}
	if len(e.Claims) > 0 {
		b, err := json.Marshal(e.Claims)
		if err != nil {
			return nil, nil, fmt.Errorf("event claims: %w", err)
		}
		claims = string(b)
	}
	return policy, claims, nil
}

// scanEvent reads a row of eventColumns.
func scanEvent(row scanner) (store.Event, error) {
	var e store.Event
	var at int64
	var user, policy, claims sql.NullString
	if err := row.Scan(&e.ID, &user, &at, &e.Type, &e.TokenID, &e.TokenName, &e.TokenKeyHint, &e.ActorKind,
		&e.ActorTokenID, &e.ActorTokenName, &e.ClientAddress, &e.UserAgent, &e.Source, &e.Reason, &policy, &claims,
		&e.ActorUser, &e.Detail); err != nil {
		return store.Event{}, err
	}
	e.Time = fromDB(at)
	e.UserID = user.String
	e.TrustPolicy = policy.String
	if claims.Valid {
		if err := json.Unmarshal([]byte(claims.String), &e.Claims); err != nil {
			return store.Event{}, fmt.Errorf("event %s claims: %w", e.ID, err)
		}
	}
	return e, nil
}

// audit records, inside tx, the events of type typ for toks when ctx
// carries a store.Audit.
func audit(ctx context.Context, tx *sql.Tx, typ string, toks ...store.Token) error {
	if err := addEvents(ctx, tx, store.AuditEvents(ctx, typ, toks...)); err != nil {
		return fmt.Errorf("record %s event: %w", typ, err)
	}
	return nil
}

// AddEvents stores events in one transaction.
func (s *Store) AddEvents(ctx context.Context, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return addEvents(ctx, tx, evs) })
	if isForeignKeyViolation(err) {
		return fmt.Errorf("add events: user: %w", store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	return nil
}

// ListEvents returns one page of the user's events, newest first: a
// backwards range scan of the (user_id, id) index, filters checked on the
// rows it visits.
func (s *Store) ListEvents(ctx context.Context, opts store.EventListOptions) ([]store.Event, error) {
	if opts.Limit < 1 || opts.Limit > store.MaxEventListLimit {
		return nil, fmt.Errorf("list events: limit %d is outside 1..%d", opts.Limit, store.MaxEventListLimit)
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + eventColumns + ` FROM events WHERE ` + ownerIs(opts.UserID))
	args := []any{opts.UserID}
	if opts.BeforeID != "" {
		q.WriteString(` AND id < ?`)
		args = append(args, opts.BeforeID)
	}
	if opts.TokenID != "" {
		q.WriteString(` AND token_id = ?`)
		args = append(args, opts.TokenID)
	}
	if len(opts.Types) > 0 {
		q.WriteString(` AND type IN (?` + strings.Repeat(`, ?`, len(opts.Types)-1) + `)`)
		for _, t := range opts.Types {
			args = append(args, t)
		}
	}
	if !opts.Since.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, clampDB(opts.Since))
	}
	if !opts.Until.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, clampDB(opts.Until))
	}
	q.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, opts.Limit)
	// Not through the statement cache: the number of types varies.
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	evs := make([]store.Event, 0, min(opts.Limit, 100))
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// clampDB is toDB for a filter bound, which may lie outside what int64
// nanoseconds hold.
func clampDB(t time.Time) int64 {
	switch {
	case t.Year() < 1678:
		return -1 << 63
	case t.Year() > 2261:
		return 1<<63 - 1
	}
	return toDB(t)
}

// PruneEvents deletes up to limit of the oldest events before the cut-off.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune events: limit must be positive")
	}
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? ORDER BY time LIMIT ?)`,
			clampDB(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(n), nil
}

// RevokeByDigests deletes every token with a listed digest that is live at
// now, whoever owns it, and records a token.revoked_leaked event for each
// when ctx carries a store.Audit, all in one transaction.
func (s *Store) RevokeByDigests(ctx context.Context, digests [][32]byte, now time.Time) ([]store.Token, error) {
	var toks []store.Token
	if len(digests) == 0 {
		return toks, nil
	}
	if err := checkTime("now", now); err != nil {
		return nil, fmt.Errorf("revoke tokens: %w", err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM tokens WHERE digest = ? AND expires_at > ? RETURNING `+tokenColumns)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, d := range digests {
			t, err := scanToken(stmt.QueryRowContext(ctx, d[:], toDB(now)))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			toks = append(toks, t)
		}
		return audit(ctx, tx, store.EventTokenRevokedLeaked, toks...)
	})
	if err != nil {
		return nil, fmt.Errorf("revoke tokens: %w", err)
	}
	return toks, nil
}

// ExpireUnused expires up to limit unused tokens, oldest first, in one
// short transaction (the sweep calls it until it returns fewer).
func (s *Store) ExpireUnused(ctx context.Context, before, now time.Time, limit int) ([]store.Token, error) {
	if limit < 1 {
		return nil, errors.New("expire unused tokens: limit must be positive")
	}
	if err := checkTime("now", now); err != nil {
		return nil, fmt.Errorf("expire unused tokens: %w", err)
	}
	var toks []store.Token
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens
			 WHERE expires_at > ? AND created_at < ? AND (last_used_at IS NULL OR last_used_at < ?)
			 ORDER BY id LIMIT ?`, toDB(now), clampDB(before), clampDB(before), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				rows.Close()
				return err
			}
			toks = append(toks, t)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, t := range toks {
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET expires_at = ? WHERE id = ?`, toDB(now), t.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, store.EventTokenExpiredUnused, toks...)
	})
	if err != nil {
		return nil, fmt.Errorf("expire unused tokens: %w", err)
	}
	return toks, nil
}
