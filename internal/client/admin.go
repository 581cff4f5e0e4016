package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// The admin API (/v1/admin/): every user's tokens, events and accounts.
// A member's credential gets 403 admin_required.

// AdminListQuery filters GET /v1/admin/tokens: ListQuery plus the owner
// and how soon the tokens expire.
type AdminListQuery struct {
	ListQuery
	User           string        // username; "" for everyone
	ExpiringWithin time.Duration // 0: no filter
}

// AdminListTokens iterates over every user's tokens (or one user's),
// newest first, following next_cursor like ListTokens.
func (c *Client) AdminListTokens(ctx context.Context, q AdminListQuery) iter.Seq2[api.AdminToken, error] {
	v := q.ListQuery.values()
	if q.User != "" {
		v.Set("user", q.User)
	}
	if q.ExpiringWithin > 0 {
		v.Set("expiring_within", strconv.FormatInt(int64(q.ExpiringWithin/time.Second), 10))
	}
	return paged[api.AdminToken](ctx, c, "/v1/admin/tokens", v)
}

// AdminGetToken returns any user's token with its owner.
func (c *Client) AdminGetToken(ctx context.Context, id string) (*api.AdminToken, error) {
	var out api.AdminToken
	return &out, c.do(ctx, http.MethodGet, "/v1/admin/tokens/"+url.PathEscape(id), nil, nil, &out)
}

// AdminDeleteTokens revokes up to api.MaxBulkDelete tokens of any users.
func (c *Client) AdminDeleteTokens(ctx context.Context, ids []string) (*api.BulkDeleteResult, error) {
	var out api.BulkDeleteResult
	return &out, c.do(ctx, http.MethodPost, adminBulkDeletePath, nil, api.BulkDeleteRequest{IDs: ids}, &out)
}

const adminBulkDeletePath = "/v1/admin/tokens/delete"

// AdminEventQuery filters GET /v1/admin/events.
type AdminEventQuery struct {
	EventQuery
	User string
}

// AdminEvents iterates over everyone's events (or one user's), newest first.
func (c *Client) AdminEvents(ctx context.Context, q AdminEventQuery) iter.Seq2[api.Event, error] {
	v := q.EventQuery.values()
	if q.User != "" {
		v.Set("user", q.User)
	}
	return paged[api.Event](ctx, c, "/v1/admin/events", v)
}

// AdminUsers lists every user.
func (c *Client) AdminUsers(ctx context.Context) ([]api.AdminUser, error) {
	var out api.AdminUserList
	return out.Items, c.do(ctx, http.MethodGet, "/v1/admin/users", nil, nil, &out)
}

// AdminCreateUser adds a user or service account.
func (c *Client) AdminCreateUser(ctx context.Context, req api.CreateUserRequest) (*api.AdminUser, error) {
	var out api.AdminUser
	return &out, c.do(ctx, http.MethodPost, "/v1/admin/users", nil, req, &out)
}

// AdminUpdateUser changes a user's role or disabled flag.
func (c *Client) AdminUpdateUser(ctx context.Context, name string, req api.UpdateUserRequest) (*api.AdminUser, error) {
	var out api.AdminUser
	return &out, c.do(ctx, http.MethodPatch, "/v1/admin/users/"+url.PathEscape(name), nil, req, &out)
}

// AdminDeleteUser deletes a user and their tokens.
func (c *Client) AdminDeleteUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/admin/users/"+url.PathEscape(name), nil, nil, nil)
}

// AdminCreateToken mints a token for a service account, retry-safe with
// its Idempotency-Key like CreateToken.
func (c *Client) AdminCreateToken(ctx context.Context, account string, req api.CreateTokenRequest, idempotencyKey string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	return &out, c.do(ctx, http.MethodPost, "/v1/admin/users/"+url.PathEscape(account)+"/tokens", idempotencyHeader(idempotencyKey), req, &out)
}
