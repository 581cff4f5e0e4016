package store

import (
	"context"
	"time"
)

// ConsoleSession is one signed-in browser of the token console (package
// console). The browser's cookie holds a random id; the store keeps only
// its digest, so a copy of the database signs nobody in.
type ConsoleSession struct {
	Digest    [32]byte
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute: the session ends then whatever its use
}

// ConsoleStore keeps console sessions. Store embeds it.
type ConsoleStore interface {
	// CreateConsoleSession stores a session; ErrConflict when its digest is
	// taken, ErrNotFound when its user is unknown. It first forgets a
	// bounded number of sessions expired at s.CreatedAt.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// UseConsoleSession returns the session with this digest as it was
	// stored, and records now as its LastSeen, when it is unexpired at now
	// and was last seen less than idle before now. A session past either
	// limit is deleted and, like an unknown one, is ErrNotFound.
	UseConsoleSession(ctx context.Context, digest [32]byte, now time.Time, idle time.Duration) (ConsoleSession, error)
	// DeleteConsoleSession removes a session (sign-out); ErrNotFound when
	// there is none.
	DeleteConsoleSession(ctx context.Context, digest [32]byte) error
}
