package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache; it is emptied when full.
const maxCachedKeys = 10000

// signingKey is a derived SigV4 signing key, kept as the two padded HMAC
// key blocks so that signing a string costs two SHA-256 sums and no
// allocation: HMAC(k, m) = H(opad || H(ipad || m)) with ipad = k^0x36 and
// opad = k^0x5c, k zero-padded to the 64-byte block.
type signingKey struct {
	ipad, opad [sha256.BlockSize]byte
}

func newSigningKey(k []byte) *signingKey {
	var s signingKey
	copy(s.ipad[:], k)
	copy(s.opad[:], k)
	for i := range s.ipad {
		s.ipad[i] ^= 0x36
		s.opad[i] ^= 0x5c
	}
	return &s
}

// sum returns the HMAC-SHA256 of a message under the key, given ipadMsg:
// the key's ipad block followed by the message.
func (s *signingKey) sum(ipadMsg []byte) [sha256.Size]byte {
	inner := sha256.Sum256(ipadMsg)
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], s.opad[:])
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

type keyID struct{ accessKeyID, secret, date, region, service string }

// keyCache maps a credential and its scope to the derived signing key. The
// zero value is ready to use.
type keyCache struct {
	mu sync.RWMutex
	m  map[keyID]*signingKey
}

// get returns the signing key of secret for date, region and service,
// deriving and caching it if needed.
func (c *keyCache) get(accessKeyID, secret, date, region, service string) *signingKey {
	id := keyID{accessKeyID, secret, date, region, service}
	c.mu.RLock()
	k, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return k
	}

	k = newSigningKey(deriveKey(secret, date, region, service))
	// Clone the strings: the request ones are substrings of its headers.
	id = keyID{strings.Clone(accessKeyID), strings.Clone(secret), strings.Clone(date),
		strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyID]*signingKey)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}

// deriveKey computes the SigV4 signing key
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
