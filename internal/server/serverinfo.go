package server

import (
	"net/http"
	"slices"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/version"
)

// serverFeatures are what every tokend of this version serves, sorted.
var serverFeatures = []string{
	api.FeatureAdmin, api.FeatureEvents, api.FeatureExchange, api.FeatureIdempotency, api.FeatureIntrospect,
	api.FeatureLeakRevoke, api.FeatureScopes,
}

// handleServerInfo is GET /v1/server. It needs no credential, like an OIDC
// issuer's discovery document: a client reads it before it has one (login
// must know the longest lifetime it may ask for), and nothing in it is a
// secret or about a user. Application scope names are left to the
// authenticated GET /v1/scopes.
func (s *server) handleServerInfo(w http.ResponseWriter, r *http.Request, _ *principal) {
	encode(w, http.StatusOK, api.ServerInfo{
		Version:                     version.String(),
		TokenPrefix:                 s.cfg.TokenPrefix,
		DefaultTokenLifetimeSeconds: seconds(s.cfg.DefaultLifetime),
		MinTokenLifetimeSeconds:     seconds(api.MinLifetime),
		MaxTokenLifetimeSeconds:     seconds(s.cfg.MaxLifetime),
		DefaultLoginLifetimeSeconds: seconds(s.cfg.DefaultLoginLifetime),
		PasswordLogin:               !s.cfg.DisablePasswordLogin,
		Features:                    slices.Clone(serverFeatures),
		MaxPageSize:                 api.MaxPageSize,
		MaxBulkDelete:               api.MaxBulkDelete,
		MaxTokensPerUser:            s.cfg.MaxTokensPerUser,
		MaxNameLength:               api.MaxNameLen,
		MaxDescriptionLength:        api.MaxDescriptionLen,
	})
}
