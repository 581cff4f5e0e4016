package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// The leak-report budget per client address (per /64 for IPv6): a
// scanner's batch of up to 1000 secrets is one request, so 10 a minute is
// 10,000 secrets a minute from one address, plenty for honest reporters,
// while the endpoint needs no credentials and each request is a write.
const (
	RevokeRequests = 10
	RevokeWindow   = time.Minute
)

// auditState is the server's state for issue 13's endpoints; its zero
// value is ready to use.
type auditState struct {
	once          sync.Once
	revokeLimiter *failLimiter
}

func (s *server) revokeLimiter() *failLimiter {
	s.audit.once.Do(func() {
		s.audit.revokeLimiter = newFailLimiter(RevokeRequests, RevokeWindow, s.cfg.LimiterCapacity)
	})
	return s.audit.revokeLimiter
}

// handleRevoke is POST /v1/tokens/revoke: anyone holding a leaked secret
// may kill it. The secret is the proof, so there is no authentication; the
// answer counts what happened and never says whose token a secret was.
func (s *server) handleRevoke(w http.ResponseWriter, r *http.Request, _ *principal) {
	lim, key, now := s.revokeLimiter(), s.limitKey(r), s.cfg.Now()
	if wait := lim.blockedFor(key, now); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		writeProblem(w, r, http.StatusTooManyRequests, api.CodeRateLimited,
			fmt.Sprintf("too many leak reports from this address (at most %d a minute); retry in %d seconds", RevokeRequests, secs))
		return
	}
	lim.fail(key, now) // every request counts, not only failed ones
	req, prob := decode[api.RevokeRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if n := len(req.Secrets); n == 0 || n > api.MaxRevokeSecrets {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			fmt.Sprintf("secrets must list 1 to %d token secrets, got %d", api.MaxRevokeSecrets, n)))
		return
	}
	if req.Source != "" {
		if msg := checkText("source", req.Source, api.MaxRevokeSource, false); msg != "" {
			s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation, msg))
			return
		}
	}
	res := api.RevokeResult{Malformed: []api.RevokeMalformed{}}
	digests := make([][32]byte, 0, len(req.Secrets))
	for i, v := range req.Secrets {
		tok, err := secret.Parse(v)
		if err != nil {
			reason := api.RevokeNotAToken
			if errors.Is(err, secret.ErrChecksum) {
				reason = api.RevokeChecksumMismatch
			}
			res.Malformed = append(res.Malformed, api.RevokeMalformed{Index: i, Reason: reason})
			continue
		}
		digests = append(digests, tok.Digest())
	}
	a := store.Audit{At: s.eventTime(), ActorKind: store.ActorLeakReport, Source: redact(req.Source)}
	a.ClientAddress, a.UserAgent = s.client(r)
	revoked, err := s.store.RevokeByDigests(store.WithAudit(r.Context(), a), digests, s.cfg.Now())
	if err != nil {
		s.internalError(w, r, "revoke leaked tokens", err)
		return
	}
	// A secret listed twice is revoked once; its second mention is not live.
	res.Revoked = len(revoked)
	res.NotLive = len(digests) - len(revoked)
	encode(w, http.StatusOK, res)
}
