package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Defaults of tokend serve's webhook flags and the worker's pace.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultGiveUpAfter = 72 * time.Hour
	// DefaultConcurrency webhooks are delivered to at once per process;
	// each webhook's deliveries go one at a time, so a receiver that
	// hangs holds one slot and slows no other webhook.
	DefaultConcurrency = 16
	// PollInterval is how often the outbox is looked at.
	PollInterval = time.Second
	// DefaultLeaseTerm is how long a claim holds a delivery; the worker
	// renews it every third of a term while the request runs, so a killed
	// process's deliveries are taken up again within a term, whatever the
	// request timeout.
	DefaultLeaseTerm = 15 * time.Second
	// DefaultShutdownGrace is how long an attempt already in flight may
	// still take once tokend is told to stop: a receiver that answers
	// promptly is recorded as delivered, not sent the event again by the
	// next replica; one that hangs is cut short and retried.
	DefaultShutdownGrace = 5 * time.Second
	// Retries wait FirstRetry, doubling up to MaxRetryWait, each with
	// jitter (a random half of it) so receivers coming back are not hit
	// by every replica at once.
	FirstRetry   = 5 * time.Second
	MaxRetryWait = time.Hour
	// FinishedRetention: delivered and failed rows are kept this long,
	// for tokend webhook list.
	FinishedRetention = 30 * 24 * time.Hour
	pruneEvery        = time.Hour
	pruneBatch        = 500
)

// Config is a Worker's settings.
type Config struct {
	Store store.WebhookStore
	// Owner names this process in leases; unique per run.
	Owner       string
	Timeout     time.Duration // one request's bound
	GiveUpAfter time.Duration // retries stop this long after the event
	LeaseTerm   time.Duration // DefaultLeaseTerm when zero
	// ShutdownGrace: DefaultShutdownGrace when zero, none when negative.
	ShutdownGrace time.Duration
	Concurrency   int
	Now           func() time.Time
	Logger        *slog.Logger
	// Client posts the requests; NewClient(Timeout) when nil.
	Client *http.Client
	// Jitter returns a random duration in [0, d); rand.N when nil.
	Jitter func(d time.Duration) time.Duration
}

// Worker drains the outbox.
type Worker struct {
	cfg    Config
	sender Sender
	mu     sync.Mutex
	busy   map[string]bool // webhooks this process is delivering to
	wg     sync.WaitGroup
}

// NewWorker returns a worker with cfg's zero fields set to their defaults.
func NewWorker(cfg Config) *Worker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = DefaultGiveUpAfter
	}
	if cfg.LeaseTerm <= 0 {
		cfg.LeaseTerm = DefaultLeaseTerm
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout)
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration { return rand.N(d) }
	}
	return &Worker{cfg: cfg, sender: Sender{Client: cfg.Client, Now: cfg.Now}, busy: map[string]bool{}}
}

// Run delivers until ctx ends, then waits for the deliveries in flight to
// be cut short and recorded. A delivery cut off by a kill is retried by
// whoever claims it when its lease runs out.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		w.dispatch(ctx)
		if now := w.cfg.Now(); now.Sub(lastPrune) >= pruneEvery {
			w.prune(ctx, now)
			lastPrune = now
		}
		select {
		case <-ctx.Done():
			w.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Drain delivers what is due now and waits until it is done: one pass of
// Run, for tests.
func (w *Worker) Drain(ctx context.Context) {
	w.dispatch(ctx)
	w.wg.Wait()
}

// dispatch starts a delivery goroutine for each due webhook that has none
// here, up to Concurrency.
func (w *Worker) dispatch(ctx context.Context) {
	names, err := w.cfg.Store.DueWebhooks(ctx, w.cfg.Now())
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("webhook outbox", "error", err.Error())
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range names {
		if w.busy[name] || len(w.busy) >= w.cfg.Concurrency {
			continue
		}
		w.busy[name] = true
		w.wg.Go(func() {
			w.deliverAll(ctx, name)
			w.mu.Lock()
			delete(w.busy, name)
			w.mu.Unlock()
		})
	}
}

// deliverAll delivers the webhook's due rows one at a time until none is
// left to claim, or one fails: a receiver that is down then gets one
// attempt per poll from each replica, not its whole backlog at once.
func (w *Worker) deliverAll(ctx context.Context, name string) {
	for ctx.Err() == nil {
		now := w.cfg.Now()
		d, err := w.cfg.Store.ClaimDelivery(ctx, name, w.cfg.Owner, now, now.Add(w.cfg.LeaseTerm))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				w.cfg.Logger.Warn("webhook claim", "webhook", name, "error", err.Error())
			}
			return
		}
		// Read after each claim: a webhook deleted and added again (how a
		// secret is rotated) gets its new URL and secret at once, never
		// the old ones for the rest of a backlog.
		hook, err := w.cfg.Store.WebhookByName(ctx, name)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				w.cfg.Logger.Warn("webhook", "webhook", name, "error", err.Error())
			}
			return
		}
		if !w.deliver(ctx, hook, d) {
			return
		}
	}
}

