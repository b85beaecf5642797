package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Fixtures of the identities (domain.IdentityStore). Every value is a fresh
// one, so a case may change it.

func newAccount(id, org string) *domain.Account {
	return &domain.Account{ID: id, OrgID: org, CreatedTime: at(0)}
}

func newUser(account, name string, n int) *domain.User {
	return &domain.User{Account: account, Name: name, CreatedTime: at(n)}
}

func newGroup(account, name string, n int) *domain.Group {
	return &domain.Group{Account: account, Name: name, CreatedTime: at(n)}
}

// newKey returns an active key whose sealed secret holds a NUL and a byte
// that is no UTF-8: it is kept as bytes.
func newKey(account, user, id string, n int) *domain.AccessKey {
	return &domain.AccessKey{ID: id, Account: account, User: user, SealedSecret: []byte{0, 0xff, 'k', byte(n)}, Active: true, CreatedTime: at(n)}
}

// newIdentityPolicy returns a policy whose document, sent with odd spacing,
// names it: the document is kept byte for byte.
func newIdentityPolicy(account string, holder domain.PolicyHolder, holderName, name string, n int) *domain.IdentityPolicy {
	return &domain.IdentityPolicy{
		Account: account, Holder: holder, HolderName: holderName, Name: name,
		Document:    fmt.Sprintf(`{ "Version":"2012-10-17",  "Statement":[{"Sid":"%s%d","Effect":"Allow","Action":"ssm-incidents:*","Resource":"*"}]}`, name, n),
		UpdatedTime: at(n),
	}
}

// The create helpers fail the test on error and return what they stored.

func createAccount(t testing.TB, s domain.Store, id string) *domain.Account {
	t.Helper()
	a := newAccount(id, "o-"+id)
	must(t, s.CreateAccount(t.Context(), a), "CreateAccount %s", id)
	return a
}

func createUser(t testing.TB, s domain.Store, account, name string) *domain.User {
	t.Helper()
	u := newUser(account, name, len(name))
	must(t, s.CreateUser(t.Context(), u), "CreateUser %s/%s", account, name)
	return u
}

func createGroup(t testing.TB, s domain.Store, account, name string) *domain.Group {
	t.Helper()
	g := newGroup(account, name, len(name))
	must(t, s.CreateGroup(t.Context(), g), "CreateGroup %s/%s", account, name)
	return g
}

func createKey(t testing.TB, s domain.Store, account, user, id string) *domain.AccessKey {
	t.Helper()
	k := newKey(account, user, id, len(id))
	must(t, s.CreateAccessKey(t.Context(), k), "CreateAccessKey %s", id)
	return k
}

func putPolicy(t testing.TB, s domain.Store, account string, holder domain.PolicyHolder, holderName, name string) *domain.IdentityPolicy {
	t.Helper()
	p := newIdentityPolicy(account, holder, holderName, name, len(name))
	must(t, s.PutIdentityPolicy(t.Context(), p), "PutIdentityPolicy %s %s/%s", holder, holderName, name)
	return p
}

func addMember(t testing.TB, s domain.Store, account, group, user string) {
	t.Helper()
	must(t, s.AddGroupMember(t.Context(), account, group, user), "AddGroupMember %s %s", group, user)
}

// The check helpers read one thing and compare it with what is wanted.

func checkUsers(t testing.TB, s domain.Store, account string, want []*domain.User, what string) {
	t.Helper()
	got, err := s.ListUsers(t.Context(), account)
	must(t, err, "%s: ListUsers", what)
	check(t, got, want, "%s: the users of %s", what, account)
}

func checkGroups(t testing.TB, s domain.Store, account string, want []*domain.Group, what string) {
	t.Helper()
	got, err := s.ListGroups(t.Context(), account)
	must(t, err, "%s: ListGroups", what)
	check(t, got, want, "%s: the groups of %s", what, account)
}

func checkGroupsOf(t testing.TB, s domain.Store, account, user string, want []string, what string) {
	t.Helper()
	got, err := s.GroupsOf(t.Context(), account, user)
	must(t, err, "%s: GroupsOf %s", what, user)
	check(t, got, want, "%s: the groups of user %s", what, user)
}

func checkKeys(t testing.TB, s domain.Store, account string, want []*domain.AccessKey, what string) {
	t.Helper()
	got, err := s.ListAccessKeys(t.Context(), account)
	must(t, err, "%s: ListAccessKeys", what)
	check(t, got, want, "%s: the keys of %s", what, account)
}

func checkKey(t testing.TB, s domain.Store, want *domain.AccessKey, what string) {
	t.Helper()
	got, err := s.GetAccessKey(t.Context(), want.ID)
	must(t, err, "%s: GetAccessKey %s", what, want.ID)
	check(t, got, want, "%s: key %s", what, want.ID)
}

func checkKeyGone(t testing.TB, s domain.Store, id, what string) {
	t.Helper()
	_, err := s.GetAccessKey(t.Context(), id)
	wantErr(t, err, domain.ErrNotFound, "%s: GetAccessKey %s", what, id)
}

func checkPolicies(t testing.TB, s domain.Store, account string, holder domain.PolicyHolder, holderName string, want []*domain.IdentityPolicy, what string) {
	t.Helper()
	got, err := s.ListIdentityPolicies(t.Context(), account, holder, holderName)
	must(t, err, "%s: ListIdentityPolicies %s %q", what, holder, holderName)
	check(t, got, want, "%s: the policies of %s %q", what, holder, holderName)
}

func checkUserPolicies(t testing.TB, s domain.Store, account, user string, want []*domain.IdentityPolicy, what string) {
	t.Helper()
	got, err := s.UserPolicies(t.Context(), account, user)
	must(t, err, "%s: UserPolicies %s", what, user)
	check(t, got, want, "%s: the policies that apply to %s", what, user)
}

