package tokend

import (
	"log/slog"

	"github.com/tokenctl/tokenctl/internal/store"
)

// tokenCacheStats is what a store with a token cache (SQLite's) reports.
type tokenCacheStats interface {
	TokenCacheStats() (hits, misses uint64, enabled bool)
}

// logTokenCache logs, at shutdown, how often the store's token cache
// answered an authentication: the hit rate an operator (or bench/run.sh)
// can check. Stores without one (PostgreSQL) log nothing.
func logTokenCache(logger *slog.Logger, st store.Store) {
	cs, ok := st.(tokenCacheStats)
	if !ok {
		return
	}
	hits, misses, on := cs.TokenCacheStats()
	logger.Info("token cache", "enabled", on, "hits", hits, "misses", misses)
}