// deliver makes one attempt at d, records its outcome and reports whether
// it was delivered. A shutdown gives the attempt ShutdownGrace to finish,
// then cuts it short rather than hold tokend up to the timeout; a cut
// row is due again at once, for whichever replica or restart comes next.
func (w *Worker) deliver(ctx context.Context, hook store.Webhook, d store.Delivery) (delivered bool) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.Timeout)
	stopGrace := context.AfterFunc(ctx, func() {
		if w.cfg.ShutdownGrace <= 0 {
			cancel()
			return
		}
		t := time.NewTimer(w.cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-rctx.Done():
		}
	})
	stopRenew := w.renew(rctx, d)
	sendErr := w.sender.Send(rctx, hook, d)
	cut := ctx.Err() != nil && rctx.Err() == context.Canceled
	cancel()
	stopGrace()
	stopRenew()
	now := w.cfg.Now()
	r := store.DeliveryResult{At: now, Delivered: sendErr == nil}
	switch {
	case sendErr == nil:
	case cut:
		r.Error, r.NextAttempt = "tokend stopped during the attempt", now
	default:
		r.Error = sendErr.Error()
		r.NextAttempt = now.Add(w.Backoff(d.Attempts))
		r.GiveUp = r.NextAttempt.After(d.CreatedAt.Add(w.cfg.GiveUpAfter))
	}
	log := w.cfg.Logger.With("webhook", hook.Name, "event_id", d.EventID, "type", d.EventType, "attempt", d.Attempts)
	switch {
	case r.Delivered:
		log.Info("webhook delivered")
	case r.GiveUp:
		log.Warn("webhook delivery given up", "error", r.Error)
	default:
		log.Info("webhook delivery failed; will retry", "error", r.Error, "next_attempt", r.NextAttempt.UTC().Format(time.RFC3339))
	}
	if err := w.cfg.Store.FinishDelivery(context.WithoutCancel(ctx), d, w.cfg.Owner, r); err != nil {
		log.Warn("webhook outcome not recorded; it will be retried", "error", err.Error())
	}
	return r.Delivered
}

// renew keeps the lease on d alive until the returned stop is called.
func (w *Worker) renew(ctx context.Context, d store.Delivery) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(w.cfg.LeaseTerm / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.cfg.Store.RenewLease(ctx, d, w.cfg.Owner, w.cfg.Now().Add(w.cfg.LeaseTerm)); err != nil && ctx.Err() == nil {
					w.cfg.Logger.Warn("webhook lease not renewed; another replica may retry it", "webhook", d.Webhook, "event_id", d.EventID, "error", err.Error())
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// Backoff is the wait after the attempts-th failed attempt: FirstRetry
// doubling up to MaxRetryWait, of which a random half is taken off.
func (w *Worker) Backoff(attempts int) time.Duration {
	d := FirstRetry
	for i := 1; i < attempts && d < MaxRetryWait; i++ {
		d *= 2
	}
	d = min(d, MaxRetryWait)
	return d - w.cfg.Jitter(d/2)
}

// prune forgets finished deliveries older than FinishedRetention.
func (w *Worker) prune(ctx context.Context, now time.Time) {
	for ctx.Err() == nil {
		n, err := w.cfg.Store.PruneDeliveries(ctx, now.Add(-FinishedRetention), pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				w.cfg.Logger.Warn("prune webhook deliveries", "error", err.Error())
			}
			return
		}
		if n < pruneBatch {
			return
		}
	}
}

// Test sends a signed test event to hook at once, outside the outbox, and
// returns the receiver's verdict.
func Test(ctx context.Context, hook store.Webhook, client *http.Client, now time.Time) error {
	e := store.Event{ID: store.NewEventID(now), Time: now.UTC().Truncate(time.Millisecond), Type: EventTest, ActorKind: store.ActorOperator, Detail: "a test from tokend webhook test"}
	body, err := store.EncodeWebhookPayload(e, "")
	if err != nil {
		return err
	}
	return Sender{Client: client, Now: func() time.Time { return now }}.Send(ctx, hook,
		store.Delivery{EventID: e.ID, Webhook: hook.Name, EventType: e.Type, Payload: body, CreatedAt: e.Time})
}

// EventTest is the type of tokend webhook test's event; no event of the
// audit trail has it.
const EventTest = "webhook.test"
