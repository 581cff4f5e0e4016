package client

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// User returns who the credential belongs to.
func (c *Client) User(ctx context.Context) (*api.User, error) {
	var u api.User
	return &u, c.do(ctx, http.MethodGet, "/v1/user", nil, nil, &u)
}

// CreateToken mints a token. Every create carries an Idempotency-Key, so it
// is retried safely: pass "" to get a fresh random key for this call, or
// the caller's own key to make a create safe across processes (a CI job
// that re-runs must not mint a second token).
func (c *Client) CreateToken(ctx context.Context, req api.CreateTokenRequest, idempotencyKey string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens", idempotencyHeader(idempotencyKey), req, &out)
}

// idempotencyHeader carries key, or a fresh random key when key is "".
func idempotencyHeader(key string) http.Header {
	if key == "" {
		key = NewIdempotencyKey()
	}
	h := http.Header{}
	h.Set(api.IdempotencyHeader, key)
	return h
}

// ExpiresIn is d as a create request's expires_in_seconds: whole seconds.
func ExpiresIn(d time.Duration) *int64 {
	secs := int64(d / time.Second)
	return &secs
}

// GetToken returns one token's metadata.
func (c *Client) GetToken(ctx context.Context, id string) (*api.Token, error) {
	var out api.Token
	return &out, c.do(ctx, http.MethodGet, "/v1/tokens/"+url.PathEscape(id), nil, nil, &out)
}

// DeleteToken deletes one token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
}

// DeleteTokens deletes up to api.MaxBulkDelete tokens in one request.
func (c *Client) DeleteTokens(ctx context.Context, ids []string) (*api.BulkDeleteResult, error) {
	var out api.BulkDeleteResult
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens/delete", nil, api.BulkDeleteRequest{IDs: ids}, &out)
}

// RotateToken gives a token a new secret; the old one stops working.
func (c *Client) RotateToken(ctx context.Context, id string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens/"+url.PathEscape(id)+"/rotate", nil, nil, &out)
}

// ListQuery filters a listing.
type ListQuery struct {
	Status   string   // active, expired or all ("" = server default)
	Name     string   // glob
	Scopes   []string // only tokens that carry every one of these
	PageSize int      // 0 = server default; the CLI passes PageSize
	// UnusedSince keeps tokens never used or last used before it. A
	// server that predates the filter ignores it, so callers filter too.
	UnusedSince time.Time
}

// ListTokens iterates over the caller's tokens, newest first, one page in
// memory at a time. Iteration stops at the first error, which is yielded.
// It follows next_cursor until the server sends null: a filtered page may
// hold fewer items than asked for, even none, when the server examined its
// bounded share of rows without a match.
func (c *Client) ListTokens(ctx context.Context, q ListQuery) iter.Seq2[api.Token, error] {
	return paged[api.Token](ctx, c, "/v1/tokens", q.values())
}

// values is the query string of a listing; AdminListQuery adds to it.
func (q ListQuery) values() url.Values {
	v := url.Values{}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Name != "" {
		v.Set("name", q.Name)
	}
	for _, sc := range q.Scopes {
		v.Add("scope", sc)
	}
	if q.PageSize > 0 {
		v.Set("limit", strconv.Itoa(q.PageSize))
	}
	if !q.UnusedSince.IsZero() {
		v.Set("unused_since", q.UnusedSince.UTC().Format(time.RFC3339))
	}
	return v
}

// paged walks a cursor-paged listing (GET path?v, then &cursor=… until the
// server sends a null next_cursor), one page in memory at a time. Iteration
// stops at the first error, which is yielded.
func paged[T any](ctx context.Context, c *Client, path string, v url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		v := maps.Clone(v) // the cursor is per iteration; callers pass a non-nil map
		for {
			p := path
			if len(v) > 0 {
				p += "?" + v.Encode()
			}
			var page struct {
				Items      []T     `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			if err := c.do(ctx, http.MethodGet, p, nil, nil, &page); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" {
				return
			}
			v.Set("cursor", *page.NextCursor)
		}
	}
}

// NewIdempotencyKey returns a random UUID (version 4).
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
