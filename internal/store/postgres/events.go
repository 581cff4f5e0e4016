package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

const eventColumns = `id, user_id, time, type, token_id, token_name, token_key_hint, actor_kind,
actor_token_id, actor_token_name, client_address, user_agent, source, reason, trust_policy, claims, actor_user, detail`

// insertEvents inserts any number of events in one round trip: each column
// travels as one array and unnest zips them into rows. An empty user_id is
// NULL: an event in no user's trail.
const insertEvents = `INSERT INTO events (` + eventColumns + `)
SELECT id, NULLIF(user_id, ''), time, type, token_id, token_name, token_key_hint, actor_kind, actor_token_id,
       actor_token_name, client_address, user_agent, source, reason, trust_policy, claims, actor_user, detail
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
            $15::text[], $16::text[], $17::text[], $18::text[])
     AS e(` + eventColumns + `)`

// addEvents inserts events inside tx, with their webhook deliveries.
func addEvents(ctx context.Context, tx pgx.Tx, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := enqueueWebhooks(ctx, tx, evs); err != nil {
		return err
	}
	n := len(evs)
	cols := make([][]string, 15)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	times := make([]time.Time, n)
	policies := make([]*string, n) // NULL unless set
	claims := make([]*string, n)
	for i, e := range evs {
		times[i] = toDB(e.Time)
		var err error
		if policies[i], claims[i], err = eventTrust(e); err != nil {
			return err
		}
		for j, v := range []string{e.ID, e.UserID, e.Type, e.TokenID, e.TokenName, e.TokenKeyHint, e.ActorKind,
			e.ActorTokenID, e.ActorTokenName, e.ClientAddress, e.UserAgent, e.Source, e.Reason, e.ActorUser, e.Detail} {
			cols[j][i] = v
		}
	}
	_, err := tx.Exec(ctx, insertEvents, cols[0], cols[1], times, cols[2], cols[3], cols[4], cols[5],
		cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], cols[12], policies, claims, cols[13], cols[14])
	return err
}

// eventUser is the user_id column of e: nil (NULL) for an event in no
// user's trail (a failed SSO sign-in of no known user, a provider error).
func eventUser(e store.Event) *string {
	if e.UserID == "" {
		return nil
	}
	return &e.UserID
}

// eventTrust is the trust_policy and claims columns of e: nil (NULL)
// when unset, claims as a JSON object.
func eventTrust(e store.Event) (policy, claims *string, err error) {
	if e.TrustPolicy != "" {
		policy = &e.TrustPolicy
	}
	if len(e.Claims) > 0 {
		b, err := json.Marshal(e.Claims)
		if err != nil {
			return nil, nil, fmt.Errorf("event %s claims: %w", e.ID, err)
		}
		c := string(b)
		claims = &c
	}
	return policy, claims, nil
}

// audit records, inside tx, the events of type typ for toks when ctx
// carries a store.Audit.
func audit(ctx context.Context, tx pgx.Tx, typ string, toks ...store.Token) error {
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
	err := s.tx(ctx, func(tx pgx.Tx) error { return addEvents(ctx, tx, evs) })
	if isForeignKeyViolation(err) {
		return fmt.Errorf("add events: user: %w", store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	return nil
}

// ListEvents returns one page of the user's events, newest first.
func (s *Store) ListEvents(ctx context.Context, opts store.EventListOptions) ([]store.Event, error) {
	if opts.Limit < 1 || opts.Limit > store.MaxEventListLimit {
		return nil, fmt.Errorf("list events: limit %d is outside 1..%d", opts.Limit, store.MaxEventListLimit)
	}
	var q strings.Builder
	args := []any{opts.UserID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q.WriteString(`SELECT ` + eventColumns + ` FROM events WHERE ` + ownerIs(opts.UserID, "$1"))
	if opts.BeforeID != "" {
		q.WriteString(` AND id < ` + arg(opts.BeforeID))
	}
	if opts.TokenID != "" {
		q.WriteString(` AND token_id = ` + arg(opts.TokenID))
	}
	if len(opts.Types) > 0 {
		q.WriteString(` AND type = ANY(` + arg(opts.Types) + `::text[])`)
	}
	if !opts.Since.IsZero() {
		q.WriteString(` AND time >= ` + arg(toDB(opts.Since)))
	}
	if !opts.Until.IsZero() {
		q.WriteString(` AND time < ` + arg(toDB(opts.Until)))
	}
	q.WriteString(` ORDER BY id DESC LIMIT ` + arg(opts.Limit))
	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if evs == nil {
		evs = []store.Event{}
	}
	return evs, nil
}

// scanEvent reads a row of eventColumns.
func scanEvent(row pgx.CollectableRow) (store.Event, error) {
	var e store.Event
	var user, policy, claims *string
	if err := row.Scan(&e.ID, &user, &e.Time, &e.Type, &e.TokenID, &e.TokenName, &e.TokenKeyHint, &e.ActorKind,
		&e.ActorTokenID, &e.ActorTokenName, &e.ClientAddress, &e.UserAgent, &e.Source, &e.Reason, &policy, &claims,
		&e.ActorUser, &e.Detail); err != nil {
		return store.Event{}, err
	}
	e.Time = fromDB(e.Time)
	if user != nil {
		e.UserID = *user
	}
	if policy != nil {
		e.TrustPolicy = *policy
	}
	if claims != nil {
		if err := json.Unmarshal([]byte(*claims), &e.Claims); err != nil {
			return store.Event{}, fmt.Errorf("event %s claims: %w", e.ID, err)
		}
	}
	return e, nil
}

// PruneEvents deletes up to limit of the oldest events before the cut-off.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune events: limit must be positive")
	}
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < $1 ORDER BY time LIMIT $2)`,
		toDB(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// RevokeByDigests deletes every token with a listed digest that is live at
// now, whoever owns it, and records a token.revoked_leaked event for each
// when ctx carries a store.Audit, all in one transaction.
func (s *Store) RevokeByDigests(ctx context.Context, digests [][32]byte, now time.Time) ([]store.Token, error) {
	var toks []store.Token
	if len(digests) == 0 {
		return toks, nil
	}
	list := make([][]byte, len(digests))
	for i := range digests {
		list[i] = digests[i][:]
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM tokens WHERE digest = ANY($1::bytea[]) AND expires_at > $2 RETURNING `+tokenColumns, list, toDB(now))
		if err != nil {
			return err
		}
		toks, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Token, error) { return scanToken(row) })
		if err != nil {
			return err
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
// SKIP LOCKED lets two replicas sweep at once without waiting on each other.
func (s *Store) ExpireUnused(ctx context.Context, before, now time.Time, limit int) ([]store.Token, error) {
	if limit < 1 {
		return nil, errors.New("expire unused tokens: limit must be positive")
	}
	var toks []store.Token
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+tokenColumns+` FROM tokens
			 WHERE expires_at > $1 AND created_at < $2 AND (last_used_at IS NULL OR last_used_at < $2)
			 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`, toDB(now), toDB(before), limit)
		if err != nil {
			return err
		}
		toks, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Token, error) { return scanToken(row) })
		if err != nil {
			return err
		}
		ids := make([]string, len(toks))
		for i, t := range toks {
			ids[i] = t.ID
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET expires_at = $1 WHERE id = ANY($2::text[])`, toDB(now), ids); err != nil {
			return err
		}
		return audit(ctx, tx, store.EventTokenExpiredUnused, toks...)
	})
	if err != nil {
		return nil, fmt.Errorf("expire unused tokens: %w", err)
	}
	return toks, nil
}
