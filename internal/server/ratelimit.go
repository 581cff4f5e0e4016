package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Failed authentication is limited by three budgets, each a failLimiter
// over its own keys (see authLimits):
//
//   - failing credentials other than passwords (unknown, expired or
//     malformed tokens, refused identity tokens) per client address; past
//     the budget such a request gets 429 where it would have got 401 or
//     403, and nothing else from the address is refused. A token is 178
//     bits of randomness, so the budget is about noise, not guessing, and
//     a valid token is never refused for anyone's failures: a stale script
//     behind a shared address (a proxy, a CI egress, auth_request) must
//     not lock out its neighbours.
//   - wrong passwords per account and client address (tight): a password
//     can be guessed, so past it every check of that account from that
//     address is refused before the hash, right password included (else
//     the answer would reveal it). One person's typos lock out only
//     themselves, and only where they typed.
//   - wrong passwords per client address across accounts (looser): one
//     address spraying a common password over many accounts.
//
// failLimiter counts failures per key in fixed windows. Once a key reaches
// the limit it is blocked until its window ends. Memory is bounded: at
// capacity, expired windows are swept and, if that frees too little,
// arbitrary live windows are dropped.
//
// With a store that implements store.LoginThrottle (set by sharing), the
// budget is also kept in the store, so replicas on one database spend one
// budget: every password check is admitted by the store, every failure is
// counted there, and keys the store reports blocked are refused here too
// (polled at most once per sharedPoll, off the request path, so a failing
// token from a blocked address costs no store write). The
// in-memory windows still run: they count this process's own share, answer
// alone while the store is unreachable, and are never stricter than the
// store, which sees every failure they see.
type failLimiter struct {
	kind     string // the prefix of every key this limiter counts
	limit    int
	window   time.Duration
	capacity int

	mu      sync.Mutex
	entries map[string]*failWindow

	shared  store.LoginThrottle // nil: this process is alone
	log     *slog.Logger
	blocked map[string]time.Time // key -> end of its window, per the store
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

// named sets the prefix of l's keys: limiters sharing one store keep their
// windows apart by it, and a poll of the store ignores the others' keys.
func (l *failLimiter) named(kind string) *failLimiter {
	l.kind = kind
	return l
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
	if !strings.HasPrefix(w.Key, l.kind) || w.Failures < l.limit || !now.Before(end) {
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

// fail records one failed authentication from addr and returns how long
// addr must wait if the window now holds more failures than the limit (in
// this process or, shared, in the store), or 0.
func (l *failLimiter) fail(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	e := l.count(addr, now)
	var wait time.Duration
	if e.failures > l.limit {
		wait = e.start.Add(l.window).Sub(now)
	}
	l.mu.Unlock()
	if l.shared == nil {
		return wait
	}
	ctx, cancel := l.sharedCtx()
	defer cancel()
	w, err := l.shared.CountLoginFailure(ctx, addr, now, l.window)
	if err != nil {
		l.warn("count a failure", err)
		return wait
	}
	l.mu.Lock()
	l.noteBlocked(w, now)
	l.mu.Unlock()
	if w.Failures > l.limit {
		wait = max(wait, w.Start.Add(l.window).Sub(now))
	}
	return wait
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

// Key prefixes of the three budgets, so they never share a window, in
// memory or in the store.
const (
	kindCredential      = "cred "
	kindPasswordAccount = "pwacct "
	kindPasswordAddress = "pwaddr "
	kindDeviceStart     = "devstart "
)

// authLimits are the three failed-authentication budgets (see failLimiter).
type authLimits struct {
	credential      *failLimiter // per address, failing path only
	passwordAccount *failLimiter // per account and address
	passwordAddress *failLimiter // per address, across accounts
	// deviceStart counts every device authorization started per address
	// (not only failures): codes cost a row each until they expire.
	deviceStart *failLimiter
}

func newAuthLimits(cfg Config, st store.Store, log *slog.Logger) authLimits {
	mk := func(kind string, limit int) *failLimiter {
		return newFailLimiter(limit, cfg.AuthFailWindow, cfg.LimiterCapacity).named(kind).sharing(st, log)
	}
	return authLimits{
		credential:      mk(kindCredential, cfg.AuthFailures),
		passwordAccount: mk(kindPasswordAccount, cfg.PasswordFailures),
		passwordAddress: mk(kindPasswordAddress, cfg.PasswordFailuresPerAddress),
		deviceStart:     mk(kindDeviceStart, cfg.DeviceStarts),
	}
}

// accountKey is the password-per-account key of username at addr. The
// name is hashed: a password typed into the username field must not sit
// in the store's throttle table, and the key stays short however long the
// name is. Collisions only merge two names' budgets.
func accountKey(addr, username string) string {
	sum := sha256.Sum256([]byte(username))
	return kindPasswordAccount + addr + " " + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// failedCredential counts one failing credential from addr and returns 0,
// or, when addr is past its budget, how long it must wait: the caller then
// answers 429 instead of its refusal. An address known to be blocked is
// not counted again, so a flood of refusals costs no store writes.
func (a authLimits) failedCredential(addr string, now time.Time) time.Duration {
	key := kindCredential + addr
	if wait := a.credential.blockedFor(key, now); wait > 0 {
		return wait
	}
	// The failure that crosses the budget is refused too, so replicas
	// sharing a store refuse at the same count.
	return a.credential.fail(key, now)
}

// startedDevice counts one device authorization started from addr and
// returns 0, or, past addr's budget, how long it must wait (the start is
// then refused). A blocked address is not counted again.
func (a authLimits) startedDevice(addr string, now time.Time) time.Duration {
	key := kindDeviceStart + addr
	if wait := a.deviceStart.blockedFor(key, now); wait > 0 {
		return wait
	}
	return a.deviceStart.fail(key, now)
}

// passwordAttempt is one password check admitted by both password budgets.
type passwordAttempt struct {
	accountKey, addressKey string
	account, address       *attempt
}

// reservePassword admits one check of username's password from addr
// against both password budgets, or returns how long to wait and which
// budget refused (a 429 detail). The caller reports the outcome with
// settlePassword.
func (a authLimits) reservePassword(addr, username string, now time.Time) (time.Duration, string, *passwordAttempt) {
	pa := &passwordAttempt{accountKey: accountKey(addr, username), addressKey: kindPasswordAddress + addr}
	wait, acct := a.passwordAccount.reserve(pa.accountKey, now)
	if wait > 0 {
		return wait, tooManyWrongPasswords, nil
	}
	wait, byAddr := a.passwordAddress.reserve(pa.addressKey, now)
	if wait > 0 {
		a.passwordAccount.settle(pa.accountKey, acct, false, now) // not checked after all
		return wait, tooManyAddressGuesses, nil
	}
	pa.account, pa.address = acct, byAddr
	return 0, "", pa
}

// settlePassword ends a check admitted by reservePassword; failed counts it
// against both budgets.
func (a authLimits) settlePassword(pa *passwordAttempt, failed bool, now time.Time) {
	a.passwordAccount.settle(pa.accountKey, pa.account, failed, now)
	a.passwordAddress.settle(pa.addressKey, pa.address, failed, now)
}
