package token

import (
	"io"
	"testing"
	"time"
)

// BenchmarkListJSON streams 2,000 tokens (two pages) from a real tokend
// through `token list -o json`. The whole-process figures for 100,000
// tokens come from internal/e2e/testdata/bench/token_bench.sh.
func BenchmarkListJSON(b *testing.B) {
	e := newTestEnv(b)
	for range 2000 {
		e.mintDirect("bench", time.Hour)
	}
	e.ios.Out = io.Discard
	b.ResetTimer()
	for range b.N {
		opts := &ListOptions{IO: e.ios, Client: e.f.Client, Now: e.clock.Now, PageSize: 1000}
		opts.Export.Format = "json"
		if err := listRun(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeleteBulk deletes 1,000 tokens by filter per iteration in
// one bulk request.
func BenchmarkDeleteBulk(b *testing.B) {
	e := newTestEnv(b)
	for range b.N {
		b.StopTimer()
		for range 1000 {
			e.mintDirect("bench", time.Hour)
		}
		e.errOut.Reset()
		b.StartTimer()
		opts := &DeleteOptions{IO: e.ios, Client: e.f.Client, Now: e.clock.Now, Name: "bench", Yes: true}
		if err := deleteRun(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}
