package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Budget is the time one command may spend on the network: --timeout. It
// runs only while at least one call is in flight (requests, retries and
// the waits between them), so a person at a prompt or a child of `token
// exec` does not spend it, and every call of the command draws on the same
// budget. Clients built from the same Options share it. Safe for
// concurrent use; time in flight on two calls at once counts once.
type Budget struct {
	total time.Duration

	mu       sync.Mutex
	spent    time.Duration // by calls that have ended
	inFlight int
	since    time.Time // when inFlight last went from 0 to 1
}

// NewBudget returns a budget of d.
func NewBudget(d time.Duration) *Budget { return &Budget{total: d} }

// Total is the whole budget, as given.
func (b *Budget) Total() time.Duration { return b.total }

// start marks a call in flight and returns its deadline: now plus what is
// left. stop must be called when the call ends.
func (b *Budget) start(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	spent := b.spent
	if b.inFlight > 0 {
		spent += now.Sub(b.since)
	} else {
		b.since = now
	}
	b.inFlight++
	return now.Add(b.total - spent)
}

func (b *Budget) stop(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	if b.inFlight == 0 {
		b.spent += now.Sub(b.since)
	}
}

// ErrTimeout is wrapped by the error of a call that ran out of --timeout
// (it also replaces net/http's timeout text, which names Go internals).
var ErrTimeout = errors.New("timed out")

// timeoutError says that host did not answer in time, naming --timeout and
// that it is one limit for the whole command.
func (c *Client) timeoutError() error {
	return fmt.Errorf("%s did not answer within --timeout %s (one limit for all of this command's requests): %w",
		c.base.Host, c.budget.Total(), ErrTimeout)
}

// Within returns ctx bounded by what is left of b, with b running until
// done is called: for network work done outside a Client (asking a CI
// runner for an identity token) that must still fit in --timeout.
func (b *Budget) Within(ctx context.Context) (_ context.Context, done func()) {
	cctx, cancel := context.WithDeadline(ctx, b.start(time.Now()))
	return cctx, func() {
		cancel()
		b.stop(time.Now())
	}
}
