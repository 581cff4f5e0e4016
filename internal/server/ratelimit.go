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
	pending  int // password checks admitted by reserve and not yet settled
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
	l.count(addr, now)
}

// reserve admits one password check from addr, or returns how long addr
// must wait. Checks still in flight count against the limit alongside the
// failures, under one lock, so a burst of concurrent guesses cannot all
// pass before any has failed. When only in-flight checks stand in the way
// the wait is a second, since they may well succeed. The caller reports
// the outcome with settle.
func (l *failLimiter) reserve(addr string, now time.Time) (time.Duration, *failWindow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[addr]
	if !ok || !now.Before(e.start.Add(l.window)) {
		if !ok && len(l.entries) >= l.capacity {
			l.evict(now)
		}
		e = &failWindow{start: now}
		l.entries[addr] = e
	}
	switch {
	case e.failures >= l.limit:
		return e.start.Add(l.window).Sub(now), nil
	case e.failures+e.pending >= l.limit:
		return time.Second, nil
	}
	e.pending++
	return 0, e
}

// settle ends a check admitted by reserve in window w, counting it as a
// failure if it failed. Should w have ended or been evicted meanwhile, the
// failure goes to addr's current window.
func (l *failLimiter) settle(addr string, w *failWindow, failed bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.pending--
	if !failed {
		// A window holding nothing needs no memory.
		if e, ok := l.entries[addr]; ok && e == w && w.failures == 0 && w.pending == 0 {
			delete(l.entries, addr)
		}
		return
	}
	if e, ok := l.entries[addr]; ok && e == w && now.Before(w.start.Add(l.window)) {
		w.failures++
		return
	}
	l.count(addr, now)
}

// count adds one failure to addr's current window; l.mu must be held.
func (l *failLimiter) count(addr string, now time.Time) *failWindow {
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
	return e
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
