package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("concurrent creates all land, distinct, with no error", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		const workers = 16
		perWorker := 500
		if testing.Short() {
			perWorker = 25
		}

		// Readers run alongside the writers: authentication and listing must
		// keep working (and not fail with "database is locked") under load.
		var (
			stop    atomic.Bool
			latest  atomic.Pointer[[32]byte]
			readers sync.WaitGroup
			readErr = make(chan error, 2)
		)
		readers.Add(2)
		go func() {
			defer readers.Done()
			for !stop.Load() {
				if d := latest.Load(); d != nil {
					if _, _, err := f.s.TokenByDigest(f.ctx, *d); err != nil {
						readErr <- fmt.Errorf("TokenByDigest during creates: %w", err)
						return
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		go func() {
			defer readers.Done()
			for !stop.Load() {
				if _, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 10}); err != nil {
					readErr <- fmt.Errorf("ScanTokens during creates: %w", err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()

		type result struct {
			tok    store.Token
			digest [32]byte
		}
		results := make([][]result, workers)
		errs := make([]error, workers)
		var writers sync.WaitGroup
		for w := range workers {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := range perWorker {
					nt := newToken(alice, fmt.Sprintf("w%d-%d", w, i))
					nt.ID = store.NewID(time.Now())
					if i%10 == 0 { // some go through the idempotent path too
						nt.IdempotencyKey = fmt.Sprintf("key-%d-%d", w, i)
					}
					tok, replayed, err := f.s.CreateToken(f.ctx, nt)
					if err == nil && replayed {
						err = errors.New("replayed a first create")
					}
					if err != nil {
						errs[w] = fmt.Errorf("worker %d create %d: %w", w, i, err)
						return
					}
					results[w] = append(results[w], result{tok, nt.Digest})
					latest.Store(&nt.Digest)
				}
			}()
		}
		writers.Wait()
		stop.Store(true)
		readers.Wait()
		close(readErr)
		for err := range readErr {
			t.Error(err)
		}
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}

		ids := map[string]bool{}
		digests := map[[32]byte]bool{}
		for _, rs := range results {
			for _, r := range rs {
				if ids[r.tok.ID] || digests[r.digest] {
					t.Fatalf("duplicate id %s or digest", r.tok.ID)
				}
				ids[r.tok.ID], digests[r.digest] = true, true
			}
		}
		total := workers * perWorker
		if len(ids) != total {
			t.Fatalf("%d distinct ids, want %d", len(ids), total)
		}
		listed := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 1000})
		if len(listed) != total {
			t.Fatalf("listed %d tokens, want %d", len(listed), total)
		}
		seen := map[string]bool{}
		for i, id := range listed {
			if !ids[id] || seen[id] {
				t.Fatalf("listed id %s is unknown or repeated", id)
			}
			seen[id] = true
			if i > 0 && listed[i-1] <= id {
				t.Fatalf("listing not newest first at %d: %s then %s", i, listed[i-1], id)
			}
		}
		// Every secret authenticates as its own token.
		for _, rs := range results {
			for _, r := range rs[:min(len(rs), 20)] {
				f.mustFind(r.digest, r.tok.ID)
			}
		}
	})
}
