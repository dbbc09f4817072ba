package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// DirectoryRequest selects users of GET /v1/admin/users. Query is a user id prefix, or an
// exact email address or phone number; FactorType and Locked ("true"/"false") filter.
type DirectoryRequest struct {
	Limit      int
	Cursor     string
	FactorType string
	Locked     string
	Query      string
}

// AdminListUsers reads one page of the user directory (admin scope).
func (c *Client) AdminListUsers(ctx context.Context, req DirectoryRequest, opts ...CallOption) (*DirectoryPage, error) {
	r, err := newRequest("GET /v1/admin/users")
	if err != nil {
		return nil, err
	}
	r.query = url.Values{}
	if req.Limit > 0 {
		r.query.Set("limit", strconv.Itoa(req.Limit))
	}
	for k, v := range map[string]string{"cursor": req.Cursor, "factorType": req.FactorType, "locked": req.Locked, "q": req.Query} {
		if v != "" {
			r.query.Set(k, v)
		}
	}
	r.retry, r.opts = true, opts
	var out DirectoryPage
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminAllUsers walks the directory page by page (req.Cursor is where it starts).
func (c *Client) AdminAllUsers(ctx context.Context, req DirectoryRequest, opts ...CallOption) iter.Seq2[DirectoryUser, error] {
	return func(yield func(DirectoryUser, error) bool) {
		for {
			page, err := c.AdminListUsers(ctx, req, opts...)
			if err != nil {
				yield(DirectoryUser{}, err)
				return
			}
			for _, u := range page.Users {
				if !yield(u, nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == req.Cursor {
				return
			}
			req.Cursor = page.NextCursor
		}
	}
}
