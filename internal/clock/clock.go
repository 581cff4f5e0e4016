// Package clock holds a settable time source, so tests of the server and
// the CLI can let tokens expire without sleeping.
package clock

import (
	"sync"
	"time"
)

// Settable is a clock that moves only when told to. Safe for concurrent use.
type Settable struct {
	mu  sync.Mutex
	now time.Time
}

// NewSettable returns a clock reading start.
func NewSettable(start time.Time) *Settable { return &Settable{now: start} }

// Now returns the clock's time.
func (c *Settable) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Settable) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
