package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// failLimiter counts failed authentications per client address in fixed
// windows. Once an address reaches the limit it is blocked until its window
// ends. Memory is bounded: at capacity, expired windows are swept and, if
// that frees too little, arbitrary live windows are dropped.
//
// With a store that implements store.LoginThrottle (set by sharing), the
// budget is also kept in the store, so replicas on one database spend one
// budget: every password check is admitted by the store, every failure is
// counted there, and addresses the store reports blocked are refused here
// too (polled at most once per sharedPoll, off the request path, so a
// request that is not a password check costs no store round trip). The
// in-memory windows still run: they count this process's own share, answer
// alone while the store is unreachable, and are never stricter than the
// store, which sees every failure they see.
type failLimiter struct {
	limit    int
	window   time.Duration
	capacity int

	mu      sync.Mutex
	entries map[string]*failWindow

	shared  store.LoginThrottle // nil: this process is alone
	log     *slog.Logger
	blocked map[string]time.Time // address -> end of its window, per the store
	polled  time.Time            // when the last poll of the store started
	polling bool
}

// Bounds on the store's part, so a slow database delays a password check
// by seconds at most and then the in-memory limiter answers alone.
const (
	sharedTimeout = 2 * time.Second
	sharedPoll    = time.Second
)

// attempt is one password check admitted by reserve.
type attempt struct {
	local       *failWindow
	shared      bool      // the store admitted it too
	sharedStart time.Time // start of the store's window it was admitted in
}

type failWindow struct {
	start    time.Time
	failures int
	pending  int // password checks admitted by reserve and not yet settled
}

func newFailLimiter(limit int, window time.Duration, capacity int) *failLimiter {
	return &failLimiter{limit: limit, window: window, capacity: capacity, entries: make(map[string]*failWindow)}
}

// sharing makes l keep its budget in st too, when st is a
// store.LoginThrottle (see failLimiter); otherwise l stays in memory.
func (l *failLimiter) sharing(st store.Store, log *slog.Logger) *failLimiter {
	if t, ok := st.(store.LoginThrottle); ok {
		l.shared, l.log, l.blocked = t, log, make(map[string]time.Time)
	}
	return l
}

func (l *failLimiter) sharedCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), sharedTimeout)
}

func (l *failLimiter) warn(what string, err error) {
	l.log.Warn("shared login limiter: "+what+"; counting in memory only", "error", err.Error())
}

// blockedByStore returns how long addr is blocked per the store, and starts
// a poll of the store when the last one is older than sharedPoll; l.mu must
// be held.
func (l *failLimiter) blockedByStore(addr string, now time.Time) time.Duration {
	if !l.polling && !now.Before(l.polled.Add(sharedPoll)) {
		l.polling, l.polled = true, now
		go l.poll(now)
	}
	end, ok := l.blocked[addr]
	if !ok {
		return 0
	}
	if !now.Before(end) {
		delete(l.blocked, addr)
		return 0
	}
	return end.Sub(now)
}

// poll adds the store's blocked addresses to l.blocked. Entries already
// there stay until their windows end: the store said so, and a poll that
// started before it did may not show them.
func (l *failLimiter) poll(now time.Time) {
	ctx, cancel := l.sharedCtx()
	defer cancel()
	ws, err := l.shared.BlockedLogins(ctx, now, l.window, l.limit, l.capacity)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.polling = false
	if err != nil {
		l.warn("poll blocked addresses", err)
		return
	}
	for _, w := range ws {
		l.noteBlocked(w, now)
	}
}

// noteBlocked records a store window that reached the limit; l.mu must be
// held.
func (l *failLimiter) noteBlocked(w store.LoginWindow, now time.Time) {
	end := w.Start.Add(l.window)
	if w.Failures < l.limit || !now.Before(end) {
		return
	}
	if _, ok := l.blocked[w.Key]; !ok && len(l.blocked) >= l.capacity {
		for k, e := range l.blocked {
			if !now.Before(e) || len(l.blocked) >= l.capacity {
				delete(l.blocked, k)
			}
		}
	}
	l.blocked[w.Key] = end
}

// blockedFor returns how long addr must still wait, or 0 if it may proceed.
func (l *failLimiter) blockedFor(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[addr]
	if !ok {
		if l.shared != nil {
			return l.blockedByStore(addr, now)
		}
		return 0
	}
	end := e.start.Add(l.window)
	if !now.Before(end) {
		delete(l.entries, addr)
		e = nil
	}
	if e == nil || e.failures < l.limit {
		if l.shared != nil {
			return l.blockedByStore(addr, now)
		}
		return 0
	}
	return end.Sub(now)
}

// fail records one failed authentication from addr.
func (l *failLimiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	l.count(addr, now)
	l.mu.Unlock()
	if l.shared == nil {
		return
	}
	ctx, cancel := l.sharedCtx()
	defer cancel()
	w, err := l.shared.CountLoginFailure(ctx, addr, now, l.window)
	if err != nil {
		l.warn("count a failure", err)
		return
	}
	l.mu.Lock()
	l.noteBlocked(w, now)
	l.mu.Unlock()
}

// reserve admits one password check from addr, or returns how long addr
// must wait. Checks still in flight count against the limit alongside the
// failures, under one lock, so a burst of concurrent guesses cannot all
// pass before any has failed. When only in-flight checks stand in the way
// the wait is a second, since they may well succeed. The caller reports
// the outcome with settle.
//
// With a shared store the store must admit the check too, against every
// replica's failures and checks in flight; refused there, the check is
// refused here with the store's wait.
func (l *failLimiter) reserve(addr string, now time.Time) (time.Duration, *attempt) {
	wait, w := l.reserveLocal(addr, now)
	if wait > 0 {
		return wait, nil
	}
	a := &attempt{local: w}
	if l.shared == nil {
		return 0, a
	}
	ctx, cancel := l.sharedCtx()
	defer cancel()
	sw, ok, err := l.shared.ReserveLogin(ctx, addr, now, l.window, l.limit)
	if err != nil {
		l.warn("reserve a password check", err)
		return 0, a
	}
	if ok {
		a.shared, a.sharedStart = true, sw.Start
		return 0, a
	}
	l.settleLocal(addr, w, false, now) // not checked after all
	if sw.Failures < l.limit {
		return time.Second, nil // only checks in flight stand in the way
	}
	l.mu.Lock()
	l.noteBlocked(sw, now)
	l.mu.Unlock()
	return max(time.Second, sw.Start.Add(l.window).Sub(now)), nil
}

func (l *failLimiter) reserveLocal(addr string, now time.Time) (time.Duration, *failWindow) {
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
func (l *failLimiter) settle(addr string, a *attempt, failed bool, now time.Time) {
	l.settleLocal(addr, a.local, failed, now)
	if !a.shared {
		return
	}
	ctx, cancel := l.sharedCtx()
	defer cancel()
	if err := l.shared.SettleLogin(ctx, addr, a.sharedStart, failed, now, l.window); err != nil {
		// The check stays pending in the store until its window ends.
		l.warn("settle a password check", err)
	}
}

func (l *failLimiter) settleLocal(addr string, w *failWindow, failed bool, now time.Time) {
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
