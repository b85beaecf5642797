package domain

import "time"

// IdempotencyRecord remembers the answer to a request that carried a
// clientToken, so that a repeat gets the same answer and no second effect.
type IdempotencyRecord struct {
	Account     string
	Operation   string
	Token       string
	RequestHash []byte
	Result      []byte // the operation's output, JSON
	CreatedTime time.Time
}
