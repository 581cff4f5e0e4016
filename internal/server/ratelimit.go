package server

import (
	"sync"
	"time"
)

// failLimiter counts failed authentications per client address in fixed
// windows. Once an address reaches the limit it is blocked until its window
// ends. Memory is bounded: at capacity, expired windows are swept and, if
// that frees too little, arbitrary live windows are dropped.
type failLimiter struct {
	limit    int
	window   time.Duration
	capacity int

	mu      sync.Mutex
	entries map[string]*failWindow
}

type failWindow struct {
	start    time.Time
	failures int
}

func newFailLimiter(limit int, window time.Duration, capacity int) *failLimiter {
	return &failLimiter{limit: limit, window: window, capacity: capacity, entries: make(map[string]*failWindow)}
}

// blockedFor returns how long addr must still wait, or 0 if it may proceed.
func (l *failLimiter) blockedFor(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[addr]
	if !ok {
		return 0
	}
	end := e.start.Add(l.window)
	if !now.Before(end) {
		delete(l.entries, addr)
		return 0
	}
	if e.failures < l.limit {
		return 0
	}
	return end.Sub(now)
}

// fail records one failed authentication from addr.
func (l *failLimiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[addr]
	if ok && !now.Before(e.start.Add(l.window)) {
		ok = false
	}
	if !ok {
		if _, present := l.entries[addr]; !present && len(l.entries) >= l.capacity {
			l.evict(now)
		}
		e = &failWindow{start: now}
		l.entries[addr] = e
	}
	e.failures++
}

// evict makes room: expired windows go first, then arbitrary live ones
// until a tenth of the capacity is free, so a spray of new addresses costs
// one sweep per capacity/10 insertions rather than one per insertion.
func (l *failLimiter) evict(now time.Time) {
	for addr, e := range l.entries {
		if !now.Before(e.start.Add(l.window)) {
			delete(l.entries, addr)
		}
	}
	target := l.capacity - max(1, l.capacity/10)
	for addr := range l.entries {
		if len(l.entries) <= target {
			break
		}
		delete(l.entries, addr)
	}
}

func (l *failLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
