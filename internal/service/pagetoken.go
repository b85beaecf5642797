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
	After   json.RawMessage `json:"k"` // the operation's own cursor
}

func (t *pageTokens) mac(payload string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// issue returns the token that resumes op for account after the cursor (any
// value that encodes to JSON).
func (t *pageTokens) issue(op, account string, cursor any) *string {
	after, _ := json.Marshal(cursor)
	b, _ := json.Marshal(pagePosition{Op: op, Account: account, After: after})
	payload := base64.RawURLEncoding.EncodeToString(b)
	tok := payload + "." + t.mac(payload)
	return &tok
}

// resume decodes into cursor the position a token names and reports whether
// there was one: an absent token starts at the beginning; a forged, altered
// or foreign one is a ValidationException.
func (t *pageTokens) resume(token *string, op, account string, cursor any) (bool, error) {
	if token == nil || *token == "" {
		return false, nil
	}
	bad := domain.Invalid("The nextToken is not valid for %s: pass the nextToken that the previous page returned.", op)
	payload, sig, ok := strings.Cut(*token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.mac(payload))) {
		return false, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false, bad
	}
	var p pagePosition
	if err := json.Unmarshal(b, &p); err != nil || p.Op != op || p.Account != account || json.Unmarshal(p.After, cursor) != nil {
		return false, bad
	}
	return true, nil
}

// pageSize returns maxResults, or def when absent.
func pageSize(maxResults *int32, def int) int {
	if maxResults == nil {
		return def
	}
	return int(*maxResults)
}
