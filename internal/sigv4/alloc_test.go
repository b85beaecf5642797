// Allocation counts do not hold under the race detector, which makes
// sync.Pool drop items at random: this test exists only without -race.
// ./scripts/test runs it once without -race after the suite, which runs
// under it.

//go:build !race

package sigv4

import "testing"

// TestVerifyAllocs keeps Verify's steady-state allocations in check.
func TestVerifyAllocs(t *testing.T) {
	req, body := benchRequest(t)
	v := testVerifier()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(req, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("Verify allocates %v times per call, want none", allocs)
	}
}

// TestVerifyPresignedAllocs keeps the allocations of Verify on a presigned
// request in check: the query parameters that hold escapes (the credential's
// slashes, the signed headers' semicolons) are decoded into one string, and
// nothing else is allocated.
func TestVerifyPresignedAllocs(t *testing.T) {
	req, body := benchPresignedRequest(t)
	v := testVerifier()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(req, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("Verify of a presigned request allocates %v times per call, want at most 1", allocs)
	}
}
