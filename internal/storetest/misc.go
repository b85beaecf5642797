package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

func secretCases() []testCase {
	return []testCase{
		{"CreatedOnce", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			a, err := s.Secret(ctx, "page-token-key", 32)
			must(t, err, "Secret")
			if len(a) != 32 {
				t.Fatalf("Secret of size 32 has %d bytes", len(a))
			}
			if bytes.Equal(a, make([]byte, 32)) {
				t.Fatal("the secret is all zero")
			}
			for range 3 {
				b, err := s.Secret(ctx, "page-token-key", 32)
				must(t, err, "Secret again")
				check(t, b, a, "the secret asked again")
			}
			// Another name is another secret; the size asked applies on
			// first use only.
			c, err := s.Secret(ctx, "other", 16)
			must(t, err, "Secret other")
			if len(c) != 16 || bytes.Equal(c, a[:16]) {
				t.Fatalf("another secret: %x", c)
			}
			b, err := s.Secret(ctx, "page-token-key", 64)
			must(t, err, "Secret with another size")
			check(t, b, a, "the secret asked with another size")
		}},
		{"ConcurrentFirstUse", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const n = 8
			got := make([][]byte, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { got[i], errs[i] = s.Secret(ctx, "k", 32) })
			}
			wg.Wait()
			for i := range n {
				must(t, errs[i], "Secret %d", i)
				check(t, got[i], got[0], "the secret of concurrent first uses")
			}
			again, err := s.Secret(ctx, "k", 32)
			must(t, err, "Secret after")
			check(t, again, got[0], "the secret after concurrent first uses")
		}},
	}
}

func leaseCases() []testCase {
	return []testCase{
		{"TakeRenewExpire", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			acquire := func(name, holder string, now, until time.Time) bool {
				t.Helper()
				ok, err := s.AcquireLease(ctx, name, holder, now, until)
				must(t, err, "AcquireLease %s by %s", name, holder)
				return ok
			}
			if !acquire("purge", "a", at(0), at(60)) {
				t.Fatal("a free lease was not taken")
			}
			if acquire("purge", "b", at(10), at(70)) {
				t.Fatal("b took a's lease before it expired")
			}
			if !acquire("other", "b", at(10), at(70)) {
				t.Fatal("another lease is not free")
			}
			if !acquire("purge", "a", at(20), at(80)) {
				t.Fatal("a could not renew its lease")
			}
			if acquire("purge", "b", at(79), at(140)) {
				t.Fatal("b took the renewed lease before it expired")
			}
			if !acquire("purge", "b", at(80), at(140)) {
				t.Fatal("b could not take the expired lease")
			}
			if acquire("purge", "a", at(90), at(150)) {
				t.Fatal("a took the lease back while b holds it")
			}
		}},
		{"OneOfManyAtOnce", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const n = 12
			held := make([]bool, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { held[i], errs[i] = s.AcquireLease(ctx, "purge", fmt.Sprint("node", i), at(0), at(60)) })
			}
			wg.Wait()
			count := 0
			for i := range n {
				must(t, errs[i], "AcquireLease %d", i)
				if held[i] {
					count++
				}
			}
			if count != 1 {
				t.Fatalf("%d holders took one free lease at once, want 1", count)
			}
		}},
	}
}
