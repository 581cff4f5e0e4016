package password

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// ErrBusy is Gate.Do's answer when every slot is taken and the queue is
// full: the caller should say "try again in a second" (503).
var ErrBusy = errors.New("too many password checks in progress")

// Gate bounds the memory password checks take. Each argon2id check
// allocates 19 MiB at once, so a burst of sign-ins must not run all at
// once: at most slots checks run, at most queue more wait for a slot, and
// the rest are refused at once with ErrBusy. A check that ran collects its
// garbage before it gives up its slot, so the next check reuses the memory
// instead of growing the heap: with Go's default GOGC the 19 MiB blocks of
// finished checks would otherwise pile up until the heap doubled.
type Gate struct {
	slots chan struct{}

	mu      sync.Mutex
	waiting int
	queue   int
}

// NewGate returns a gate running at most slots checks at once (at least 1)
// with at most queue more waiting.
func NewGate(slots, queue int) *Gate {
	return &Gate{slots: make(chan struct{}, max(1, slots)), queue: max(0, queue)}
}

// Do runs check in a slot. It returns ErrBusy without running it when
// every slot is taken and queue checks already wait, and ctx's error when
// ctx ends while it waits.
func (g *Gate) Do(ctx context.Context, check func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if err := g.wait(ctx); err != nil {
			return err
		}
	}
	defer func() {
		g.free()
		<-g.slots
	}()
	check()
	return nil
}

func (g *Gate) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.waiting >= g.queue {
		g.mu.Unlock()
		return ErrBusy
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// free collects a finished check's memory while its slot is still held, so
// the next check's allocation reuses it instead of growing the heap. Small
// objects allocated meanwhile can split a freed 19 MiB run, so the next
// check maps fresh pages anyway; once more than a check's worth of freed
// memory stays resident it goes back to the OS. Skipping that for a check
// that ran alone was measured too (bench/password_rss.sh): the memory it
// kept could not always be reused by the next burst, whose peak then
// reached 76 MB.
func (g *Gate) free() {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > hashBytes {
		debug.FreeOSMemory()
	}
}

// hashBytes is what one argon2id check allocates.
const hashBytes = memoryKiB * 1024
