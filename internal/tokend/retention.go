package tokend

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// DefaultAuditRetention is how long audit events are kept: 400 days, so a
// yearly review still sees the whole previous year.
const DefaultAuditRetention = 9600 * time.Hour

const (
	// pruneInterval is how often expired events are looked for.
	pruneInterval = time.Hour
	// pruneBatch events are deleted per transaction, and pruneRest is the
	// pause between batches: each write holds SQLite's one write lock only
	// briefly, so requests never wait behind a prune of a year's events.
	pruneBatch = 500
	pruneRest  = 20 * time.Millisecond
)

// pruneEvents deletes every event older than cutoff, pruneBatch at a time,
// and returns how many it deleted. It stops early when ctx ends.
func pruneEvents(ctx context.Context, st store.EventStore, cutoff time.Time) (int, error) {
	total := 0
	for {
		n, err := st.PruneEvents(ctx, cutoff, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(pruneRest):
		}
	}
}

// runPruner prunes events older than retention now and then every interval
// until ctx ends. Failures are logged and retried at the next interval.
func runPruner(ctx context.Context, st store.EventStore, retention, interval time.Duration, now func() time.Time, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := pruneEvents(ctx, st, now().Add(-retention))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("prune audit events", "error", err.Error(), "deleted", n)
		case n > 0:
			logger.Info("pruned audit events", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expireUnusedBatch tokens are expired per transaction, like pruneBatch.
const expireUnusedBatch = 500

// expireUnused expires every token unused for after (never used, or last
// used, and created, before now-after), expireUnusedBatch at a time, each
// with a token.expired_unused event by the operator, and returns how many.
func expireUnused(ctx context.Context, st store.EventStore, after time.Duration, now time.Time) (int, error) {
	ctx = store.WithAudit(ctx, store.Audit{At: now.UTC().Truncate(time.Millisecond), ActorKind: store.ActorOperator})
	total := 0
	for {
		toks, err := st.ExpireUnused(ctx, now.Add(-after), now, expireUnusedBatch)
		total += len(toks)
		if err != nil || len(toks) < expireUnusedBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(pruneRest):
		}
	}
}

// runUnusedSweeper expires unused tokens now and then every interval
// until ctx ends (tokend serve --expire-unused-after).
func runUnusedSweeper(ctx context.Context, st store.EventStore, after, interval time.Duration, now func() time.Time, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := expireUnused(ctx, st, after, now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("expire unused tokens", "error", err.Error(), "expired", n)
		case n > 0:
			logger.Info("expired unused tokens", "expired", n, "unused_for", after.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expirySweepInterval is how often tokens nearing or past expiry are
// looked for; expiryBatch notices are recorded per transaction.
const (
	expirySweepInterval = time.Minute
	expiryBatch         = 500
)

// noteExpiries records every expiry notice due at now (token.expiring 7
// days and 1 day before, token.expired), expiryBatch at a time, each with
// its event by the operator, and returns how many. The store keeps each
// to once per token, however many replicas sweep.
func noteExpiries(ctx context.Context, st store.WebhookStore, now time.Time, logger *slog.Logger) int {
	ctx = store.WithAudit(ctx, store.Audit{At: now.UTC().Truncate(time.Millisecond), ActorKind: store.ActorOperator})
	total := 0
	for ctx.Err() == nil {
		n, err := st.NoteExpiries(ctx, now, expiryBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("note token expiries", "error", err.Error(), "noted", total)
			}
			break
		}
		if n < expiryBatch {
			break
		}
	}
	if total > 0 {
		logger.Info("noted token expiries", "noted", total)
	}
	return total
}

// runExpirySweeper records expiry notices every interval until ctx ends.
func runExpirySweeper(ctx context.Context, st store.WebhookStore, interval time.Duration, now func() time.Time, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		noteExpiries(ctx, st, now(), logger)
	}
}
