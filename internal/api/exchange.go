package api

// Token exchange: POST /v1/tokens/exchange trades a CI job's OIDC identity
// token for a short-lived tokend token, in the shape of RFC 8693 (sent as
// JSON, like every other body of this API).

// RFC 8693 identifiers.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// MaxSubjectTokenLen bounds subject_token: CI identity tokens are 1–3 KB;
// a larger one is refused before any parsing.
const MaxSubjectTokenLen = 16 << 10

// ExchangeRequest is the body of POST /v1/tokens/exchange.
type ExchangeRequest struct {
	// GrantType, when present, must be GrantTypeTokenExchange (RFC 8693
	// clients send it; tokenctl does too).
	GrantType        string `json:"grant_type,omitempty"`
	SubjectToken     string `json:"subject_token"`
	SubjectTokenType string `json:"subject_token_type"` // TokenTypeIDToken or TokenTypeJWT
	// Scope is space-separated (RFC 6749 §3.3); empty asks for every scope
	// the matching trust policy grants.
	Scope string `json:"scope,omitempty"`
	// Name, when empty, is made from the identity's claims
	// (e.g. gha:org/repo@refs/heads/main#run-123).
	Name string `json:"name,omitempty"`
	// ExpiresInSeconds, when absent, is the policy's maximum lifetime.
	ExpiresInSeconds *int64 `json:"expires_in_seconds,omitempty"`
}

// ExchangedToken is the 201 answer to an exchange: the new token with its
// secret (shown once), whose it is and which policy allowed it, plus the
// RFC 8693 members so an OAuth client library can read it as well.
type ExchangedToken struct {
	CreatedToken
	User        UserRef `json:"user"`
	TrustPolicy string  `json:"trust_policy"`

	AccessToken     string `json:"access_token"`      // the same secret as Secret
	IssuedTokenType string `json:"issued_token_type"` // TokenTypeAccessToken
	TokenType       string `json:"token_type"`        // "Bearer"
	ExpiresIn       int64  `json:"expires_in"`        // seconds from now
	Scope           string `json:"scope"`             // the token's scopes, space-separated
}

// Problem codes of the exchange.
const (
	// CodeSubjectTokenRejected (401): the identity token failed a check;
	// Problem.Reason says which (one of the Reason* values).
	CodeSubjectTokenRejected = "subject_token_rejected"
	// CodeNoMatchingPolicy (403): the identity token is valid but no trust
	// policy accepts its claims.
	CodeNoMatchingPolicy = "no_matching_policy"
	// CodeExceedsPolicy (403): asked for more scope or lifetime than the
	// matching policy grants, or the policy grants a scope its user no
	// longer has (an operator's fix).
	CodeExceedsPolicy = "exceeds_policy"
)

// Reasons an identity token is rejected (Problem.Reason with
// CodeSubjectTokenRejected). Stable: clients and operators branch on them.
const (
	ReasonMalformed            = "malformed"             // not a compact JWS with the claims we need
	ReasonTooLarge             = "too_large"             // longer than MaxSubjectTokenLen
	ReasonUnsupportedAlgorithm = "unsupported_algorithm" // alg none, HMAC, or another we do not accept
	ReasonUntrustedIssuer      = "untrusted_issuer"      // no trust policy names its iss
	ReasonIssuerUnavailable    = "issuer_unavailable"    // discovery or JWKS failed, hung or returned garbage
	ReasonUnknownKey           = "unknown_key"           // its kid is not in the issuer's key set, even after a refetch
	ReasonBadSignature         = "bad_signature"         // the signature does not verify
	ReasonWrongAudience        = "wrong_audience"        // aud names no audience a policy of this issuer expects
	ReasonExpired              = "expired"               // exp is past (beyond the clock skew allowed)
	ReasonNotYetValid          = "not_yet_valid"         // nbf is in the future
	ReasonIssuedInFuture       = "issued_in_future"      // iat is in the future
	ReasonReplayed             = "replayed"              // this jti was exchanged before
)

// Actor kind and event type of an exchange.
const (
	ActorOIDC           = "oidc" // a CI identity, through POST /v1/tokens/exchange
	EventTokenExchanged = "token.exchanged"
)
