package auth

import (
	"testing"

	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
)

// tokend's largest --device-poll-interval, grown once by slow_down, must
// stay within what this CLI waits between polls: past it tokenctl would
// poll too soon forever and never collect its token.
func TestPollCapFollowsTheServersLargestInterval(t *testing.T) {
	if got := server.MaxDevicePollInterval + store.SlowDownStep; got > maxPollInterval {
		t.Fatalf("tokend may ask for %s between polls after a slow_down; tokenctl waits at most %s", got, maxPollInterval)
	}
}
