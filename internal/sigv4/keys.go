package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// The signing-key cache is bounded twice: by entries and by the bytes its
// keys and their strings take. When either bound would be passed it is
// emptied. Only keys of requests whose signature verified are cached, so an
// attacker without a secret key cannot fill it.
const (
	maxCachedKeys     = 10000
	maxCachedKeyBytes = 4 << 20
	// keyEntryOverhead approximates what one entry costs beyond its strings:
	// the two pad blocks, the map slot and the string headers.
	keyEntryOverhead = 2*sha256.BlockSize + 5*16 + 48
)

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

// size is what the entry of id costs the cache, in bytes.
func (id keyID) size() int {
	return len(id.accessKeyID) + len(id.secret) + len(id.date) + len(id.region) + len(id.service) + keyEntryOverhead
}

// keyCache maps a credential and its scope to the derived signing key. The
// zero value is ready to use.
type keyCache struct {
	mu    sync.RWMutex
	m     map[keyID]*signingKey
	bytes int // the sum of the entries' sizes
}

// lookup returns the cached signing key of secret for date, region and
// service, or nil.
func (c *keyCache) lookup(accessKeyID, secret, date, region, service string) *signingKey {
	c.mu.RLock()
	k := c.m[keyID{accessKeyID, secret, date, region, service}]
	c.mu.RUnlock()
	return k
}

// put caches k as the signing key of secret for date, region and service.
// Call it only once a signature made with k has verified.
func (c *keyCache) put(k *signingKey, accessKeyID, secret, date, region, service string) {
	// Clone the strings: the request ones are substrings of its headers.
	id := keyID{strings.Clone(accessKeyID), strings.Clone(secret), strings.Clone(date),
		strings.Clone(region), strings.Clone(service)}
	size := id.size()
	if size > maxCachedKeyBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedKeys || c.bytes+size > maxCachedKeyBytes {
		c.m, c.bytes = make(map[keyID]*signingKey), 0
	}
	c.m[id] = k
	c.bytes += size
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
