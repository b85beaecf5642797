package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Fixtures of the web console (domain.ConsoleStore). Every value is a fresh
// one, so a case may change it.

// newHash returns a password hash that holds a NUL and a byte that is no
// UTF-8: it is kept as bytes.
func newHash(n int) []byte { return []byte{0, 0xff, 'h', byte(n)} }

// sessionID returns the id of the session named name, as the console makes
// one: the hex SHA-256 of a token.
func sessionID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// newConsoleSession returns the session named name of the user, created an
// hour before it expires, at(expires).
func newConsoleSession(account, user, name string, expires int) *domain.ConsoleSession {
	return &domain.ConsoleSession{
		ID: sessionID(name), Account: account, User: user, CSRF: "csrf-" + name,
		CreatedTime: at(expires - 3600), ExpiresTime: at(expires),
	}
}

// The create helpers fail the test on error and return what they stored.

func setPassword(t testing.TB, s domain.Store, account, user string, n int) []byte {
	t.Helper()
	hash := newHash(n)
	must(t, s.SetConsolePassword(t.Context(), account, user, hash), "SetConsolePassword %s/%s", account, user)
	return hash
}

func createSession(t testing.TB, s domain.Store, account, user, name string, expires int) *domain.ConsoleSession {
	t.Helper()
	cs := newConsoleSession(account, user, name, expires)
	must(t, s.CreateConsoleSession(t.Context(), cs), "CreateConsoleSession %s", name)
	return cs
}

// The check helpers read one thing and compare it with what is wanted.

func checkPassword(t testing.TB, s domain.Store, account, user string, want []byte, what string) {
	t.Helper()
	got, err := s.ConsolePassword(t.Context(), account, user)
	must(t, err, "%s: ConsolePassword %s/%s", what, account, user)
	check(t, got, want, "%s: the console password of %s/%s", what, account, user)
}

func checkNoPassword(t testing.TB, s domain.Store, account, user, what string) {
	t.Helper()
	_, err := s.ConsolePassword(t.Context(), account, user)
	wantErr(t, err, domain.ErrNotFound, "%s: ConsolePassword %s/%s", what, account, user)
}

func checkSession(t testing.TB, s domain.Store, want *domain.ConsoleSession, what string) {
	t.Helper()
	got, err := s.ConsoleSession(t.Context(), want.ID)
	must(t, err, "%s: ConsoleSession %s", what, want.CSRF)
	check(t, got, want, "%s: session %s", what, want.CSRF)
}

func checkSessionGone(t testing.TB, s domain.Store, cs *domain.ConsoleSession, what string) {
	t.Helper()
	_, err := s.ConsoleSession(t.Context(), cs.ID)
	wantErr(t, err, domain.ErrNotFound, "%s: ConsoleSession %s", what, cs.CSRF)
}

