package server

import (
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// seconds is d in whole seconds, as the API counts lifetimes.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (s *server) wireToken(t store.Token) api.Token {
	status := api.StatusActive
	if t.Expired(s.cfg.Now()) {
		status = api.StatusExpired
	}
	out := api.Token{
		ID:          t.ID,
		Name:        t.Name,
		Description: t.Description,
		KeyHint:     t.KeyHint,
		CreatedAt:   t.CreatedAt.UTC(),
		ExpiresAt:   t.ExpiresAt.UTC(),
		Status:      status,
		Scopes:      t.Scopes,
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if t.LastUsedAt != nil {
		lu := t.LastUsedAt.UTC()
		out.LastUsedAt = &lu
	}
	return out
}
