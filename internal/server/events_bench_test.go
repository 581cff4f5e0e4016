package server

import (
	"context"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// TestListing100kEventsKeepsHeapFlat pages through 100,000 events 100 at a
// time through the handler, as TestListing100kTokensKeepsHeapFlat does for
// tokens. Figures: go test -v -run 100kEvents.
func TestListing100kEventsKeepsHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 events")
	}
	const n = 100_000
	e := newTestEnv(t)
	e.validate = false
	u := e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw")) // one token.created event of its own
	evs := make([]store.Event, n)
	start := e.clock.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := range evs {
		at := start.Add(time.Duration(i) * time.Millisecond)
		evs[i] = store.Event{ID: store.NewEventID(at), UserID: u.ID, Time: at, Type: store.EventTokenDeleted,
			TokenID: store.NewID(at), TokenName: "seeded", TokenKeyHint: "tkn_abcd…wxyz",
			ActorKind: store.ActorToken, ActorTokenID: store.NewID(at), ActorTokenName: "ci",
			ClientAddress: "192.0.2.1", UserAgent: "tokenctl/1.0"}
	}
	if err := e.st.AddEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	evs = nil

	before := heapInUse()
	var peak uint64
	seen, pages, cursor, last := 0, 0, "", ""
	for {
		path := "/v1/events?limit=100&type=token.deleted"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(req{method: "GET", path: path, auth: auth})
		var page api.EventPage
		res.decode(t, &page)
		for _, it := range page.Items {
			if last != "" && it.ID >= last {
				t.Fatalf("page %d: %s after %s, not newest first", pages, it.ID, last)
			}
			last = it.ID
		}
		seen += len(page.Items)
		pages++
		if pages%100 == 0 {
			peak = max(peak, heapInUse())
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	after := heapInUse()
	t.Logf("listed %d events in %d pages; heap in use: start %.1f MiB, peak %.1f MiB, end %.1f MiB",
		seen, pages, mib(before), mib(peak), mib(after))
	if seen != n || pages != n/100 {
		t.Fatalf("listed %d events in %d pages, want %d in %d", seen, pages, n, n/100)
	}
	if after > before+16<<20 || peak > before+16<<20 {
		t.Errorf("heap grew while paging: start %.1f MiB, peak %.1f MiB, end %.1f MiB", mib(before), mib(peak), mib(after))
	}
}

// BenchmarkListEventsPage100 walks a 10,000-event trail a page at a time.
func BenchmarkListEventsPage100(b *testing.B) {
	e := newTestEnv(b)
	u := e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	evs := make([]store.Event, 10_000)
	for i := range evs {
		at := e.clock.Now().Add(time.Duration(i-len(evs)) * time.Millisecond)
		evs[i] = store.Event{ID: store.NewEventID(at), UserID: u.ID, Time: at, Type: store.EventTokenCreated,
			TokenID: store.NewID(at), TokenName: "x", ActorKind: store.ActorPassword}
	}
	if err := e.st.AddEvents(context.Background(), evs); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		benchRequest(b, e.h, "GET", "/v1/events?limit=100", auth, "", 200)
	}
}