// identityCases are the contract of domain.IdentityStore.
func identityCases() []testCase {
	return []testCase{
		{"Accounts", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			_, err := s.GetAccount(ctx, acctA)
			wantErr(t, err, domain.ErrNotFound, "GetAccount of a missing account")
			all, err := s.ListAccounts(ctx)
			must(t, err, "ListAccounts of none")
			check(t, len(all), 0, "accounts of an empty store")
			// Created out of the order of their ids; one without an
			// organisation.
			b := createAccount(t, s, acctB)
			a := newAccount(acctA, "")
			must(t, s.CreateAccount(ctx, a), "CreateAccount without an organisation")
			first := createAccount(t, s, "000000000001")
			got, err := s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount")
			check(t, got, a, "the account")
			again := newAccount(acctB, "o-other")
			again.CreatedTime = at(9)
			wantErr(t, s.CreateAccount(ctx, again), domain.ErrConflict, "CreateAccount of a taken id")
			got, err = s.GetAccount(ctx, acctB)
			must(t, err, "GetAccount after a refused create")
			check(t, got, b, "the account after a refused create")
			all, err = s.ListAccounts(ctx)
			must(t, err, "ListAccounts")
			check(t, all, []*domain.Account{first, a, b}, "ListAccounts, by id")
		}},
		{"UpdateAccount", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			a := createAccount(t, s, acctA)
			b := createAccount(t, s, acctB)
			called := false
			err := s.UpdateAccount(ctx, "999999999999", func(*domain.Account) error { called = true; return nil })
			wantErr(t, err, domain.ErrNotFound, "UpdateAccount of a missing account")
			if called {
				t.Fatal("UpdateAccount of a missing account called fn")
			}
			// fn is given the account; a change of its id is not kept.
			var g given
			must(t, s.UpdateAccount(ctx, acctA, func(got *domain.Account) error {
				g.see(got, a)
				got.OrgID = "o-new"
				got.ID = "999999999999"
				return nil
			}), "UpdateAccount")
			g.check(t, a, "UpdateAccount's fn")
			a.OrgID = "o-new"
			got, err := s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount after UpdateAccount")
			check(t, got, a, "the updated account, its id kept")
			_, err = s.GetAccount(ctx, "999999999999")
			wantErr(t, err, domain.ErrNotFound, "GetAccount of the id fn set")
			all, err := s.ListAccounts(ctx)
			must(t, err, "ListAccounts")
			check(t, all, []*domain.Account{a, b}, "the accounts after UpdateAccount")
			// A failing fn writes nothing, and its error is returned.
			err = s.UpdateAccount(ctx, acctA, func(got *domain.Account) error {
				got.OrgID = "o-refused"
				return fmt.Errorf("wrapped: %w", errBoom)
			})
			wantErr(t, err, errBoom, "UpdateAccount whose fn fails")
			got, err = s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount after a failed UpdateAccount")
			check(t, got, a, "the account after a failed UpdateAccount")
			// The same inside a transaction that goes on and commits.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				err := s.UpdateAccount(ctx, acctA, func(got *domain.Account) error { got.OrgID = "o-refused"; return errBoom })
				if !errors.Is(err, errBoom) {
					return fmt.Errorf("UpdateAccount in a Tx with a failing fn: %v", err)
				}
				return s.UpdateAccount(ctx, acctB, func(got *domain.Account) error { got.OrgID = "o-in-tx"; return nil })
			}), "Tx")
			b.OrgID = "o-in-tx"
			all, err = s.ListAccounts(ctx)
			must(t, err, "ListAccounts after the Tx")
			check(t, all, []*domain.Account{a, b}, "the accounts after a Tx with a failed UpdateAccount")
		}},
		{"Users", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			wantErr(t, s.CreateUser(ctx, newUser(acctA, "bob", 1)), domain.ErrNotFound, "CreateUser in a missing account")
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			checkUsers(t, s, acctA, nil, "after a refused CreateUser")
			// Names compare exactly and sort by their bytes.
			var want []*domain.User
			for _, name := range []string{"carol", "bob", "alice", "Alice", "Bob2"} {
				want = append(want, createUser(t, s, acctA, name))
			}
			other := createUser(t, s, acctB, "bob")
			dup := newUser(acctA, "bob", 99)
			wantErr(t, s.CreateUser(ctx, dup), domain.ErrConflict, "CreateUser of a taken name")
			got, err := s.GetUser(ctx, acctA, "bob")
			must(t, err, "GetUser")
			check(t, got, want[1], "the user after a refused create")
			got, err = s.GetUser(ctx, acctB, "bob")
			must(t, err, "GetUser of another account")
			check(t, got, other, "the user of the same name of another account")
			_, err = s.GetUser(ctx, acctA, "BOB")
			wantErr(t, err, domain.ErrNotFound, "GetUser of a name in another case")
			_, err = s.GetUser(ctx, acctB, "carol")
			wantErr(t, err, domain.ErrNotFound, "GetUser of another account's user")
			checkUsers(t, s, acctA, []*domain.User{want[3], want[4], want[2], want[1], want[0]}, "ListUsers, by name")
			checkUsers(t, s, acctB, []*domain.User{other}, "ListUsers of another account")
			checkUsers(t, s, "999999999999", nil, "ListUsers of a missing account")
		}},
		{"DeleteUserCascades", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			bob := createUser(t, s, acctA, "bob")
			createUser(t, s, acctA, "alice")
			g1, g2 := createGroup(t, s, acctA, "g1"), createGroup(t, s, acctA, "g2")
			for _, m := range [][2]string{{"g1", "alice"}, {"g2", "alice"}, {"g1", "bob"}} {
				addMember(t, s, acctA, m[0], m[1])
			}
			root := createKey(t, s, acctA, "", "AKIAROOT")
			createKey(t, s, acctA, "alice", "AKIAALICE1")
			createKey(t, s, acctA, "alice", "AKIAALICE2")
			bobKey := createKey(t, s, acctA, "bob", "AKIABOB")
			putPolicy(t, s, acctA, domain.HolderUser, "alice", "p1")
			putPolicy(t, s, acctA, domain.HolderUser, "alice", "p2")
			bobPolicy := putPolicy(t, s, acctA, domain.HolderUser, "bob", "p1")
			groupPolicy := putPolicy(t, s, acctA, domain.HolderGroup, "g1", "p1")
			// A group named as the user: its policies are no user's.
			aliceGroup := createGroup(t, s, acctA, "alice")
			aliceGroupPolicy := putPolicy(t, s, acctA, domain.HolderGroup, "alice", "p1")
			addMember(t, s, acctA, "alice", "bob")
			// The same names in another account.
			otherAlice := createUser(t, s, acctB, "alice")
			createGroup(t, s, acctB, "g1")
			addMember(t, s, acctB, "g1", "alice")
			otherKey := createKey(t, s, acctB, "alice", "AKIAOTHER")
			otherPolicy := putPolicy(t, s, acctB, domain.HolderUser, "alice", "p1")

			must(t, s.DeleteUser(ctx, acctA, "alice"), "DeleteUser")
			_, err := s.GetUser(ctx, acctA, "alice")
			wantErr(t, err, domain.ErrNotFound, "GetUser of a deleted user")
			checkUsers(t, s, acctA, []*domain.User{bob}, "after DeleteUser")
			checkKeyGone(t, s, "AKIAALICE1", "after DeleteUser")
			checkKeyGone(t, s, "AKIAALICE2", "after DeleteUser")
			checkKeys(t, s, acctA, []*domain.AccessKey{root, bobKey}, "after DeleteUser")
			checkPolicies(t, s, acctA, domain.HolderUser, "alice", nil, "after DeleteUser")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{aliceGroupPolicy, groupPolicy, bobPolicy}, "after DeleteUser")
			checkGroupsOf(t, s, acctA, "alice", nil, "after DeleteUser")
			checkGroupsOf(t, s, acctA, "bob", []string{"alice", "g1"}, "after DeleteUser")
			checkGroups(t, s, acctA, []*domain.Group{aliceGroup, g1, g2}, "after DeleteUser: the groups stay")
			checkUserPolicies(t, s, acctA, "bob", []*domain.IdentityPolicy{bobPolicy, aliceGroupPolicy, groupPolicy}, "after DeleteUser")
			// The other account's user of that name is untouched.
			got, err := s.GetUser(ctx, acctB, "alice")
			must(t, err, "GetUser of the other account's user")
			check(t, got, otherAlice, "the other account's user")
			checkKey(t, s, otherKey, "the other account's user's key")
			checkPolicies(t, s, acctB, domain.HolderUser, "alice", []*domain.IdentityPolicy{otherPolicy}, "the other account's user")
			checkGroupsOf(t, s, acctB, "alice", []string{"g1"}, "the other account's user")

			wantErr(t, s.DeleteUser(ctx, acctA, "alice"), domain.ErrNotFound, "DeleteUser of a deleted user")
			wantErr(t, s.DeleteUser(ctx, acctB, "bob"), domain.ErrNotFound, "DeleteUser of another account's user")
			wantErr(t, s.DeleteUser(ctx, "999999999999", "bob"), domain.ErrNotFound, "DeleteUser in a missing account")
			// A user created again under the name inherits nothing.
			createUser(t, s, acctA, "alice")
			checkPolicies(t, s, acctA, domain.HolderUser, "alice", nil, "a user created again")
			checkGroupsOf(t, s, acctA, "alice", nil, "a user created again")
			checkKeys(t, s, acctA, []*domain.AccessKey{root, bobKey}, "a user created again")
			checkUserPolicies(t, s, acctA, "alice", nil, "a user created again")
		}},
		{"Groups", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			wantErr(t, s.CreateGroup(ctx, newGroup(acctA, "ops", 1)), domain.ErrNotFound, "CreateGroup in a missing account")
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			checkGroups(t, s, acctA, nil, "after a refused CreateGroup")
			var want []*domain.Group
			for _, name := range []string{"ops", "Admins", "dev", "admins"} {
				want = append(want, createGroup(t, s, acctA, name))
			}
			other := createGroup(t, s, acctB, "ops")
			dup := newGroup(acctA, "ops", 99)
			wantErr(t, s.CreateGroup(ctx, dup), domain.ErrConflict, "CreateGroup of a taken name")
			// A user of a group's name is another thing.
			createUser(t, s, acctA, "ops")
			checkGroups(t, s, acctA, []*domain.Group{want[1], want[3], want[2], want[0]}, "ListGroups, by name")
			checkGroups(t, s, acctB, []*domain.Group{other}, "ListGroups of another account")
			checkGroups(t, s, "999999999999", nil, "ListGroups of a missing account")
			wantErr(t, s.DeleteGroup(ctx, acctA, "missing"), domain.ErrNotFound, "DeleteGroup of a missing group")
			wantErr(t, s.DeleteGroup(ctx, acctB, "dev"), domain.ErrNotFound, "DeleteGroup of another account's group")
			must(t, s.DeleteGroup(ctx, acctA, "ops"), "DeleteGroup")
			checkGroups(t, s, acctA, []*domain.Group{want[1], want[3], want[2]}, "after DeleteGroup")
			checkGroups(t, s, acctB, []*domain.Group{other}, "another account's group after DeleteGroup")
			if _, err := s.GetUser(ctx, acctA, "ops"); err != nil {
				t.Fatalf("DeleteGroup deleted the user of its name: %v", err)
			}
			wantErr(t, s.DeleteGroup(ctx, acctA, "ops"), domain.ErrNotFound, "DeleteGroup of a deleted group")
		}},
		{"DeleteGroupCascades", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			alice, bob := createUser(t, s, acctA, "alice"), createUser(t, s, acctA, "bob")
			// A user named as the group: neither its memberships nor its
			// policies are the group's.
			namesake := createUser(t, s, acctA, "g1")
			createGroup(t, s, acctA, "g1")
			g2 := createGroup(t, s, acctA, "g2")
			for _, m := range [][2]string{{"g1", "alice"}, {"g1", "bob"}, {"g2", "alice"}, {"g2", "g1"}} {
				addMember(t, s, acctA, m[0], m[1])
			}
			putPolicy(t, s, acctA, domain.HolderGroup, "g1", "x")
			putPolicy(t, s, acctA, domain.HolderGroup, "g1", "y")
			g2Policy := putPolicy(t, s, acctA, domain.HolderGroup, "g2", "x")
			namesakePolicy := putPolicy(t, s, acctA, domain.HolderUser, "g1", "x")

			must(t, s.DeleteGroup(ctx, acctA, "g1"), "DeleteGroup")
			checkGroups(t, s, acctA, []*domain.Group{g2}, "after DeleteGroup")
			checkUsers(t, s, acctA, []*domain.User{alice, bob, namesake}, "after DeleteGroup: the members stay")
			checkGroupsOf(t, s, acctA, "alice", []string{"g2"}, "after DeleteGroup")
			checkGroupsOf(t, s, acctA, "bob", nil, "after DeleteGroup")
			checkGroupsOf(t, s, acctA, "g1", []string{"g2"}, "after DeleteGroup: the namesake user's membership")
			checkPolicies(t, s, acctA, domain.HolderGroup, "g1", nil, "after DeleteGroup")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{g2Policy, namesakePolicy}, "after DeleteGroup")
			checkUserPolicies(t, s, acctA, "alice", []*domain.IdentityPolicy{g2Policy}, "after DeleteGroup")
			wantErr(t, s.RemoveGroupMember(ctx, acctA, "g1", "alice"), domain.ErrNotFound, "RemoveGroupMember of a deleted group")
			wantErr(t, s.DeleteGroup(ctx, acctA, "g1"), domain.ErrNotFound, "DeleteGroup of a deleted group")
			// A group created again under the name inherits nothing.
			createGroup(t, s, acctA, "g1")
			checkGroupsOf(t, s, acctA, "bob", nil, "a group created again")
			checkPolicies(t, s, acctA, domain.HolderGroup, "g1", nil, "a group created again")
		}},
		{"Membership", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctB, "bob")
			for _, g := range []string{"zeta", "Alpha", "beta"} {
				createGroup(t, s, acctA, g)
			}
			createGroup(t, s, acctB, "beta")
			wantErr(t, s.AddGroupMember(ctx, acctA, "missing", "alice"), domain.ErrNotFound, "AddGroupMember to a missing group")
			wantErr(t, s.AddGroupMember(ctx, acctA, "beta", "missing"), domain.ErrNotFound, "AddGroupMember of a missing user")
			wantErr(t, s.AddGroupMember(ctx, acctA, "beta", "bob"), domain.ErrNotFound, "AddGroupMember of another account's user")
			wantErr(t, s.AddGroupMember(ctx, acctB, "zeta", "bob"), domain.ErrNotFound, "AddGroupMember to another account's group")
			checkGroupsOf(t, s, acctA, "alice", nil, "after refused adds")
			checkGroupsOf(t, s, acctA, "bob", nil, "after refused adds")
			for _, g := range []string{"zeta", "beta", "Alpha", "beta"} {
				addMember(t, s, acctA, g, "alice")
			}
			addMember(t, s, acctB, "beta", "bob")
			checkGroupsOf(t, s, acctA, "alice", []string{"Alpha", "beta", "zeta"}, "GroupsOf, by name, a member added twice once")
			checkGroupsOf(t, s, acctB, "bob", []string{"beta"}, "GroupsOf in another account")
			checkGroupsOf(t, s, acctB, "alice", nil, "GroupsOf a user of another account")
			checkGroupsOf(t, s, acctA, "missing", nil, "GroupsOf a missing user")
			wantErr(t, s.RemoveGroupMember(ctx, acctB, "beta", "alice"), domain.ErrNotFound, "RemoveGroupMember in another account")
			wantErr(t, s.RemoveGroupMember(ctx, acctA, "missing", "alice"), domain.ErrNotFound, "RemoveGroupMember of a missing group")
			must(t, s.RemoveGroupMember(ctx, acctA, "beta", "alice"), "RemoveGroupMember")
			checkGroupsOf(t, s, acctA, "alice", []string{"Alpha", "zeta"}, "after RemoveGroupMember")
			checkGroupsOf(t, s, acctB, "bob", []string{"beta"}, "another account's membership after RemoveGroupMember")
			wantErr(t, s.RemoveGroupMember(ctx, acctA, "beta", "alice"), domain.ErrNotFound, "RemoveGroupMember of a removed member")
			addMember(t, s, acctA, "beta", "alice")
			checkGroupsOf(t, s, acctA, "alice", []string{"Alpha", "beta", "zeta"}, "a member added again")
		}},
		{"AccessKeys", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			wantErr(t, s.CreateAccessKey(ctx, newKey(acctA, "", "AKIAROOT1", 1)), domain.ErrNotFound, "CreateAccessKey in a missing account")
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "Zed")
			createUser(t, s, acctB, "bob")
			wantErr(t, s.CreateAccessKey(ctx, newKey(acctA, "missing", "AKIAX", 1)), domain.ErrNotFound, "CreateAccessKey of a missing user")
			wantErr(t, s.CreateAccessKey(ctx, newKey(acctA, "bob", "AKIAX", 1)), domain.ErrNotFound, "CreateAccessKey of another account's user")
			checkKeyGone(t, s, "AKIAX", "after refused creates")
			checkKeys(t, s, acctA, nil, "after refused creates")
			// Created out of order: listed by user, the root first, then id.
			a2 := createKey(t, s, acctA, "alice", "AKIAA2")
			r2 := createKey(t, s, acctA, "", "AKIAROOT2")
			z := createKey(t, s, acctA, "Zed", "AKIAZZ")
			a1 := createKey(t, s, acctA, "alice", "AKIAA1")
			r1 := newKey(acctA, "", "AKIAROOT1", 1)
			r1.Active = false
			must(t, s.CreateAccessKey(ctx, r1), "CreateAccessKey of an inactive key")
			b := createKey(t, s, acctB, "bob", "AKIAB")
			broot := createKey(t, s, acctB, "", "AKIABROOT")
			// Ids are unique across accounts.
			dup := newKey(acctB, "", "AKIAA1", 9)
			wantErr(t, s.CreateAccessKey(ctx, dup), domain.ErrConflict, "CreateAccessKey of an id another account's key has")
			dup = newKey(acctA, "alice", "AKIAROOT2", 9)
			wantErr(t, s.CreateAccessKey(ctx, dup), domain.ErrConflict, "CreateAccessKey of a taken id")
			checkKey(t, s, a1, "after a refused create")
			checkKey(t, s, r2, "after a refused create")
			checkKey(t, s, r1, "an inactive key")
			// A key is found by its id alone, whatever its account.
			checkKey(t, s, b, "a key of another account")
			checkKey(t, s, broot, "a root key of another account")
			checkKeyGone(t, s, "AKIAMISSING", "a missing key")
			checkKeys(t, s, acctA, []*domain.AccessKey{r1, r2, z, a1, a2}, "ListAccessKeys, by user then id")
			checkKeys(t, s, acctB, []*domain.AccessKey{broot, b}, "ListAccessKeys of another account")
			checkKeys(t, s, "999999999999", nil, "ListAccessKeys of a missing account")
		}},
		{"AccessKeyActiveAndDelete", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			k := createKey(t, s, acctA, "alice", "AKIAA1")
			root := createKey(t, s, acctA, "", "AKIAROOT")
			must(t, s.SetAccessKeyActive(ctx, acctA, k.ID, false), "SetAccessKeyActive false")
			k.Active = false
			checkKey(t, s, k, "a deactivated key")
			// Setting what is set is no error.
			must(t, s.SetAccessKeyActive(ctx, acctA, k.ID, false), "SetAccessKeyActive false again")
			checkKey(t, s, k, "a key deactivated twice")
			checkKey(t, s, root, "another key of the account")
			wantErr(t, s.SetAccessKeyActive(ctx, acctB, k.ID, true), domain.ErrNotFound, "SetAccessKeyActive in another account")
			wantErr(t, s.SetAccessKeyActive(ctx, acctA, "AKIAMISSING", true), domain.ErrNotFound, "SetAccessKeyActive of a missing key")
			checkKey(t, s, k, "after SetAccessKeyActive of another account")
			must(t, s.SetAccessKeyActive(ctx, acctA, k.ID, true), "SetAccessKeyActive true")
			k.Active = true
			checkKey(t, s, k, "a key activated again")
			must(t, s.SetAccessKeyActive(ctx, acctA, root.ID, false), "SetAccessKeyActive of the root's key")
			root.Active = false
			checkKeys(t, s, acctA, []*domain.AccessKey{root, k}, "after SetAccessKeyActive")

			wantErr(t, s.DeleteAccessKey(ctx, acctB, k.ID), domain.ErrNotFound, "DeleteAccessKey in another account")
			wantErr(t, s.DeleteAccessKey(ctx, acctA, "AKIAMISSING"), domain.ErrNotFound, "DeleteAccessKey of a missing key")
			checkKey(t, s, k, "after refused deletes")
			must(t, s.DeleteAccessKey(ctx, acctA, k.ID), "DeleteAccessKey")
			checkKeyGone(t, s, k.ID, "after DeleteAccessKey")
			checkKeys(t, s, acctA, []*domain.AccessKey{root}, "after DeleteAccessKey")
			wantErr(t, s.DeleteAccessKey(ctx, acctA, k.ID), domain.ErrNotFound, "DeleteAccessKey of a deleted key")
			wantErr(t, s.SetAccessKeyActive(ctx, acctA, k.ID, true), domain.ErrNotFound, "SetAccessKeyActive of a deleted key")
			if _, err := s.GetUser(ctx, acctA, "alice"); err != nil {
				t.Fatalf("DeleteAccessKey deleted the key's user: %v", err)
			}
			// The id may be used again, by another account.
			again := createKey(t, s, acctB, "", k.ID)
			checkKey(t, s, again, "a key of a deleted key's id")
		}},
		{"IdentityPolicies", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			wantErr(t, s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderUser, "alice", "p", 1)), domain.ErrNotFound,
				"PutIdentityPolicy in a missing account")
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "bob")
			createGroup(t, s, acctA, "ops")
			createGroup(t, s, acctA, "dev")
			createUser(t, s, acctB, "alice")
			for _, p := range []*domain.IdentityPolicy{
				newIdentityPolicy(acctA, domain.HolderUser, "missing", "p", 1),
				newIdentityPolicy(acctA, domain.HolderGroup, "missing", "p", 1),
				newIdentityPolicy(acctA, domain.HolderGroup, "alice", "p", 1), // a user, not a group
				newIdentityPolicy(acctA, domain.HolderUser, "ops", "p", 1),    // a group, not a user
				newIdentityPolicy(acctB, domain.HolderGroup, "ops", "p", 1),   // another account's
				newIdentityPolicy(acctA, "role", "alice", "p", 1),             // no kind of holder
			} {
				wantErr(t, s.PutIdentityPolicy(ctx, p), domain.ErrNotFound, "PutIdentityPolicy of %s %q in %s", p.Holder, p.HolderName, p.Account)
			}
			checkPolicies(t, s, acctA, "", "", nil, "after refused puts")
			aliceB := putPolicy(t, s, acctA, domain.HolderUser, "alice", "b")
			putPolicy(t, s, acctA, domain.HolderUser, "alice", "a")
			bobA := putPolicy(t, s, acctA, domain.HolderUser, "bob", "a")
			opsA := putPolicy(t, s, acctA, domain.HolderGroup, "ops", "a")
			devZ := putPolicy(t, s, acctA, domain.HolderGroup, "dev", "z")
			other := putPolicy(t, s, acctB, domain.HolderUser, "alice", "a")
			// A put of the name replaces the holder's policy, and only it.
			replaced := newIdentityPolicy(acctA, domain.HolderUser, "alice", "a", 9)
			replaced.Document = `{"Version": "2012-10-17", "Statement": []}`
			must(t, s.PutIdentityPolicy(ctx, replaced), "PutIdentityPolicy of a taken name")
			checkPolicies(t, s, acctA, domain.HolderUser, "alice", []*domain.IdentityPolicy{replaced, aliceB}, "a user's, by name")
			checkPolicies(t, s, acctA, domain.HolderUser, "bob", []*domain.IdentityPolicy{bobA}, "another user's, after the replacement")
			checkPolicies(t, s, acctA, domain.HolderGroup, "ops", []*domain.IdentityPolicy{opsA}, "a group's")
			checkPolicies(t, s, acctA, domain.HolderUser, "ops", nil, "a user's of a group's name")
			checkPolicies(t, s, acctA, domain.HolderUser, "missing", nil, "a missing holder's")
			checkPolicies(t, s, acctB, domain.HolderUser, "alice", []*domain.IdentityPolicy{other}, "another account's user's")
			// Every holder's: by holder kind, holder name, then policy name.
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{devZ, opsA, replaced, aliceB, bobA}, "every holder's")

			wantErr(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "alice", "missing"), domain.ErrNotFound, "DeleteIdentityPolicy of a missing name")
			wantErr(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderGroup, "alice", "a"), domain.ErrNotFound, "DeleteIdentityPolicy of the wrong kind of holder")
			wantErr(t, s.DeleteIdentityPolicy(ctx, acctB, domain.HolderUser, "bob", "a"), domain.ErrNotFound, "DeleteIdentityPolicy in another account")
			must(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "alice", "a"), "DeleteIdentityPolicy")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{devZ, opsA, aliceB, bobA}, "after DeleteIdentityPolicy")
			checkPolicies(t, s, acctB, domain.HolderUser, "alice", []*domain.IdentityPolicy{other}, "another account's, after DeleteIdentityPolicy")
			wantErr(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "alice", "a"), domain.ErrNotFound, "DeleteIdentityPolicy of a deleted policy")
		}},
		{"UserPolicies", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			// Its name sorts after its groups': its own policies come first
			// all the same.
			createUser(t, s, acctA, "zoe")
			createUser(t, s, acctA, "bob")
			// A user named as one of zoe's groups: its policies are not
			// the group's.
			createUser(t, s, acctA, "g2")
			for _, g := range []string{"g1", "g2", "g3"} {
				createGroup(t, s, acctA, g)
			}
			addMember(t, s, acctA, "g2", "zoe")
			addMember(t, s, acctA, "g1", "zoe")
			addMember(t, s, acctA, "g3", "bob")
			own := []*domain.IdentityPolicy{
				putPolicy(t, s, acctA, domain.HolderUser, "zoe", "z"),
				putPolicy(t, s, acctA, domain.HolderUser, "zoe", "a"),
			}
			g2x := putPolicy(t, s, acctA, domain.HolderGroup, "g2", "x")
			g1y := putPolicy(t, s, acctA, domain.HolderGroup, "g1", "y")
			g1a := putPolicy(t, s, acctA, domain.HolderGroup, "g1", "a")
			putPolicy(t, s, acctA, domain.HolderGroup, "g3", "a")
			putPolicy(t, s, acctA, domain.HolderUser, "bob", "a")
			putPolicy(t, s, acctA, domain.HolderUser, "g2", "w")
			checkUserPolicies(t, s, acctA, "zoe", []*domain.IdentityPolicy{own[1], own[0], g1a, g1y, g2x}, "its own by name, then its groups' by group and name")
			must(t, s.RemoveGroupMember(ctx, acctA, "g1", "zoe"), "RemoveGroupMember")
			checkUserPolicies(t, s, acctA, "zoe", []*domain.IdentityPolicy{own[1], own[0], g2x}, "after RemoveGroupMember")
			must(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "zoe", "a"), "DeleteIdentityPolicy")
			must(t, s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "zoe", "z"), "DeleteIdentityPolicy")
			checkUserPolicies(t, s, acctA, "zoe", []*domain.IdentityPolicy{g2x}, "a user with its groups' policies only")
			checkUserPolicies(t, s, acctA, "missing", nil, "a missing user")
			checkUserPolicies(t, s, acctB, "zoe", nil, "a user of another account")
		}},
		{"KeptByDeleteAccountData", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			must(t, s.CreateReplicationSet(ctx, newReplicationSet(acctA), nil), "CreateReplicationSet")
			a := createAccount(t, s, acctA)
			u := createUser(t, s, acctA, "alice")
			g := createGroup(t, s, acctA, "ops")
			addMember(t, s, acctA, "ops", "alice")
			k := createKey(t, s, acctA, "alice", "AKIAA1")
			root := createKey(t, s, acctA, "", "AKIAROOT")
			p := putPolicy(t, s, acctA, domain.HolderUser, "alice", "p")
			gp := putPolicy(t, s, acctA, domain.HolderGroup, "ops", "p")
			must(t, s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil }), "DeleteAccountData")
			_, err := s.GetReplicationSet(ctx, acctA)
			wantErr(t, err, domain.ErrNotFound, "the replication set after DeleteAccountData")
			got, err := s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount after DeleteAccountData")
			check(t, got, a, "the account after DeleteAccountData")
			checkUsers(t, s, acctA, []*domain.User{u}, "after DeleteAccountData")
			checkGroups(t, s, acctA, []*domain.Group{g}, "after DeleteAccountData")
			checkGroupsOf(t, s, acctA, "alice", []string{"ops"}, "after DeleteAccountData")
			checkKeys(t, s, acctA, []*domain.AccessKey{root, k}, "after DeleteAccountData")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{gp, p}, "after DeleteAccountData")
		}},
		{"FailedCallsInTx", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			a := createAccount(t, s, acctA)
			alice := createUser(t, s, acctA, "alice")
			ops := createGroup(t, s, acctA, "ops")
			addMember(t, s, acctA, "ops", "alice")
			k := createKey(t, s, acctA, "alice", "AKIAA1")
			p := putPolicy(t, s, acctA, domain.HolderUser, "alice", "p")
			fresh := newUser(acctA, "new", 5)
			// Each failed call answers, changes nothing, and the transaction
			// goes on and commits.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				for _, c := range []struct {
					what      string
					err, want error
				}{
					{"CreateAccount of a taken id", s.CreateAccount(ctx, newAccount(acctA, "o")), domain.ErrConflict},
					{"CreateUser of a taken name", s.CreateUser(ctx, newUser(acctA, "alice", 9)), domain.ErrConflict},
					{"CreateGroup of a taken name", s.CreateGroup(ctx, newGroup(acctA, "ops", 9)), domain.ErrConflict},
					{"CreateAccessKey of a taken id", s.CreateAccessKey(ctx, newKey(acctA, "", "AKIAA1", 9)), domain.ErrConflict},
					{"UpdateAccount whose fn fails", s.UpdateAccount(ctx, acctA, func(a *domain.Account) error { a.OrgID = "x"; return errBoom }), errBoom},
					{"CreateUser in a missing account", s.CreateUser(ctx, newUser(acctB, "alice", 9)), domain.ErrNotFound},
					{"CreateAccessKey of a missing user", s.CreateAccessKey(ctx, newKey(acctA, "missing", "AKIAX", 9)), domain.ErrNotFound},
					{"DeleteUser of a missing user", s.DeleteUser(ctx, acctA, "missing"), domain.ErrNotFound},
					{"DeleteGroup of a missing group", s.DeleteGroup(ctx, acctA, "missing"), domain.ErrNotFound},
					{"AddGroupMember of a missing user", s.AddGroupMember(ctx, acctA, "ops", "missing"), domain.ErrNotFound},
					{"RemoveGroupMember of a non-member", s.RemoveGroupMember(ctx, acctA, "missing", "alice"), domain.ErrNotFound},
					{"SetAccessKeyActive of a missing key", s.SetAccessKeyActive(ctx, acctA, "AKIAX", false), domain.ErrNotFound},
					{"DeleteAccessKey of a missing key", s.DeleteAccessKey(ctx, acctA, "AKIAX"), domain.ErrNotFound},
					{"PutIdentityPolicy of a missing user", s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderUser, "missing", "p", 9)), domain.ErrNotFound},
					{"DeleteIdentityPolicy of a missing one", s.DeleteIdentityPolicy(ctx, acctA, domain.HolderUser, "alice", "missing"), domain.ErrNotFound},
				} {
					if !errors.Is(c.err, c.want) {
						return fmt.Errorf("%s: got error %v, want %v: %w", c.what, c.err, c.want, errUnexpected)
					}
				}
				if err := s.CreateUser(ctx, fresh); err != nil {
					return err
				}
				// Reads inside the transaction see its writes.
				if _, err := s.GetUser(ctx, acctA, "new"); err != nil {
					return fmt.Errorf("GetUser of a user the transaction created: %v", err)
				}
				return nil
			}), "Tx with failed calls")
			got, err := s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount")
			check(t, got, a, "the account after a Tx with failed calls")
			checkUsers(t, s, acctA, []*domain.User{alice, fresh}, "after a Tx with failed calls")
			checkGroups(t, s, acctA, []*domain.Group{ops}, "after a Tx with failed calls")
			checkGroupsOf(t, s, acctA, "alice", []string{"ops"}, "after a Tx with failed calls")
			checkKeys(t, s, acctA, []*domain.AccessKey{k}, "after a Tx with failed calls")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{p}, "after a Tx with failed calls")
			_, err = s.GetAccount(ctx, acctB)
			wantErr(t, err, domain.ErrNotFound, "an account no call created")

			// A transaction that writes, reads its writes, then fails,
			// leaves nothing.
			err = s.Tx(ctx, func(ctx context.Context) error {
				if err := errors.Join(
					s.CreateAccount(ctx, newAccount(acctB, "")),
					s.UpdateAccount(ctx, acctA, func(a *domain.Account) error { a.OrgID = "o-changed"; return nil }),
					s.CreateUser(ctx, newUser(acctB, "bob", 1)),
					s.CreateGroup(ctx, newGroup(acctA, "dev", 1)),
					s.AddGroupMember(ctx, acctA, "dev", "alice"),
					s.SetAccessKeyActive(ctx, acctA, k.ID, false),
					s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderGroup, "ops", "gp", 1)),
					s.DeleteUser(ctx, acctA, "alice"),
				); err != nil {
					return err
				}
				if _, err := s.GetAccessKey(ctx, k.ID); !errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("GetAccessKey of a key whose user the transaction deleted: %v: %w", err, errUnexpected)
				}
				if gs, err := s.GroupsOf(ctx, acctA, "alice"); err != nil || len(gs) != 0 {
					return fmt.Errorf("GroupsOf a user the transaction deleted: %v %v: %w", gs, err, errUnexpected)
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx that fails")
			got, err = s.GetAccount(ctx, acctA)
			must(t, err, "GetAccount after a rolled-back Tx")
			check(t, got, a, "the account after a rolled-back Tx")
			_, err = s.GetAccount(ctx, acctB)
			wantErr(t, err, domain.ErrNotFound, "an account a rolled-back Tx created")
			checkUsers(t, s, acctA, []*domain.User{alice, fresh}, "after a rolled-back Tx")
			checkGroups(t, s, acctA, []*domain.Group{ops}, "after a rolled-back Tx")
			checkGroupsOf(t, s, acctA, "alice", []string{"ops"}, "after a rolled-back Tx")
			checkKey(t, s, k, "after a rolled-back Tx")
			checkPolicies(t, s, acctA, "", "", []*domain.IdentityPolicy{p}, "after a rolled-back Tx")
		}},
		{"CreateRacesOneWins", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			// Of creates of one user name, or of one key id (in either
			// account), one succeeds and the others answer ErrConflict;
			// half run in a Tx, which holds on a moment to what it wrote.
			for round := range rounds {
				name := fmt.Sprintf("user-%d", round)
				winner := raceOneWins(t, round, func(i int) error {
					return inTx(ctx, s, i, func(ctx context.Context) error {
						if err := s.CreateUser(ctx, newUser(acctA, name, i)); err != nil {
							return err
						}
						pause()
						return nil
					})
				})
				got, err := s.GetUser(ctx, acctA, name)
				must(t, err, "GetUser")
				check(t, got, newUser(acctA, name, winner), "round %d: the user of the create that succeeded", round)

				id := fmt.Sprintf("AKIARACE%d", round)
				account := func(i int) string { return []string{acctA, acctB}[i/2%2] }
				winner = raceOneWins(t, round, func(i int) error {
					return inTx(ctx, s, i, func(ctx context.Context) error {
						if err := s.CreateAccessKey(ctx, newKey(account(i), "", id, i)); err != nil {
							return err
						}
						pause()
						return nil
					})
				})
				checkKey(t, s, newKey(account(winner), "", id, winner), fmt.Sprintf("round %d: the key of the create that succeeded", round))
			}
			users, err := s.ListUsers(ctx, acctA)
			must(t, err, "ListUsers")
			check(t, len(users), rounds, "the users the races created")
		}},
		{"DeleteUserRacesCreatesUnderIt", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createGroup(t, s, acctA, "ops")
			for round := range rounds {
				name := fmt.Sprintf("user-%d", round)
				createUser(t, s, acctA, name)
				errs := race(n, func(i int) error {
					if i == 0 {
						return s.DeleteUser(ctx, acctA, name)
					}
					return s.Tx(ctx, func(ctx context.Context) error {
						var err error
						switch i % 3 {
						case 0:
							err = s.CreateAccessKey(ctx, newKey(acctA, name, fmt.Sprintf("AKIA%d-%02d", round, i), i))
						case 1:
							err = s.AddGroupMember(ctx, acctA, "ops", name)
						default:
							err = s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderUser, name, fmt.Sprintf("p%02d", i), i))
						}
						if err != nil {
							return err
						}
						// The transaction holds on a moment to what it wrote.
						pause()
						return nil
					})
				})
				must(t, errs[0], "round %d: DeleteUser", round)
				for i, err := range errs[1:] {
					if err != nil && !errors.Is(err, domain.ErrNotFound) {
						t.Fatalf("round %d: a write under the user racing DeleteUser (%d): %v", round, i+1, err)
					}
				}
				checkDeletedUser(t, s, name, round)
			}
		}},
		{"DeleteUserWaitsForWritesUnderIt", func(t *testing.T, s domain.Store) {
			createAccount(t, s, acctA)
			createGroup(t, s, acctA, "ops")
			// A transaction creates a key of the user, a membership or a
			// policy, and holds on, uncommitted; the user is deleted
			// meanwhile. What it wrote must not outlive the user.
			writes := []func(ctx context.Context, user string) error{
				func(ctx context.Context, user string) error {
					return s.CreateAccessKey(ctx, newKey(acctA, user, "AKIAOPEN", 1))
				},
				func(ctx context.Context, user string) error { return s.AddGroupMember(ctx, acctA, "ops", user) },
				func(ctx context.Context, user string) error {
					return s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderUser, user, "p", 1))
				},
			}
			for i, write := range writes {
				user := fmt.Sprintf("user-%d", i)
				deleteUserDuring(t, s, i, user, write)
				checkKeyGone(t, s, "AKIAOPEN", fmt.Sprintf("write %d: after DeleteUser", i))
				checkDeletedUser(t, s, user, i)
			}
		}},
		{"DeleteGroupWaitsForWritesUnderIt", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createUser(t, s, acctA, "alice")
			writes := []func(ctx context.Context, group string) error{
				func(ctx context.Context, group string) error { return s.AddGroupMember(ctx, acctA, group, "alice") },
				func(ctx context.Context, group string) error {
					return s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderGroup, group, "p", 1))
				},
			}
			for i, write := range writes {
				group := fmt.Sprintf("group-%d", i)
				createGroup(t, s, acctA, group)
				release, done := openTxEnding(t, s, nil, func(ctx context.Context) error { return write(ctx, group) })
				deleted := make(chan error, 1)
				go func() { deleted <- s.DeleteGroup(ctx, acctA, group) }()
				time.Sleep(20 * time.Millisecond) // DeleteGroup reaches the store
				close(release)
				if err := <-done; err != nil && !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("write %d: the transaction writing under the group: %v", i, err)
				}
				must(t, <-deleted, "write %d: DeleteGroup", i)
				createGroup(t, s, acctA, group)
				checkGroupsOf(t, s, acctA, "alice", nil, fmt.Sprintf("write %d: a group deleted while written under, created again", i))
				checkPolicies(t, s, acctA, domain.HolderGroup, group, nil, fmt.Sprintf("write %d: a group deleted while written under, created again", i))
			}
		}},
		{"DeleteGroupRacesAddsToIt", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			for i := range n {
				createUser(t, s, acctA, fmt.Sprintf("user-%02d", i))
			}
			for round := range rounds {
				group := fmt.Sprintf("group-%d", round)
				createGroup(t, s, acctA, group)
				errs := race(n, func(i int) error {
					if i == 0 {
						return s.DeleteGroup(ctx, acctA, group)
					}
					return s.Tx(ctx, func(ctx context.Context) error {
						err := s.AddGroupMember(ctx, acctA, group, fmt.Sprintf("user-%02d", i))
						if err == nil && i%2 == 0 {
							err = s.PutIdentityPolicy(ctx, newIdentityPolicy(acctA, domain.HolderGroup, group, fmt.Sprintf("p%02d", i), i))
						}
						if err != nil {
							return err
						}
						pause()
						return nil
					})
				})
				must(t, errs[0], "round %d: DeleteGroup", round)
				for i, err := range errs[1:] {
					if err != nil && !errors.Is(err, domain.ErrNotFound) {
						t.Fatalf("round %d: a write under the group racing DeleteGroup (%d): %v", round, i+1, err)
					}
				}
				// Created again, the group has no member and no policy.
				createGroup(t, s, acctA, group)
				checkPolicies(t, s, acctA, domain.HolderGroup, group, nil, fmt.Sprintf("round %d: a group deleted while written under", round))
				for i := range n {
					gs, err := s.GroupsOf(ctx, acctA, fmt.Sprintf("user-%02d", i))
					must(t, err, "GroupsOf")
					for _, g := range gs {
						if g == group {
							t.Fatalf("round %d: user-%02d is a member of the deleted group", round, i)
						}
					}
				}
			}
		}},
	}
}

