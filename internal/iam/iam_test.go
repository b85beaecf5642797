package iam_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/secrets"
	"github.com/incidentd/incidentd/internal/sqlite"
)

var ctx = context.Background()

// clock is a time shared by the directories of a test, that moves only
// when told to.
type clock struct{ elapsed atomic.Int64 }

var epoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func (c *clock) now() time.Time { return epoch.Add(time.Duration(c.elapsed.Load())) }

func (c *clock) advance(d time.Duration) { c.elapsed.Add(int64(d)) }

// nodes returns two directories on one store, as two nodes of one
// database are, with one secrets key.
func nodes(t *testing.T) (a, b *iam.Directory, store domain.Store, clk *clock) {
	t.Helper()
	store, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sk, _, err := secrets.Load("", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk = &clock{}
	a = iam.New(store, sk, nil, clk.now)
	b = iam.New(store, sk, nil, clk.now)
	if _, err := a.CreateAccount(ctx, "111122223333", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "111122223333", "alice"); err != nil {
		t.Fatal(err)
	}
	return a, b, store, clk
}

func TestDeactivatedKeyIsRefusedAtOnceHereAndWithinTheTTLElsewhere(t *testing.T) {
	a, b, _, clk := nodes(t)
	k, err := a.CreateKey(ctx, "111122223333", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*iam.Directory{a, b} {
		got, ok, err := d.LookupKey(ctx, k.ID)
		if err != nil || !ok || got.SecretAccessKey != k.SecretAccessKey || got.Principal != "arn:aws:iam::111122223333:user/alice" {
			t.Fatalf("LookupKey of a new key: %+v %v %v", got, ok, err)
		}
	}
	if err := a.SetKeyActive(ctx, "111122223333", k.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.LookupKey(ctx, k.ID); ok {
		t.Error("the node that deactivated the key still accepts it")
	}
	// The other node may use what it read for CacheTTL, and no longer.
	clk.advance(iam.CacheTTL - time.Millisecond)
	if _, ok, _ := b.LookupKey(ctx, k.ID); !ok {
		t.Log("the other node refused the key before its cache entry ended (allowed)")
	}
	clk.advance(2 * time.Millisecond)
	if _, ok, _ := b.LookupKey(ctx, k.ID); ok {
		t.Errorf("the other node accepts a key deactivated %v ago", iam.CacheTTL)
	}
}

func TestSecretsAreSealedAndBoundToTheirKey(t *testing.T) {
	a, _, store, _ := nodes(t)
	k, err := a.CreateKey(ctx, "111122223333", "alice")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.GetAccessKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.SealedSecret), k.SecretAccessKey) {
		t.Fatal("the store holds the secret as it is")
	}
	// A directory with another secrets key opens nothing, and says so at start.
	other, _, err := secrets.Load("", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wrong := iam.New(store, other, nil, nil)
	if _, _, err := wrong.LookupKey(ctx, k.ID); err == nil || !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("LookupKey with another secrets key: %v", err)
	}
	if err := wrong.CheckSecretsKey(ctx); err == nil || !strings.Contains(err.Error(), "give every node of one database the same secrets key") {
		t.Errorf("CheckSecretsKey with another secrets key: %v", err)
	}
	if err := a.CheckSecretsKey(ctx); err != nil {
		t.Errorf("CheckSecretsKey with the right key: %v", err)
	}
}

func TestPoliciesOfAUserAndItsGroups(t *testing.T) {
	a, b, _, clk := nodes(t)
	allow := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:Get*", "Resource": "*"}}`
	if err := a.PutPolicy(ctx, "111122223333", domain.HolderUser, "alice", "read", allow); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateGroup(ctx, "111122223333", "oncall"); err != nil {
		t.Fatal(err)
	}
	if err := a.PutPolicy(ctx, "111122223333", domain.HolderGroup, "oncall", "write", strings.Replace(allow, "Get*", "Update*", 1)); err != nil {
		t.Fatal(err)
	}
	names := func(d *iam.Directory) string {
		ps, err := d.Policies(ctx, "111122223333", "arn:aws:iam::111122223333:user/alice")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return strings.Join(out, " ")
	}
	if got := names(b); got != "user/alice/read" {
		t.Errorf("before joining the group: %q", got)
	}
	if err := a.AddToGroup(ctx, "111122223333", "oncall", "alice"); err != nil {
		t.Fatal(err)
	}
	if got := names(a); got != "user/alice/read group/oncall/write" {
		t.Errorf("on the node that changed it: %q", got)
	}
	clk.advance(iam.CacheTTL)
	if got := names(b); got != "user/alice/read group/oncall/write" {
		t.Errorf("on the other node after CacheTTL: %q", got)
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}`, "Invalid policy document"},
		{`not json`, "Invalid policy document"},
		{`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Sometimes": {"aws:SourceIp": "x"}}}}`, "unknown condition operators"},
	} {
		err := a.PutPolicy(ctx, "111122223333", domain.HolderUser, "alice", "bad", tc.doc)
		var invalid *domain.ValidationError
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PutPolicy %s: %v", tc.doc, err)
		}
	}
	if err := a.PutPolicy(ctx, "111122223333", domain.HolderUser, "nobody", "read", allow); !errors.As(err, new(*domain.NotFoundError)) {
		t.Errorf("a policy of a missing user: %v", err)
	}
}

func TestCreateKeyOfMissingUserOrAccount(t *testing.T) {
	a, _, _, _ := nodes(t)
	if _, err := a.CreateKey(ctx, "111122223333", "bob"); err == nil || !strings.Contains(err.Error(), "User bob does not exist") {
		t.Errorf("a key of a missing user: %v", err)
	}
	if _, err := a.CreateKey(ctx, "999988887777", ""); err == nil || !strings.Contains(err.Error(), "Account 999988887777 does not exist") {
		t.Errorf("a key of a missing account: %v", err)
	}
	if _, err := a.CreateUser(ctx, "111122223333", "bad name"); !errors.As(err, new(*domain.ValidationError)) {
		t.Errorf("a user name with a space: %v", err)
	}
}
