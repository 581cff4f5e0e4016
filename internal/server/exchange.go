package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/claimmatch"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
)

// handleExchange trades a CI identity token for a tokend token
// (RFC 8693 in JSON). Nothing is minted unless every check passes: the
// signature by the issuer's published keys, iss/aud/exp/nbf/iat, a trust
// policy whose claims match, scopes and lifetime within that policy and
// its user's power, and a jti never exchanged before.
//
// Refusals say which check failed (the reason member) so an operator can
// fix a pipeline, but never which policy came close: an anonymous caller
// learns whether an issuer is trusted and nothing of the policies' claims.
// The operator finds the near misses in the log.
func (s *server) handleExchange(w http.ResponseWriter, r *http.Request, _ *principal) {
	req, prob := decode[api.ExchangeRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	asked, prob := validateExchange(&req)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	reject := func(err error) {
		var ve *oidcverify.Error
		if !errors.As(err, &ve) {
			s.internalError(w, r, "verify identity token", err)
			return
		}
		if ve.Reason != api.ReasonIssuerUnavailable && s.tooManyRefusals(w, r) {
			// A refused identity counts like a wrong token against the
			// address's failure budget; an issuer that is down is not the
			// caller's doing.
			return
		}
		s.log.InfoContext(r.Context(), "token exchange refused", "request_id", requestID(r),
			"reason", ve.Reason, "detail", ve.Detail)
		s.rejectSubjectToken(w, r, ve.Reason, ve.Detail)
	}

	issuer, err := oidcverify.PeekIssuer(req.SubjectToken)
	if err != nil {
		reject(err)
		return
	}
	policies, err := s.store.TrustPoliciesForIssuer(r.Context(), issuer)
	if err != nil {
		s.internalError(w, r, "read trust policies", err)
		return
	}
	if len(policies) == 0 {
		// Before any key fetch: an untrusted issuer costs one indexed read.
		reject(&oidcverify.Error{Reason: api.ReasonUntrustedIssuer,
			Detail: "no trust policy names the issuer " + quote(issuer, 120) + "; the operator adds one with tokend trust add"})
		return
	}
	var audiences []string
	for _, p := range policies {
		if !slices.Contains(audiences, p.Audience) {
			audiences = append(audiences, p.Audience)
		}
	}
	id, err := s.verifier.Verify(r.Context(), req.SubjectToken, issuer, audiences)
	if err != nil {
		reject(err)
		return
	}
	pol, misses := matchPolicy(policies, id)
	if pol == nil {
		if s.tooManyRefusals(w, r) {
			return
		}
		s.log.InfoContext(r.Context(), "token exchange refused", "request_id", requestID(r),
			"reason", api.CodeNoMatchingPolicy, "iss", id.Issuer, "sub", id.Subject, slog.Any("near_misses", misses))
		s.fail(w, r, newProblem(http.StatusForbidden, api.CodeNoMatchingPolicy,
			fmt.Sprintf("no trust policy of issuer %s accepts this identity (sub %s); the operator can compare its claims with tokend trust list",
				quote(id.Issuer, 120), quote(id.Subject, 120))))
		return
	}

	now := s.cfg.Now().UTC().Truncate(time.Second)
	scopes, life, prob, err := s.exchangeGrant(r.Context(), pol, asked, req.ExpiresInSeconds)
	if err != nil {
		s.internalError(w, r, "check trust policy scopes", err)
		return
	}
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	name := req.Name
	if name == "" {
		name = exchangeName(pol.Name, id)
	}
	sec, err := secret.Generate(s.cfg.TokenPrefix)
	if err != nil {
		s.internalError(w, r, "generate token", err)
		return
	}
	use := &store.SubjectTokenUse{Issuer: id.Issuer, ID: id.ID, ExpiresAt: id.Expiry.Add(replayGrace)}
	if use.ID == "" {
		// Without a jti the token's own digest names it: the same bytes
		// are still accepted once.
		sum := sha256.Sum256([]byte(req.SubjectToken))
		use.ID = "sha256:" + hex.EncodeToString(sum[:])
	}
	nt := store.NewToken{
		ID:              store.NewID(s.cfg.Now()),
		UserID:          pol.UserID,
		Name:            name,
		Description:     text.Truncate("exchanged for an identity from "+id.Issuer+" under trust policy "+pol.Name, api.MaxDescriptionLen),
		KeyHint:         sec.Hint(),
		Digest:          sec.Digest(),
		CreatedAt:       now,
		ExpiresAt:       now.Add(life),
		Scopes:          scopes,
		MaxLive:         s.cfg.MaxTokensPerUser,
		SubjectTokenUse: use,
	}
	a := store.Audit{At: s.eventTime(), ActorKind: store.ActorOIDC, TrustPolicy: pol.Name, Claims: identifyingClaims(pol, id)}
	a.ClientAddress, a.UserAgent = s.client(r)
	tok, _, err := s.store.CreateToken(store.WithAudit(r.Context(), a), nt)
	switch {
	case errors.Is(err, store.ErrReplayed):
		spent := "jti " + quote(id.ID, 80)
		if id.ID == "" {
			// The issuer sends no jti, so the token's digest is what was
			// recorded as spent; an empty jti "" would explain nothing.
			spent = "it carries no jti; its SHA-256, " + strings.TrimPrefix(use.ID, "sha256:") + ", is what was spent"
		}
		reject(&oidcverify.Error{Reason: api.ReasonReplayed,
			Detail: "this identity token was already exchanged (" + spent + "); ask the CI for a fresh one"})
		return
	case err != nil:
		s.storeError(w, r, "exchange token", "", err)
		return
	}
	s.log.InfoContext(r.Context(), "token exchanged", "request_id", requestID(r), "policy", pol.Name,
		"iss", id.Issuer, "sub", id.Subject, "token_id", tok.ID, "user", pol.Username)
	wire := s.wireToken(tok)
	w.Header().Set("Location", "/v1/tokens/"+tok.ID)
	encode(w, http.StatusCreated, api.ExchangedToken{
		CreatedToken:    api.CreatedToken{Token: wire, Secret: sec.String()},
		User:            api.UserRef{ID: pol.UserID, Username: pol.Username},
		TrustPolicy:     pol.Name,
		AccessToken:     sec.String(),
		IssuedTokenType: api.TokenTypeAccessToken,
		TokenType:       "Bearer",
		ExpiresIn:       seconds(tok.ExpiresAt.Sub(now)),
		Scope:           strings.Join(wire.Scopes, " "),
	})
}

// validateExchange checks the request's shape and returns the scopes it
// asks for (empty: the policy's).
func validateExchange(req *api.ExchangeRequest) (scope.Set, *problem) {
	invalid := func(format string, a ...any) (scope.Set, *problem) {
		return nil, newProblem(http.StatusBadRequest, api.CodeValidation, fmt.Sprintf(format, a...))
	}
	if req.GrantType != "" && req.GrantType != api.GrantTypeTokenExchange {
		return invalid("grant_type must be %s (or left out)", api.GrantTypeTokenExchange)
	}
	switch req.SubjectTokenType {
	case api.TokenTypeIDToken, api.TokenTypeJWT:
	case "":
		return invalid("subject_token_type is required: %s or %s", api.TokenTypeIDToken, api.TokenTypeJWT)
	default:
		return invalid("subject_token_type must be %s or %s", api.TokenTypeIDToken, api.TokenTypeJWT)
	}
	if strings.TrimSpace(req.SubjectToken) == "" {
		return invalid("subject_token is required: the CI job's OIDC identity token")
	}
	if req.Name != "" {
		if msg := checkText("name", req.Name, api.MaxNameLen, false); msg != "" {
			return invalid("%s", msg)
		}
	}
	if req.ExpiresInSeconds != nil && *req.ExpiresInSeconds < seconds(api.MinLifetime) {
		return invalid("expires_in_seconds must be at least %d (1 minute), got %d", seconds(api.MinLifetime), *req.ExpiresInSeconds)
	}
	var asked []string
	for _, sc := range strings.Fields(req.Scope) {
		if err := scope.Valid(sc); err != nil {
			return invalid("scope: %s", err)
		}
		asked = append(asked, sc)
	}
	return scope.NewSet(asked...), nil
}

// exchangeGrant decides the new token's scopes and lifetime within pol.
func (s *server) exchangeGrant(ctx context.Context, pol *store.TrustPolicy, asked scope.Set, expiresIn *int64) (scope.Set, time.Duration, *problem, error) {
	exceeds := func(format string, a ...any) (scope.Set, time.Duration, *problem, error) {
		return nil, 0, newProblem(http.StatusForbidden, api.CodeExceedsPolicy, fmt.Sprintf(format, a...)), nil
	}
	// A policy never grants more than its user has: the built-in scopes
	// and the application scopes defined now (one could be deleted after
	// the policy was written).
	app, err := s.store.ListScopes(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	for _, sc := range pol.Scopes {
		if !scope.IsBuiltin(sc) && !slices.ContainsFunc(app, func(d store.Scope) bool { return d.Name == sc }) {
			return exceeds("trust policy %s grants the scope %s, which is no longer defined; the operator must correct the policy (tokend trust delete, then add)", pol.Name, sc)
		}
	}
	// The role and the disabled flag are read now, not when the policy
	// was written: offboarding or a demotion reaches exchanges at once.
	user, err := s.store.UserByID(ctx, pol.UserID)
	if err != nil {
		return nil, 0, nil, err
	}
	if user.Disabled {
		return exceeds("the user %s of trust policy %s is disabled; an admin must enable it", user.Username, pol.Name)
	}
	scopes := pol.Scopes
	if len(asked) > 0 {
		if extra := pol.Scopes.Missing(asked...); len(extra) > 0 {
			return exceeds("asked for %s, which trust policy %s does not grant (it grants: %s)",
				strings.Join(extra, " "), pol.Name, scopeList(pol.Scopes))
		}
		scopes = asked
		if prob := adminScopesFor(user, scopes); prob != nil {
			return nil, 0, prob, nil
		}
	} else if !user.IsAdmin() {
		// Granted by the policy but not asked for: a member's token just
		// goes without them.
		scopes = slices.DeleteFunc(slices.Clone(scopes), scope.IsAdmin)
	}
	life := pol.MaxLifetime
	if expiresIn != nil {
		want := time.Duration(*expiresIn) * time.Second
		if want > pol.MaxLifetime {
			return exceeds("expires_in_seconds %d is longer than trust policy %s allows (%d, %s); ask for less or leave it out",
				*expiresIn, pol.Name, seconds(pol.MaxLifetime), pol.MaxLifetime)
		}
		life = want
	}
	life = min(life, s.cfg.MaxLifetime)
	if limit, sc := scopeCap(app, scopes); limit > 0 && life > limit {
		if expiresIn != nil {
			return nil, 0, lifetimeCapped(sc, limit, life), nil
		}
		life = limit
	}
	return scopes, life, nil, nil
}

// rejectSubjectToken answers 401 subject_token_rejected with the reason.
func (s *server) rejectSubjectToken(w http.ResponseWriter, r *http.Request, reason, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeProblemReason(w, r, http.StatusUnauthorized, api.CodeSubjectTokenRejected, reason,
		"the identity token was refused ("+reason+"): "+detail)
}

// replayGrace keeps a jti remembered past its token's exp for longer than
// the verifier's clock skew allowance, so no replay slips into the gap.
const replayGrace = 5 * time.Minute

// matchPolicy returns the first policy (by name) whose audience is among
// the token's and whose claim conditions all hold, or nil and, for the
// log, why each policy missed.
func matchPolicy(policies []store.TrustPolicy, id *oidcverify.Identity) (*store.TrustPolicy, []string) {
	var misses []string
	for i := range policies {
		p := &policies[i]
		if !slices.Contains(id.Audience, p.Audience) {
			misses = append(misses, p.Name+": aud")
			continue
		}
		failed := ""
		for _, c := range p.Claims {
			if !claimMatches(id.Claims[c.Claim], c.Glob) {
				failed = c.Claim
				break
			}
		}
		if failed == "" {
			return p, nil
		}
		misses = append(misses, p.Name+": "+failed)
	}
	return nil, misses
}

// claimMatches applies a policy glob to a decoded claim (claimmatch's
// rule, shared with SSO providers).
func claimMatches(v any, glob string) bool { return claimmatch.Value(v, glob) }

// claimText is a claim as the audit trail records it.
func claimText(v any) (string, bool) { return claimmatch.Text(v) }

// identityClaims the audit trail keeps from an exchanged identity, besides
// those its policy matched on: enough to find the run that held the token.
var identityClaims = []string{
	"iss", "sub", "jti", "repository", "ref", "sha", "run_id", "run_attempt", "workflow_ref", "environment", "actor", "event_name",
	"project_path", "pipeline_id", "job_id", "user_login", "namespace_path",
	"organization_slug", "pipeline_slug", "build_number",
	"oidc.circleci.com/project-id", "oidc.circleci.com/vcs-origin",
}

// identifyingClaims returns the claims an exchange event records: short
// scalar values only, so a hostile issuer cannot bloat the trail.
func identifyingClaims(p *store.TrustPolicy, id *oidcverify.Identity) map[string]string {
	out := map[string]string{"iss": id.Issuer, "sub": id.Subject}
	if id.ID != "" {
		out["jti"] = id.ID
	}
	add := func(k string) {
		if _, done := out[k]; done || len(out) >= 24 {
			return
		}
		if v, ok := claimText(id.Claims[k]); ok && v != "" {
			out[k] = text.Truncate(text.OneLine(v), 200)
		}
	}
	for _, c := range p.Claims {
		add(c.Claim)
	}
	for _, k := range identityClaims {
		add(k)
	}
	return out
}

// exchangeName names an exchanged token after the run that asked for it,
// so `tokenctl token list` says where a token came from.
func exchangeName(policy string, id *oidcverify.Identity) string {
	c := func(k string) string {
		v, _ := claimText(id.Claims[k])
		return text.OneLine(v)
	}
	var name string
	switch {
	case c("repository") != "" && c("run_id") != "": // GitHub Actions
		name = "gha:" + c("repository") + "@" + c("ref") + "#run-" + c("run_id")
	case c("project_path") != "" && c("pipeline_id") != "": // GitLab CI
		name = "gitlab:" + c("project_path") + "@" + c("ref") + "#pipeline-" + c("pipeline_id")
	case c("pipeline_slug") != "" && c("build_number") != "": // Buildkite
		name = "buildkite:" + c("organization_slug") + "/" + c("pipeline_slug") + "#build-" + c("build_number")
	default:
		name = "oidc:" + policy + ":" + text.OneLine(id.Subject)
	}
	name = text.Truncate(name, api.MaxNameLen)
	if checkText("name", name, api.MaxNameLen, false) != "" {
		// Claims a name cannot show (control or bidi characters): the
		// policy's name is always valid.
		return "oidc:" + policy
	}
	return name
}

// tooManyRefusals counts a refused exchange against the address's budget
// of failing credentials and, past it, answers 429 instead of the refusal
// and reports true. A valid exchange never gets here: like a valid token,
// it is never refused for anyone's failures.
func (s *server) tooManyRefusals(w http.ResponseWriter, r *http.Request) bool {
	wait := s.limits.failedCredential(s.limitKey(r), s.cfg.Now())
	if wait > 0 {
		s.tooManyFailures(w, r, wait, tooManyBadCredentials)
	}
	return wait > 0
}
