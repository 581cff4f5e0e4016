package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func (g *Gate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// waitFor yields until cond holds; the test fails by timing out, never by
// measuring time.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

// A burst of checks never has more than slots running; queue more wait
// and then run; every check past those is refused at once with ErrBusy.
func TestGateBoundsChecksInFlight(t *testing.T) {
	const slots, queue, burst = 2, 3, 12
	g := NewGate(slots, queue)
	var running, peak, ran atomic.Int32
	release := make(chan struct{})
	check := func() {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		ran.Add(1)
	}
	errs := make(chan error, burst)
	var wg sync.WaitGroup
	// Fill the slots, then the queue, so which requests are refused is
	// certain.
	for range slots {
		wg.Go(func() { errs <- g.Do(context.Background(), check) })
	}
	waitFor(func() bool { return running.Load() == slots })
	for range queue {
		wg.Go(func() { errs <- g.Do(context.Background(), check) })
	}
	waitFor(func() bool { return g.queued() == queue })
	for range burst - slots - queue {
		if err := g.Do(context.Background(), check); !errors.Is(err, ErrBusy) {
			t.Fatalf("a check past the slots and the queue: %v, want ErrBusy", err)
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("an admitted check: %v", err)
		}
	}
	if p := peak.Load(); p > slots {
		t.Errorf("%d checks ran at once, the gate allows %d", p, slots)
	}
	if n := ran.Load(); n != slots+queue {
		t.Errorf("%d checks ran, want %d (the slots and the queue)", n, slots+queue)
	}
}

// A waiting check whose client gives up leaves the queue, and a later one
// takes its place.
func TestGateWaiterLeavesOnCancel(t *testing.T) {
	g := NewGate(1, 1)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- g.Do(context.Background(), func() { <-release }) }()
	waitFor(func() bool { return len(g.slots) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { waited <- g.Do(ctx, func() { t.Error("a cancelled check ran") }) }()
	waitFor(func() bool { return g.queued() == 1 })
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	if n := g.queued(); n != 0 {
		t.Fatalf("%d waiting after the cancel, want 0", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("a check after the burst: %v", err)
	}
}
