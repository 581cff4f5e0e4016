// Command bare is the yardstick of bench/run.sh: a net/http server that
// answers every request with a fixed body and the same headers tokend
// sends, with no routing, authentication, store or log. Whatever tokend
// costs beyond it is the price of the token check.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "write the base URL here once listening")
	bodyFile := flag.String("body", "", "file holding the response body (a tokend response, so sizes match)")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare: read --body:", err)
		os.Exit(2)
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A fresh request id like tokend's, so the headers weigh the same.
		var b [12]byte
		_, _ = rand.Read(b[:])
		hd := w.Header()
		hd.Set("Content-Type", "application/json")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Request-Id", hex.EncodeToString(b[:]))
		hd.Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte("http://"+ln.Addr().String()+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bare:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintln(os.Stderr, (&http.Server{Handler: h}).Serve(ln))
	os.Exit(1)
}
