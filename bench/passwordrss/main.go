// Command passwordrss is the load of bench/password_rss.sh: n concurrent
// HTTP Basic sign-ins (GET /v1/user), each from its own loopback address
// 127.0.0.1 .. 127.0.0.n, so that per-address limits never refuse them
// and tokend runs without --trust-proxy. It prints how the answers split
// by status. The password comes from $BENCH_PASSWORD, never from argv.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "tokend base URL (http://127.0.0.1:PORT)")
	user := flag.String("user", "bench", "username")
	n := flag.Int("n", 64, "concurrent sign-ins, one per address 127.0.0.1..127.0.0.n (at most 254)")
	rounds := flag.Int("rounds", 1, "bursts to send, one after the other")
	flag.Parse()
	pw := os.Getenv("BENCH_PASSWORD")
	if *url == "" || pw == "" || *n < 1 || *n > 254 {
		fmt.Fprintln(os.Stderr, "passwordrss: need -url, -n 1..254 and $BENCH_PASSWORD")
		os.Exit(2)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	start := time.Now()
	for range *rounds {
		var ready, wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range *n {
			ready.Add(1)
			wg.Go(func() {
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}}
				c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
					DialContext:       func(ctx context.Context, nw, a string) (net.Conn, error) { return d.DialContext(ctx, nw, a) },
					DisableKeepAlives: true,
				}}
				req, _ := http.NewRequest("GET", *url+"/v1/user", nil)
				req.SetBasicAuth(*user, pw)
				ready.Done()
				<-gate
				res, err := c.Do(req)
				key := ""
				if err != nil {
					key = "error: " + err.Error()
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					key = fmt.Sprint(res.StatusCode)
					if ra := res.Header.Get("Retry-After"); ra != "" {
						key += " (Retry-After " + ra + ")"
					}
				}
				mu.Lock()
				counts[key]++
				mu.Unlock()
			})
		}
		ready.Wait()
		close(gate)
		wg.Wait()
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %4d x %s\n", counts[k], k)
	}
	fmt.Printf("  %d sign-ins in %s\n", *n**rounds, time.Since(start).Round(time.Millisecond))
}
