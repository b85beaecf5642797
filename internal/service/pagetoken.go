package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
)

// pageTokens issues and checks the opaque nextToken of list operations: a
// base64 JSON position followed by an HMAC over it, so that a token is only
// accepted by the operation and account it was issued for.
type pageTokens struct{ key []byte }

type pagePosition struct {
	Op      string          `json:"o"`
	Account string          `json:"a"`
	Scope   string          `json:"s,omitempty"`
	After   json.RawMessage `json:"k"` // the operation's own cursor
}

func (t *pageTokens) mac(payload string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// listing is one paged listing: its operation, the caller's account, and
// what else of the request its tokens are bound to (scope: an incident, a
// plan, a sort order), named for messages by the members that carry it
// (params).
type listing struct {
	op, account   string
	scope, params string
}

// issue returns the token that resumes l after the cursor (any value that
// encodes to JSON).
func (t *pageTokens) issue(l listing, cursor any) *string {
	after, _ := json.Marshal(cursor)
	b, _ := json.Marshal(pagePosition{Op: l.op, Account: l.account, Scope: l.scope, After: after})
	payload := base64.RawURLEncoding.EncodeToString(b)
	tok := payload + "." + t.mac(payload)
	return &tok
}

// resume decodes into cursor the position a token names and reports whether
// there was one: an absent token starts at the beginning; a forged, altered
// or foreign one, or one of another scope, is a ValidationException.
func (t *pageTokens) resume(l listing, token *string, cursor any) (bool, error) {
	if token == nil || *token == "" {
		return false, nil
	}
	bad := domain.Invalid("The nextToken is not valid for %s: pass the nextToken that the previous page returned.", l.op)
	payload, sig, ok := strings.Cut(*token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.mac(payload))) {
		return false, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false, bad
	}
	var p pagePosition
	if err := json.Unmarshal(b, &p); err != nil || p.Op != l.op || p.Account != l.account || json.Unmarshal(p.After, cursor) != nil {
		return false, bad
	}
	if p.Scope != l.scope {
		return false, domain.Invalid("The nextToken is not valid for this %s request: pass it with the same %s.", l.op, l.params)
	}
	return true, nil
}

// resumeAt is resume for a cursor of type C; nil when the listing starts at
// the beginning.
func resumeAt[C any](t *pageTokens, l listing, token *string) (*C, error) {
	var c C
	if found, err := t.resume(l, token, &c); err != nil || !found {
		return nil, err
	}
	return &c, nil
}

// page keeps the first limit items of a list fetched with one more than
// limit, and returns the token that resumes l after the last one kept, or
// nil when nothing follows.
func page[T any](t *pageTokens, l listing, items []T, limit int, cursor func(T) any) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	return items, t.issue(l, cursor(items[limit-1]))
}

// pageSize returns maxResults, or def when absent.
func pageSize(maxResults *int32, def int) int {
	if maxResults == nil {
		return def
	}
	return int(*maxResults)
}