// raceOneWins races n creates of one thing and returns which succeeded: one
// must, the others must answer ErrConflict.
func raceOneWins(t *testing.T, round int, create func(i int) error) int {
	t.Helper()
	winner := -1
	for i, err := range race(n, create) {
		if err != nil {
			wantErr(t, err, domain.ErrConflict, "round %d: create %d", round, i)
			continue
		}
		if winner >= 0 {
			t.Fatalf("round %d: creates %d and %d of one thing both succeeded", round, winner, i)
		}
		winner = i
	}
	if winner < 0 {
		t.Fatalf("round %d: no create succeeded", round)
	}
	return winner
}

// checkDeletedUser checks that nothing of the deleted user name of acctA is
// left: created again, it has no key, membership or policy.
// deleteUserDuring creates the user of acctA, and deletes it while a
// transaction that runs write (the round-th) under it holds on,
// uncommitted. The write may fail with ErrNotFound (the deletion went
// first); DeleteUser must succeed.
func deleteUserDuring(t *testing.T, s domain.Store, round int, user string, write func(ctx context.Context, user string) error) {
	t.Helper()
	createUser(t, s, acctA, user)
	release, done := openTxEnding(t, s, nil, func(ctx context.Context) error { return write(ctx, user) })
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteUser(t.Context(), acctA, user) }()
	time.Sleep(20 * time.Millisecond) // DeleteUser reaches the store
	close(release)
	if err := <-done; err != nil && !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("write %d: the transaction writing under the user: %v", round, err)
	}
	must(t, <-deleted, "write %d: DeleteUser", round)
}

func checkDeletedUser(t *testing.T, s domain.Store, name string, round int) {
	t.Helper()
	what := fmt.Sprintf("round %d: deleted user %s", round, name)
	_, err := s.GetUser(t.Context(), acctA, name)
	wantErr(t, err, domain.ErrNotFound, "%s: GetUser", what)
	createUser(t, s, acctA, name)
	keys, err := s.ListAccessKeys(t.Context(), acctA)
	must(t, err, "%s: ListAccessKeys", what)
	for _, k := range keys {
		if k.User == name {
			t.Fatalf("%s: its key %s is left", what, k.ID)
		}
	}
	checkGroupsOf(t, s, acctA, name, nil, what)
	checkPolicies(t, s, acctA, domain.HolderUser, name, nil, what)
	must(t, s.DeleteUser(t.Context(), acctA, name), "%s: DeleteUser of the user created again", what)
}
