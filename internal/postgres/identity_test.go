package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// A key deactivated or deleted on one node is refused by the next lookup
// on every other: nothing is cached.
func TestAccessKeyChangesSeenByEveryNode(t *testing.T) {
	ns := nodes(t, 3)
	ctx := t.Context()
	if err := ns[0].CreateAccount(ctx, &domain.Account{ID: acct, CreatedTime: t0}); err != nil {
		t.Fatal(err)
	}
	if err := ns[0].CreateUser(ctx, &domain.User{Account: acct, Name: "alice", CreatedTime: t0}); err != nil {
		t.Fatal(err)
	}
	k := &domain.AccessKey{ID: "AKIAALICE", Account: acct, User: "alice", SealedSecret: []byte("sealed"), Active: true, CreatedTime: t0}
	if err := ns[0].CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	active := func(node int) bool {
		t.Helper()
		got, err := ns[node].GetAccessKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("node %d: GetAccessKey: %v", node, err)
		}
		return got.Active
	}
	for node := range ns {
		if !active(node) {
			t.Fatalf("node %d reads the new key inactive", node)
		}
	}
	if err := ns[1].SetAccessKeyActive(ctx, acct, k.ID, false); err != nil {
		t.Fatal(err)
	}
	for node := range ns {
		if active(node) {
			t.Fatalf("node %d reads the key node 1 deactivated active", node)
		}
	}
	if err := ns[2].DeleteUser(ctx, acct, "alice"); err != nil {
		t.Fatal(err)
	}
	for node := range ns {
		if _, err := ns[node].GetAccessKey(ctx, k.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("node %d: GetAccessKey of a key whose user node 2 deleted: %v", node, err)
		}
	}
}

// Of nodes creating one user at once, one succeeds; the others answer
// ErrConflict, in a Tx or not.
func TestConcurrentCreateUserOnNodes(t *testing.T) {
	ns := nodes(t, 3)
	ctx := t.Context()
	if err := ns[0].CreateAccount(ctx, &domain.Account{ID: acct, CreatedTime: t0}); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		name := fmt.Sprintf("user-%d", round)
		errs := parallel(12, func(i int) error {
			s := ns[i%3]
			create := func(ctx context.Context) error {
				return s.CreateUser(ctx, &domain.User{Account: acct, Name: name, CreatedTime: t0.Add(time.Duration(i) * time.Second)})
			}
			if i%2 == 0 {
				return s.Tx(ctx, func(ctx context.Context) error {
					if err := create(ctx); err != nil {
						return err
					}
					time.Sleep(time.Millisecond)
					return nil
				})
			}
			return create(ctx)
		})
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, domain.ErrConflict):
				t.Fatalf("round %d: create %d: %v", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d concurrent creates of one user succeeded", round, won)
		}
	}
}

// A key created on one node while another deletes its user is deleted
// with the user or refused: no node finds a key of a deleted user.
func TestCreateAccessKeyRacesDeleteUserOnNodes(t *testing.T) {
	ns := nodes(t, 3)
	ctx := t.Context()
	if err := ns[0].CreateAccount(ctx, &domain.Account{ID: acct, CreatedTime: t0}); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		name := fmt.Sprintf("user-%d", round)
		if err := ns[0].CreateUser(ctx, &domain.User{Account: acct, Name: name, CreatedTime: t0}); err != nil {
			t.Fatal(err)
		}
		errs := parallel(12, func(i int) error {
			if i == 0 {
				return ns[0].DeleteUser(ctx, acct, name)
			}
			return ns[i%3].Tx(ctx, func(ctx context.Context) error {
				k := &domain.AccessKey{ID: fmt.Sprintf("AKIA%d-%02d", round, i), Account: acct, User: name, SealedSecret: []byte{1}, Active: true, CreatedTime: t0}
				if err := ns[i%3].CreateAccessKey(ctx, k); err != nil {
					return err
				}
				time.Sleep(time.Millisecond)
				return nil
			})
		})
		if errs[0] != nil {
			t.Fatalf("round %d: DeleteUser: %v", round, errs[0])
		}
		for i, err := range errs[1:] {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("round %d: CreateAccessKey %d: %v", round, i+1, err)
			}
		}
		for node, s := range ns {
			keys, err := s.ListAccessKeys(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if k.User == name {
					t.Fatalf("round %d: node %d finds key %s of the deleted user", round, node, k.ID)
				}
			}
		}
	}
}
