package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestSigningKeySumIsHMAC(t *testing.T) {
	for _, tc := range []struct{ key, msg string }{
		{"", ""},
		{"k", "message"},
		{strings.Repeat("k", 32), strings.Repeat("m", 1000)},
		{strings.Repeat("\xff", 32), "AWS4-HMAC-SHA256\n20251120T202346Z\n20251120/us-east-1/ssm-incidents/aws4_request\n00"},
	} {
		k := newSigningKey([]byte(tc.key))
		got := k.sum(append(k.ipad[:], tc.msg...))
		h := hmac.New(sha256.New, []byte(tc.key))
		h.Write([]byte(tc.msg))
		if want := h.Sum(nil); !hmac.Equal(got[:], want) {
			t.Errorf("sum(%q, %q) = %x, want %x", tc.key, tc.msg, got, want)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	// The example of the AWS Signature Version 4 documentation.
	got := deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
	const want = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
	if hexGot := hex.EncodeToString(got); hexGot != want {
		t.Fatalf("deriveKey = %s, want %s", hexGot, want)
	}
}

func TestKeyCacheIsBounded(t *testing.T) {
	var c keyCache
	get := func(id, secret, region string) *signingKey {
		if k := c.lookup(id, secret, "20251120", region, "svc"); k != nil {
			return k
		}
		k := newSigningKey(deriveKey(secret, "20251120", region, "svc"))
		c.put(k, id, secret, "20251120", region, "svc")
		return k
	}
	first := get("AKID", "secret", "us-east-1")
	if again := get("AKID", "secret", "us-east-1"); again != first {
		t.Fatal("the same scope derived a new key")
	}
	if other := get("AKID", "rotated", "us-east-1"); *other == *first {
		t.Fatal("another secret gave the same key")
	}
	for i := 0; i < 3*maxCachedKeys; i++ {
		get("AKID"+strconv.Itoa(i), "secret", "us-east-1")
		if n := len(c.m); n > maxCachedKeys {
			t.Fatalf("cache holds %d keys, more than %d", n, maxCachedKeys)
		}
	}
	// Large entries are bounded by bytes long before the entry count.
	long := strings.Repeat("s", 64<<10)
	for i := 0; i < 1000; i++ {
		get("AKID"+strconv.Itoa(i), long, "us-east-1")
		if c.bytes > maxCachedKeyBytes {
			t.Fatalf("cache holds %d bytes, more than %d", c.bytes, maxCachedKeyBytes)
		}
	}
	sum := 0
	for id := range c.m {
		sum += id.size()
	}
	if sum != c.bytes {
		t.Fatalf("cache counts %d bytes, its entries take %d", c.bytes, sum)
	}
}

func TestIsRegionName(t *testing.T) {
	for _, r := range []string{"us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1", "il-central-1", "me-south-12", "eusc-de-east-1"} {
		if !isRegionName(r) {
			t.Errorf("isRegionName(%q) = false", r)
		}
	}
	for _, r := range []string{"", "local", "us-east", "us-east-", "US-EAST-1", "us--east-1", "u-east-1", "us-east-123", "useast-1", "us-east-1a",
		"us-" + strings.Repeat("x", 40) + "-1", "-us-east-1", "us-east_1", "europe-west-1", "e-west-1"} {
		if isRegionName(r) {
			t.Errorf("isRegionName(%q) = true", r)
		}
	}
}

// referenceQuery is the canonical query as the AWS SDK for Go v2 computes it
// from url.Values: encode each key and value, then sort.
func referenceQuery(raw string) string {
	values, _ := url.ParseQuery(raw)
	var pairs []string
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	for k, vs := range values {
		for _, v := range vs {
			pairs = append(pairs, enc(k)+"="+enc(v))
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		ki, vi, _ := strings.Cut(pairs[i], "=")
		kj, vj, _ := strings.Cut(pairs[j], "=")
		if ki != kj {
			return ki < kj
		}
		return vi < vj
	})
	return strings.Join(pairs, "&")
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"arn=arn:aws:ssm-incidents::111122223333:response-plan/myplan",
			"arn=arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan"},
		{"tagKeys=b%20c&tagKeys=a", "tagKeys=a&tagKeys=b%20c"},
		{"tagKeys=b+c&tagKeys=a", "tagKeys=a&tagKeys=b%20c"},
		{"b=2&a=1&a", "a=&a=1&b=2"},
		{"x=a-b&x=a/b", "x=a%2Fb&x=a-b"}, // sorted after encoding
		{"k=%41%7e%2a", "k=A~%2A"},
		{"bad=%zz&ok=1&semi=a;b&&=v", "=v&ok=1"},
		{"%E2%9C%93=%C3%A9", "%E2%9C%93=%C3%A9"},
	}
	for _, tt := range tests {
		got := string(appendCanonicalQuery(nil, &state{}, tt.raw, false))
		if got != tt.want {
			t.Errorf("canonical query of %q = %q, want %q", tt.raw, got, tt.want)
		}
		if ref := referenceQuery(tt.raw); got != ref {
			t.Errorf("canonical query of %q = %q, SDK computes %q", tt.raw, got, ref)
		}
	}
}

func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "tagKeys=a&tagKeys=b%20c", "x=a/b&x=a-b", "%zz=1&a;b=2&+=%2B", "a&a=&=a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := string(appendCanonicalQuery(nil, &state{}, raw, false))
		if want := referenceQuery(raw); got != want {
			t.Fatalf("canonical query of %q = %q, SDK computes %q", raw, got, want)
		}
	})
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "/"},
		{"/", "/"},
		{"/createResponsePlan", "/createResponsePlan"},
		{"/tags/arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan",
			"/tags/arn%253Aaws%253Assm-incidents%253A%253A111122223333%253Aresponse-plan%252Fmyplan"},
		{"/a b/c+d/~_.-", "/a%20b/c%2Bd/~_.-"},
		{"/./../x", "/./../x"},
	}
	for _, tt := range tests {
		if got := string(appendCanonicalURI(nil, tt.path)); got != tt.want {
			t.Errorf("canonical URI of %q = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestCanonicalHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://ssm-incidents.us-east-1.amazonaws.com/x", strings.NewReader("12345"))
	r.Header.Del("Content-Length")
	r.Header["X-Multi"] = []string{"  a   b  ", "c\t d"}
	r.Header.Set("X-Amz-Date", "20251120T202346Z")
	var got []byte
	for _, name := range []string{"content-length", "host", "x-amz-date", "x-multi", "x-absent"} {
		got = appendCanonicalHeader(got, r, name)
	}
	const want = "content-length:5\nhost:ssm-incidents.us-east-1.amazonaws.com\n" +
		"x-amz-date:20251120T202346Z\nx-multi:a b,c\t d\nx-absent:\n"
	if string(got) != want {
		t.Fatalf("canonical headers = %q, want %q", got, want)
	}
	long := strings.Repeat("x-", 40) + "y"
	r.Header["X_multi"] = []string{"underscore"}
	r.Header.Set(long, "long")
	r.Header["a b"] = []string{"invalid"}
	for _, name := range []string{"x-multi", "X-MULTI", "x_multi", long, "a b"} {
		want := r.Header[http.CanonicalHeaderKey(name)]
		if got := headerValues(r.Header, name); len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("headerValues(%q) = %q, want %q", name, got, want)
		}
	}
}
