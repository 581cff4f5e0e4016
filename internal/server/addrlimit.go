package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// AddressLimiter is the API's per-address failure budget for other
// handlers of the same process (the browser sign-in pages count wrong user
// codes with it): Config's AuthFailures per AuthFailWindow, the client
// address taken as the API takes it (TrustProxy), and kept in the store
// too when the store shares one budget among replicas.
type AddressLimiter struct {
	s *server // for limitKey and the clock only
	l *failLimiter
}

// NewAddressLimiter returns a limiter with cfg's budget over st.
func NewAddressLimiter(cfg Config, st store.Store, logger *slog.Logger) *AddressLimiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &AddressLimiter{s: &server{cfg: cfg}, l: newFailLimiter(cfg.AuthFailures, cfg.AuthFailWindow, cfg.LimiterCapacity).sharing(st, logger)}
}

// Blocked returns how long r's address must still wait, or 0.
func (a *AddressLimiter) Blocked(r *http.Request) time.Duration {
	return a.l.blockedFor(a.s.limitKey(r), a.s.cfg.Now())
}

// Fail counts one failure against r's address.
func (a *AddressLimiter) Fail(r *http.Request) { a.l.fail(a.s.limitKey(r), a.s.cfg.Now()) }

// ClientAddress is r's client address as the API logs it.
func (a *AddressLimiter) ClientAddress(r *http.Request) string { return a.s.clientAddr(r) }