// consoleCases are the contract of domain.ConsoleStore.
func consoleCases() []testCase {
	return []testCase{
		{"Passwords", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "bob")
			createUser(t, s, acctB, "alice")
			checkNoPassword(t, s, acctA, "alice", "a user without a password")
			checkNoPassword(t, s, acctA, "missing", "a missing user")
			wantErr(t, s.SetConsolePassword(ctx, acctA, "missing", newHash(1)), domain.ErrNotFound, "SetConsolePassword of a missing user")
			wantErr(t, s.SetConsolePassword(ctx, "999999999999", "alice", newHash(1)), domain.ErrNotFound, "SetConsolePassword in a missing account")
			wantErr(t, s.SetConsolePassword(ctx, acctA, "Alice", newHash(1)), domain.ErrNotFound, "SetConsolePassword of a name that differs in case")
			checkNoPassword(t, s, acctA, "missing", "a missing user after a refused SetConsolePassword")

			hash := setPassword(t, s, acctA, "alice", 1)
			checkPassword(t, s, acctA, "alice", hash, "a password set")
			checkNoPassword(t, s, acctA, "bob", "another user")
			checkNoPassword(t, s, acctB, "alice", "the user of that name in another account")
			// The caller may reuse the slice it passed.
			hash[3] = 'x'
			checkPassword(t, s, acctA, "alice", newHash(1), "a password whose slice the caller changed")

			other := setPassword(t, s, acctB, "alice", 2)
			replaced := newHash(3)
			replaced = append(replaced, "longer"...)
			must(t, s.SetConsolePassword(ctx, acctA, "alice", replaced), "SetConsolePassword again")
			checkPassword(t, s, acctA, "alice", replaced, "a password replaced")
			checkPassword(t, s, acctB, "alice", other, "the other account's user's password")
			checkNoPassword(t, s, acctA, "bob", "another user after a replace")
		}},
		{"Sessions", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctB, "bob")
			_, err := s.ConsoleSession(ctx, sessionID("one"))
			wantErr(t, err, domain.ErrNotFound, "ConsoleSession of a missing session")

			one := createSession(t, s, acctA, "alice", "one", 100)
			two := createSession(t, s, acctA, "alice", "two", 200)
			bobs := createSession(t, s, acctB, "bob", "bobs", 300)
			checkSession(t, s, one, "a session created")
			checkSession(t, s, two, "a second session of the user")
			checkSession(t, s, bobs, "a session of another account")
			// An expired one is returned all the same: the caller checks.
			expired := newConsoleSession(acctA, "alice", "expired", -7200)
			must(t, s.CreateConsoleSession(ctx, expired), "CreateConsoleSession of an expired session")
			checkSession(t, s, expired, "an expired session")

			// A taken id, whoever's it would be, is refused and changes
			// nothing.
			for _, taken := range []*domain.ConsoleSession{
				newConsoleSession(acctA, "alice", "one", 999),
				newConsoleSession(acctB, "bob", "one", 999),
			} {
				taken.CSRF = "csrf-other"
				wantErr(t, s.CreateConsoleSession(ctx, taken), domain.ErrConflict, "CreateConsoleSession of a taken id by %s", taken.User)
			}
			checkSession(t, s, one, "a session after refused creates of its id")

			// A session of a missing user is refused and not stored.
			for _, orphan := range []*domain.ConsoleSession{
				newConsoleSession(acctA, "missing", "orphan", 100),
				newConsoleSession("999999999999", "alice", "orphan", 100),
				newConsoleSession(acctA, "bob", "orphan", 100), // bob is of acctB
			} {
				wantErr(t, s.CreateConsoleSession(ctx, orphan), domain.ErrNotFound, "CreateConsoleSession of missing user %s/%s", orphan.Account, orphan.User)
			}
			wantErr(t, s.CreateConsoleSession(ctx, newConsoleSession(acctA, "missing", "one", 1)), domain.ErrNotFound,
				"CreateConsoleSession of a missing user with a taken id")
			checkSessionGone(t, s, newConsoleSession(acctA, "missing", "orphan", 100), "a session of a missing user")

			must(t, s.DeleteConsoleSession(ctx, one.ID), "DeleteConsoleSession")
			checkSessionGone(t, s, one, "after DeleteConsoleSession")
			checkSession(t, s, two, "the user's other session after DeleteConsoleSession")
			checkSession(t, s, bobs, "another account's session after DeleteConsoleSession")
			must(t, s.DeleteConsoleSession(ctx, one.ID), "DeleteConsoleSession of a deleted session")
			must(t, s.DeleteConsoleSession(ctx, sessionID("never")), "DeleteConsoleSession of a missing session")
			// The id of a deleted session is free again.
			again := newConsoleSession(acctB, "bob", "one", 400)
			must(t, s.CreateConsoleSession(ctx, again), "CreateConsoleSession of a deleted session's id")
			checkSession(t, s, again, "a session created under a deleted one's id")
		}},
		{"SetConsolePasswordEndsSessions", func(t *testing.T, s domain.Store) {
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "bob")
			createUser(t, s, acctB, "alice")
			a1 := createSession(t, s, acctA, "alice", "a1", 100)
			a2 := createSession(t, s, acctA, "alice", "a2", 200)
			b1 := createSession(t, s, acctA, "bob", "b1", 100)
			other := createSession(t, s, acctB, "alice", "other", 100)
			// The first password ends the sessions as well.
			setPassword(t, s, acctA, "alice", 1)
			checkSessionGone(t, s, a1, "after SetConsolePassword")
			checkSessionGone(t, s, a2, "after SetConsolePassword")
			checkSession(t, s, b1, "another user's session after SetConsolePassword")
			checkSession(t, s, other, "the session of the namesake in another account after SetConsolePassword")
			// So does a replacement, of the sessions created since.
			a3 := createSession(t, s, acctA, "alice", "a3", 300)
			hash := setPassword(t, s, acctA, "alice", 2)
			checkSessionGone(t, s, a3, "after a second SetConsolePassword")
			checkPassword(t, s, acctA, "alice", hash, "after a second SetConsolePassword")
			checkSession(t, s, b1, "another user's session after a second SetConsolePassword")
			checkSession(t, s, other, "the other account's session after a second SetConsolePassword")
			// A refused one ends nothing.
			wantErr(t, s.SetConsolePassword(t.Context(), acctB, "bob", newHash(3)), domain.ErrNotFound, "SetConsolePassword of a missing user")
			checkSession(t, s, b1, "after a refused SetConsolePassword")
			checkSession(t, s, other, "after a refused SetConsolePassword")
		}},
		{"PurgeConsoleSessions", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctB, "bob")
			n, err := s.PurgeConsoleSessions(ctx, at(1000))
			must(t, err, "PurgeConsoleSessions of none")
			check(t, n, int64(0), "sessions purged of none")
			e1 := createSession(t, s, acctA, "alice", "e1", 10)
			e2 := createSession(t, s, acctB, "bob", "e2", 20)
			atT := createSession(t, s, acctA, "alice", "at-t", 30)
			later := createSession(t, s, acctB, "bob", "later", 40)
			// Expired a millisecond before t: purged.
			justBefore := newConsoleSession(acctA, "alice", "just-before", 30)
			justBefore.ExpiresTime = at(30).Add(-time.Millisecond)
			must(t, s.CreateConsoleSession(ctx, justBefore), "CreateConsoleSession")

			n, err = s.PurgeConsoleSessions(ctx, at(30))
			must(t, err, "PurgeConsoleSessions")
			check(t, n, int64(3), "sessions purged: those that expired before t")
			for _, cs := range []*domain.ConsoleSession{e1, e2, justBefore} {
				checkSessionGone(t, s, cs, "after PurgeConsoleSessions")
			}
			checkSession(t, s, atT, "a session that expires at t, after PurgeConsoleSessions")
			checkSession(t, s, later, "a session that expires after t, after PurgeConsoleSessions")
			n, err = s.PurgeConsoleSessions(ctx, at(30))
			must(t, err, "PurgeConsoleSessions again")
			check(t, n, int64(0), "sessions purged again")
			n, err = s.PurgeConsoleSessions(ctx, at(41))
			must(t, err, "PurgeConsoleSessions of the rest")
			check(t, n, int64(2), "sessions purged of the rest")
			checkSessionGone(t, s, atT, "after the last PurgeConsoleSessions")
			checkSessionGone(t, s, later, "after the last PurgeConsoleSessions")
		}},
		{"DeleteUserRemovesConsole", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createAccount(t, s, acctB)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "bob")
			createUser(t, s, acctB, "alice")
			setPassword(t, s, acctA, "alice", 1)
			bobHash := setPassword(t, s, acctA, "bob", 2)
			otherHash := setPassword(t, s, acctB, "alice", 3)
			a1 := createSession(t, s, acctA, "alice", "a1", 100)
			a2 := createSession(t, s, acctA, "alice", "a2", 200)
			b1 := createSession(t, s, acctA, "bob", "b1", 100)
			other := createSession(t, s, acctB, "alice", "other", 100)

			must(t, s.DeleteUser(ctx, acctA, "alice"), "DeleteUser")
			checkNoPassword(t, s, acctA, "alice", "after DeleteUser")
			checkSessionGone(t, s, a1, "after DeleteUser")
			checkSessionGone(t, s, a2, "after DeleteUser")
			checkPassword(t, s, acctA, "bob", bobHash, "another user after DeleteUser")
			checkSession(t, s, b1, "another user's session after DeleteUser")
			checkPassword(t, s, acctB, "alice", otherHash, "the namesake in another account after DeleteUser")
			checkSession(t, s, other, "the namesake's session after DeleteUser")
			// A user created again under the name inherits nothing.
			createUser(t, s, acctA, "alice")
			checkNoPassword(t, s, acctA, "alice", "a user created again")
			checkSessionGone(t, s, a1, "a user created again")
		}},
		{"KeptByDeleteAccountData", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			must(t, s.CreateReplicationSet(ctx, newReplicationSet(acctA), nil), "CreateReplicationSet")
			createAccount(t, s, acctA)
			createUser(t, s, acctA, "alice")
			hash := setPassword(t, s, acctA, "alice", 1)
			cs := createSession(t, s, acctA, "alice", "one", 100)
			must(t, s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil }), "DeleteAccountData")
			_, err := s.GetReplicationSet(ctx, acctA)
			wantErr(t, err, domain.ErrNotFound, "the replication set after DeleteAccountData")
			checkPassword(t, s, acctA, "alice", hash, "after DeleteAccountData")
			checkSession(t, s, cs, "after DeleteAccountData")
		}},
		{"FailedCallsInTx", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createUser(t, s, acctA, "alice")
			createUser(t, s, acctA, "bob")
			hash := setPassword(t, s, acctA, "alice", 1)
			one := createSession(t, s, acctA, "alice", "one", 100)
			bobs := createSession(t, s, acctA, "bob", "bobs", 100)
			fresh := newConsoleSession(acctA, "bob", "fresh", 200)
			// Each failed call answers, changes nothing, and the transaction
			// goes on and commits.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				for _, c := range []struct {
					what      string
					err, want error
				}{
					{"SetConsolePassword of a missing user", s.SetConsolePassword(ctx, acctA, "missing", newHash(9)), domain.ErrNotFound},
					{"CreateConsoleSession of a taken id", s.CreateConsoleSession(ctx, newConsoleSession(acctA, "bob", "one", 9)), domain.ErrConflict},
					{"CreateConsoleSession of a missing user", s.CreateConsoleSession(ctx, newConsoleSession(acctA, "missing", "x", 9)), domain.ErrNotFound},
				} {
					if !errors.Is(c.err, c.want) {
						return fmt.Errorf("%s: got error %v, want %v: %w", c.what, c.err, c.want, errUnexpected)
					}
				}
				if err := s.CreateConsoleSession(ctx, fresh); err != nil {
					return err
				}
				// Reads inside the transaction see its writes.
				if _, err := s.ConsoleSession(ctx, fresh.ID); err != nil {
					return fmt.Errorf("ConsoleSession of a session the transaction created: %v", err)
				}
				return nil
			}), "Tx with failed calls")
			checkPassword(t, s, acctA, "alice", hash, "after a Tx with failed calls")
			checkSession(t, s, one, "after a Tx with failed calls")
			checkSession(t, s, bobs, "after a Tx with failed calls")
			checkSession(t, s, fresh, "a session created in a Tx with failed calls")
			checkSessionGone(t, s, newConsoleSession(acctA, "missing", "x", 9), "a refused session")

			// A transaction that writes, reads its writes, then fails,
			// leaves nothing.
			replaced := newHash(2)
			err := s.Tx(ctx, func(ctx context.Context) error {
				if err := errors.Join(
					s.SetConsolePassword(ctx, acctA, "alice", replaced),
					s.SetConsolePassword(ctx, acctA, "bob", newHash(3)),
					s.CreateConsoleSession(ctx, newConsoleSession(acctA, "alice", "rolled-back", 300)),
					s.DeleteConsoleSession(ctx, fresh.ID),
				); err != nil {
					return err
				}
				if got, err := s.ConsolePassword(ctx, acctA, "alice"); err != nil || !same(got, replaced) {
					return fmt.Errorf("ConsolePassword of a password the transaction replaced: %v %v: %w", got, err, errUnexpected)
				}
				if _, err := s.ConsoleSession(ctx, one.ID); !errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("ConsoleSession of a session the transaction ended: %v: %w", err, errUnexpected)
				}
				if _, err := s.ConsoleSession(ctx, fresh.ID); !errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("ConsoleSession of a session the transaction deleted: %v: %w", err, errUnexpected)
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx that fails")
			checkPassword(t, s, acctA, "alice", hash, "after a rolled-back Tx")
			checkNoPassword(t, s, acctA, "bob", "after a rolled-back Tx")
			checkSession(t, s, one, "after a rolled-back Tx")
			checkSession(t, s, bobs, "after a rolled-back Tx")
			checkSession(t, s, fresh, "after a rolled-back Tx")
			checkSessionGone(t, s, newConsoleSession(acctA, "alice", "rolled-back", 300), "a session a rolled-back Tx created")
		}},
		{"SetConsolePasswordWaitsForSessions", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			createUser(t, s, acctA, "alice")
			// A transaction creates a session of the user and holds on,
			// uncommitted; the user's password is set meanwhile. The
			// session must not outlive the change.
			cs := newConsoleSession(acctA, "alice", "open", 100)
			release, done := openTxEnding(t, s, nil, func(ctx context.Context) error { return s.CreateConsoleSession(ctx, cs) })
			set := make(chan error, 1)
			go func() { set <- s.SetConsolePassword(ctx, acctA, "alice", newHash(1)) }()
			time.Sleep(20 * time.Millisecond) // SetConsolePassword reaches the store
			close(release)
			must(t, <-done, "the transaction creating a session")
			must(t, <-set, "SetConsolePassword")
			checkSessionGone(t, s, cs, "a session created while the password was set")
			checkPassword(t, s, acctA, "alice", newHash(1), "after SetConsolePassword")
		}},
		{"DeleteUserWaitsForConsoleWrites", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			createAccount(t, s, acctA)
			// A transaction creates a session of the user, or sets its
			// password, and holds on, uncommitted; the user is deleted
			// meanwhile. What it wrote must not outlive the user.
			writes := []func(ctx context.Context, user string) error{
				func(ctx context.Context, user string) error {
					return s.CreateConsoleSession(ctx, newConsoleSession(acctA, user, "open-"+user, 100))
				},
				func(ctx context.Context, user string) error {
					return s.SetConsolePassword(ctx, acctA, user, newHash(1))
				},
			}
			for i, write := range writes {
				user := fmt.Sprintf("user-%d", i)
				deleteUserDuring(t, s, i, user, write)
				what := fmt.Sprintf("write %d: a user deleted while written under", i)
				_, err := s.GetUser(ctx, acctA, user)
				wantErr(t, err, domain.ErrNotFound, "%s: GetUser", what)
				createUser(t, s, acctA, user)
				checkNoPassword(t, s, acctA, user, what)
				checkSessionGone(t, s, newConsoleSession(acctA, user, "open-"+user, 100), what)
			}
		}},
	}
}
