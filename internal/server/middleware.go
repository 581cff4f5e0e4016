package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// requestInfo is what the access log reports about one request; handlers
// fill it in as they learn the route and the user.
type requestInfo struct {
	id          string
	route       string
	user        string
	problemCode string
}

func infoFrom(ctx context.Context) *requestInfo {
	if st := stateFrom(ctx); st != nil {
		return &st.info
	}
	return nil
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

func requestID(r *http.Request) string {
	if info := infoFrom(r.Context()); info != nil {
		return info.id
	}
	return ""
}

// requestState is everything the middleware keeps for one request, in one
// allocation: the access log's facts and its response writer wrapper. It
// is also the request's context (the incoming one, embedded, answering
// stateKey with itself), which saves context.WithValue's allocation.
type requestState struct {
	context.Context
	info  requestInfo
	rec   statusRecorder
	idHdr [1]string // the X-Request-Id header value, without its own slice
}

type stateKey struct{}

// Value answers stateKey with the state; every other key is the incoming
// context's, so cancellation, deadlines and values pass through unchanged.
func (st *requestState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

// withRequestID accepts a sane incoming X-Request-Id (so a request can be
// followed through a proxy) or makes one, and echoes it in the response.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		// A secret-shaped id is not echoed: it would land in every log line.
		if !validRequestID(id) || redact(id) != id {
			id = newRequestID()
		}
		st := &requestState{Context: r.Context(), info: requestInfo{id: id}}
		st.idHdr[0] = id
		w.Header()["X-Request-Id"] = st.idHdr[:]
		next.ServeHTTP(w, r.WithContext(st))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withAccessLog logs one line per request. It logs the route pattern, not
// the raw path, and never headers, query strings or bodies: those are where
// secrets travel.
func (s *server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := stateFrom(r.Context())
		st.rec = statusRecorder{ResponseWriter: w}
		next.ServeHTTP(&st.rec, r)
		info := &st.info
		route := info.route
		if route == "" {
			// A handler behind Pages: its ServeMux set the pattern it
			// matched on this very request.
			route = r.Pattern
		}
		if route == "" {
			route = s.routeOf(r)
		}
		status := st.rec.status
		switch {
		case status == 0 && r.Context().Err() != nil:
			status = 499 // nginx's "client closed request": nothing was sent
		case status == 0:
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		ctx := r.Context()
		h := s.log.Handler()
		if !h.Enabled(ctx, level) {
			return
		}
		// The record goes straight to the handler: Logger.LogAttrs would
		// also walk the stack for a source position nobody prints.
		rec := slog.NewRecord(time.Now(), level, "request", 0)
		rec.AddAttrs(
			slog.String("request_id", info.id),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("user", info.user),
			slog.String("remote", s.clientAddr(r)),
			slog.Int64("bytes", st.rec.bytes),
		)
		if info.problemCode != "" {
			rec.AddAttrs(slog.String("code", info.problemCode))
		}
		_ = h.Handle(ctx, rec)
	})
}

// Pages puts next, tokend's browser pages (package loginweb), behind the
// API's own request id, access log and panic recovery, so a page request
// is followed and logged exactly like an API one: X-Request-Id, one line
// with the route pattern and never the query string, where user codes,
// states and authorization codes travel. The route is the pattern next's
// ServeMux matched (it sets Request.Pattern on the request it is given).
func Pages(cfg Config, logger *slog.Logger, next http.Handler) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg.withDefaults(), log: logger}
	return s.withRequestID(s.withAccessLog(s.withRecover(next)))
}

// routeOf names the route of a request that was answered before it was
// routed (rate limited, body too large), or "unmatched".
func (s *server) routeOf(r *http.Request) string {
	if p := r.URL.EscapedPath(); s.mux != nil && p != "" && path.Clean(p) == p {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			return pattern
		}
	}
	return "unmatched"
}

// withRecover turns a panic into a logged 500 problem. The log carries the
// stack, not the panic value, so nothing from the request leaks into it.
func (s *server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic recovered", "request_id", requestID(r),
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			writeProblem(w, r, http.StatusInternalServerError, api.CodeInternal,
				"the server hit an unexpected error; it has been logged with the request id")
		}()
		next.ServeHTTP(w, r)
	})
}

// tooManyFailures answers 429 with how long the client must wait; what
// says whose failures it is paying for.
func (s *server) tooManyFailures(w http.ResponseWriter, r *http.Request, wait time.Duration, what string) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeProblem(w, r, http.StatusTooManyRequests, api.CodeRateLimited,
		fmt.Sprintf("%s; retry in %d seconds", what, secs))
}

// withBodyLimit caps request bodies. A declared oversized body is refused
// at once; an undeclared one fails when the decoder reads past the limit.
func (s *server) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// limitKey is what failed logins are counted against: the client's IPv4
// address, or the /64 of its IPv6 address, since one IPv6 host commonly
// owns a whole /64 and could otherwise take a fresh address per guess.
func (s *server) limitKey(r *http.Request) string {
	addr := s.clientAddr(r)
	// netip parses without allocating; this runs on every request.
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Is4() || ip.Is4In6() || ip.Zone() != "" {
		return addr // net.ParseIP, used before, refused zones: keep them whole
	}
	prefix, _ := ip.Prefix(64)
	return net.IP(prefix.Addr().AsSlice()).String() + "/64"
}

// clientAddr is the address of the client, as logged.
func (s *server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		// The last entry is the one our proxy wrote; anything before it may
		// have come from the client, since many proxies append to the
		// header rather than replace it.
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := forwardedIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedIP parses one X-Forwarded-For entry: an address, or an address
// with a port ("1.2.3.4:5678", "[2001:db8::1]:443"), as some proxies write.
func forwardedIP(v string) net.IP {
	if ip := net.ParseIP(v); ip != nil {
		return ip
	}
	if host, _, err := net.SplitHostPort(v); err == nil {
		return net.ParseIP(host)
	}
	// "[2001:db8::1]" without a port.
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		return net.ParseIP(v[1 : len(v)-1])
	}
	return nil
}
