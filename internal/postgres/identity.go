package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// The identities (domain.IdentityStore), kept right with several nodes on
// one database by row locks, as the foreign keys of the schema (migration
// 0006) would take them, but taken before the write, so that a missing
// owner is an answer (ErrNotFound) and not a failed statement:
//
//   - what is created under an owner (a user or group under its account, a
//     key under its account and user, a membership under its group and
//     user, a policy under its holder) is one statement that reads the
//     owner's rows … FOR KEY SHARE and inserts only when it found them
//     (insertUnder). Inside a Tx the owner then stays locked until the
//     transaction ends;
//   - DeleteUser and DeleteGroup first lock the owner's row FOR UPDATE,
//     which waits for the transactions that locked it FOR KEY SHARE to end
//     and keeps new ones out, and then delete, in later statements (which
//     see what those transactions wrote), what is under it, and the row
//     itself last. So a key (or a console session or password, console.go)
//     created in a transaction racing the deletion of its user is deleted
//     with the user, or refused (ErrNotFound).
//
// Every check whose outcome is an answer (ErrNotFound, ErrConflict) is sent
// at once; the deletes after DeleteUser's and DeleteGroup's locked read and
// the write of UpdateAccount after fn are deferred inside a Tx (txn.go).

// CreateAccount implements domain.Store.
func (s *Store) CreateAccount(ctx context.Context, a *domain.Account) error {
	return s.write(ctx, func(q querier) error {
		return execInsert(ctx, q, `INSERT INTO accounts (id, org_id, created_time) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			a.ID, a.OrgID, ms(a.CreatedTime))
	})
}

// GetAccount implements domain.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (*domain.Account, error) {
	defer s.startRead(ctx).stop()
	return getAccount(ctx, s.q(ctx), id, "")
}

// getAccount reads the account id, with lock added to the SELECT; ErrNotFound
// when there is none.
func getAccount(ctx context.Context, q querier, id, lock string) (*domain.Account, error) {
	return scanOne(q.QueryRow(ctx, `SELECT id, org_id, created_time FROM accounts WHERE id = $1`+lock, id), scanAccount)
}

// ListAccounts implements domain.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]*domain.Account, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT id, org_id, created_time FROM accounts ORDER BY id`)
	return collect(rows, err, scanAccount)
}

// UpdateAccount implements domain.Store: the account's row is read
// forChange, and written back (deferred inside a Tx) with its id unchanged.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*domain.Account) error) error {
	return s.tx1(ctx, func(ctx context.Context, q querier) error {
		a, err := getAccount(ctx, q, id, forChange)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		return later(ctx, q, nil, `UPDATE accounts SET org_id = $1, created_time = $2 WHERE id = $3`, a.OrgID, ms(a.CreatedTime), id)
	})
}

// CreateUser implements domain.Store.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	return s.insertUnder(ctx, domain.ErrConflict, `WITH owner AS (SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE),
		ins AS (INSERT INTO users (account, name, created_time) SELECT $1, $2, $3::bigint WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`, u.Account, u.Name, ms(u.CreatedTime))
}

// GetUser implements domain.Store.
func (s *Store) GetUser(ctx context.Context, account, name string) (*domain.User, error) {
	defer s.startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRow(ctx, `SELECT account, name, created_time FROM users WHERE account = $1 AND name = $2`, account, name), scanUser)
}

// ListUsers implements domain.Store.
func (s *Store) ListUsers(ctx context.Context, account string) ([]*domain.User, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT account, name, created_time FROM users WHERE account = $1 ORDER BY name`, account)
	return collect(rows, err, scanUser)
}

// DeleteUser implements domain.Store: the user's row locked first, then
// its keys, policies, memberships, console sessions and console password
// (console.go) deleted, and the row last.
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	return s.deleteOwner(ctx, `SELECT 1 FROM users WHERE account = $1 AND name = $2 FOR UPDATE`, []any{account, name},
		`DELETE FROM access_keys WHERE account = $1 AND user_name = $2`,
		`DELETE FROM identity_policies WHERE account = $1 AND holder = 'user' AND holder_name = $2`,
		`DELETE FROM group_members WHERE account = $1 AND user_name = $2`,
		`DELETE FROM console_sessions WHERE account = $1 AND user_name = $2`,
		`DELETE FROM console_passwords WHERE account = $1 AND user_name = $2`,
		`DELETE FROM users WHERE account = $1 AND name = $2`)
}

// CreateGroup implements domain.Store.
func (s *Store) CreateGroup(ctx context.Context, g *domain.Group) error {
	return s.insertUnder(ctx, domain.ErrConflict, `WITH owner AS (SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE),
		ins AS (INSERT INTO groups (account, name, created_time) SELECT $1, $2, $3::bigint WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`, g.Account, g.Name, ms(g.CreatedTime))
}

// ListGroups implements domain.Store.
func (s *Store) ListGroups(ctx context.Context, account string) ([]*domain.Group, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT account, name, created_time FROM groups WHERE account = $1 ORDER BY name`, account)
	return collect(rows, err, scanGroup)
}

// DeleteGroup implements domain.Store: the group's row locked first, then
// its policies and memberships deleted, and the row last.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	return s.deleteOwner(ctx, `SELECT 1 FROM groups WHERE account = $1 AND name = $2 FOR UPDATE`, []any{account, name},
		`DELETE FROM identity_policies WHERE account = $1 AND holder = 'group' AND holder_name = $2`,
		`DELETE FROM group_members WHERE account = $1 AND group_name = $2`,
		`DELETE FROM groups WHERE account = $1 AND name = $2`)
}

// AddGroupMember implements domain.Store.
func (s *Store) AddGroupMember(ctx context.Context, account, group, user string) error {
	return s.insertUnder(ctx, nil, `WITH owner AS (SELECT 1 FROM groups g, users u
			WHERE g.account = $1 AND g.name = $2 AND u.account = $1 AND u.name = $3 FOR KEY SHARE),
		ins AS (INSERT INTO group_members (account, group_name, user_name) SELECT $1, $2, $3::text WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`, account, group, user)
}

// RemoveGroupMember implements domain.Store.
func (s *Store) RemoveGroupMember(ctx context.Context, account, group, user string) error {
	return s.execOne(ctx, `DELETE FROM group_members WHERE account = $1 AND group_name = $2 AND user_name = $3`, account, group, user)
}

// GroupsOf implements domain.Store.
func (s *Store) GroupsOf(ctx context.Context, account, user string) ([]string, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT group_name FROM group_members WHERE account = $1 AND user_name = $2 ORDER BY group_name`, account, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// CreateAccessKey implements domain.Store. The key of a user locks the
// user's row as well as the account's; the root's (User "") the account's.
func (s *Store) CreateAccessKey(ctx context.Context, k *domain.AccessKey) error {
	return s.insertUnder(ctx, domain.ErrConflict, `WITH acct AS (SELECT 1 FROM accounts WHERE id = $2 FOR KEY SHARE),
		usr AS (SELECT 1 FROM users WHERE account = $2 AND name = $3 FOR KEY SHARE),
		owner AS (SELECT 1 FROM acct WHERE $3 = '' OR EXISTS (SELECT 1 FROM usr)),
		ins AS (INSERT INTO access_keys (id, account, user_name, sealed_secret, active, created_time)
			SELECT $1, $2, $3, $4::bytea, $5::integer, $6::bigint WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`,
		k.ID, k.Account, k.User, sealed(k.SealedSecret), flag(k.Active), ms(k.CreatedTime))
}

// GetAccessKey implements domain.Store.
func (s *Store) GetAccessKey(ctx context.Context, id string) (*domain.AccessKey, error) {
	defer s.startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRow(ctx, `SELECT `+accessKeyColumns+` FROM access_keys WHERE id = $1`, id), scanAccessKey)
}

// ListAccessKeys implements domain.Store.
func (s *Store) ListAccessKeys(ctx context.Context, account string) ([]*domain.AccessKey, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT `+accessKeyColumns+` FROM access_keys WHERE account = $1 ORDER BY user_name, id`, account)
	return collect(rows, err, scanAccessKey)
}

// SetAccessKeyActive implements domain.Store.
func (s *Store) SetAccessKeyActive(ctx context.Context, account, id string, active bool) error {
	return s.execOne(ctx, `UPDATE access_keys SET active = $1 WHERE account = $2 AND id = $3`, flag(active), account, id)
}

// DeleteAccessKey implements domain.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, account, id string) error {
	return s.execOne(ctx, `DELETE FROM access_keys WHERE account = $1 AND id = $2`, account, id)
}

// PutIdentityPolicy implements domain.Store: one statement locks the
// holder's row and inserts the policy, or replaces the holder's policy of
// that name.
func (s *Store) PutIdentityPolicy(ctx context.Context, p *domain.IdentityPolicy) error {
	table, ok := holderTables[p.Holder]
	if !ok {
		return domain.ErrNotFound
	}
	return s.insertUnder(ctx, nil, `WITH owner AS (SELECT 1 FROM `+table+` WHERE account = $1 AND name = $3 FOR KEY SHARE),
		ins AS (INSERT INTO identity_policies (account, holder, holder_name, name, document, updated_time)
			SELECT $1, $2::text, $3, $4::text, $5::text, $6::bigint WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT (account, holder, holder_name, name) DO UPDATE SET document = excluded.document, updated_time = excluded.updated_time
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`,
		p.Account, string(p.Holder), p.HolderName, p.Name, p.Document, ms(p.UpdatedTime))
}

// ListIdentityPolicies implements domain.Store. With holderName "" it
// lists every policy of the account, whatever holder asks.
func (s *Store) ListIdentityPolicies(ctx context.Context, account string, holder domain.PolicyHolder, holderName string) ([]*domain.IdentityPolicy, error) {
	defer s.startRead(ctx).stop()
	var args params
	query := `SELECT ` + policyColumns + ` FROM identity_policies WHERE account = ` + args.add(account)
	if holderName != "" {
		query += ` AND holder = ` + args.add(string(holder)) + ` AND holder_name = ` + args.add(holderName)
	}
	rows, err := s.q(ctx).Query(ctx, query+` ORDER BY holder, holder_name, name`, args...)
	return collect(rows, err, scanPolicy)
}

// DeleteIdentityPolicy implements domain.Store.
func (s *Store) DeleteIdentityPolicy(ctx context.Context, account string, holder domain.PolicyHolder, holderName, name string) error {
	return s.execOne(ctx, `DELETE FROM identity_policies WHERE account = $1 AND holder = $2 AND holder_name = $3 AND name = $4`,
		account, string(holder), holderName, name)
}

// UserPolicies implements domain.Store: one query, so that the user's own
// policies and its groups' are read as of one moment.
func (s *Store) UserPolicies(ctx context.Context, account, user string) ([]*domain.IdentityPolicy, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT `+policyColumns+` FROM (
			SELECT 0 AS own, `+policyColumns+` FROM identity_policies WHERE account = $1 AND holder = 'user' AND holder_name = $2
			UNION ALL
			SELECT 1 AS own, p.account, p.holder, p.holder_name, p.name, p.document, p.updated_time
			FROM group_members m JOIN identity_policies p
				ON p.account = m.account AND p.holder = 'group' AND p.holder_name = m.group_name
			WHERE m.account = $1 AND m.user_name = $2) AS applying
		ORDER BY own, holder_name, name`, account, user)
	return collect(rows, err, scanPolicy)
}

// insertUnder runs query, one statement that selects the rows of what it
// inserts under (the owner) … FOR KEY SHARE, inserts when it found them,
// and returns whether it found them and whether it inserted. ErrNotFound
// when it found none; dup when it found them but inserted nothing (nil: a
// duplicate is no error).
func (s *Store) insertUnder(ctx context.Context, dup error, query string, args ...any) error {
	return s.write(ctx, func(q querier) error {
		var found, inserted bool
		if err := q.QueryRow(ctx, query, args...).Scan(&found, &inserted); err != nil {
			return mapError(err)
		}
		switch {
		case !found:
			return domain.ErrNotFound
		case !inserted:
			return dup
		}
		return nil
	})
}

// deleteOwner runs lock, which selects the row of an owner (a user, a
// group) … FOR UPDATE, and then, unless it found none (ErrNotFound), the
// deletes, each with args, in order: what is under the owner, then its row.
// Inside a Tx the deletes are deferred.
func (s *Store) deleteOwner(ctx context.Context, lock string, args []any, deletes ...string) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		var one int
		err := q.QueryRow(ctx, lock, args...).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, d := range deletes {
			if err := later(ctx, q, nil, d, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// holderTables names the table of each kind of policy holder.
var holderTables = map[domain.PolicyHolder]string{domain.HolderUser: "users", domain.HolderGroup: "groups"}

// The columns a key and a policy are read from, in scanAccessKey's and
// scanPolicy's order.
const (
	accessKeyColumns = `id, account, user_name, sealed_secret, active, created_time`
	policyColumns    = `account, holder, holder_name, name, document, updated_time`
)

// scanOne reads the one row of row with scan; ErrNotFound when there is none.
func scanOne[T any](row pgx.Row, scan func(pgx.Row) (*T, error)) (*T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	return v, err
}

// collect reads every row of a query (rows and err, as Query returns them)
// with scan.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (*T, error)) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*T, error) { return scan(r) })
}

// scanAccount reads a row of (id, org_id, created_time).
func scanAccount(row pgx.Row) (*domain.Account, error) {
	var a domain.Account
	var created int64
	if err := row.Scan(&a.ID, &a.OrgID, &created); err != nil {
		return nil, err
	}
	a.CreatedTime = time.UnixMilli(created).UTC()
	return &a, nil
}

// scanUser reads a row of (account, name, created_time).
func scanUser(row pgx.Row) (*domain.User, error) {
	var u domain.User
	var created int64
	if err := row.Scan(&u.Account, &u.Name, &created); err != nil {
		return nil, err
	}
	u.CreatedTime = time.UnixMilli(created).UTC()
	return &u, nil
}

// scanGroup reads a row of (account, name, created_time).
func scanGroup(row pgx.Row) (*domain.Group, error) {
	var g domain.Group
	var created int64
	if err := row.Scan(&g.Account, &g.Name, &created); err != nil {
		return nil, err
	}
	g.CreatedTime = time.UnixMilli(created).UTC()
	return &g, nil
}

// scanAccessKey reads a row of accessKeyColumns.
func scanAccessKey(row pgx.Row) (*domain.AccessKey, error) {
	var k domain.AccessKey
	var active int32
	var created int64
	if err := row.Scan(&k.ID, &k.Account, &k.User, &k.SealedSecret, &active, &created); err != nil {
		return nil, err
	}
	k.Active, k.CreatedTime = active != 0, time.UnixMilli(created).UTC()
	return &k, nil
}

// scanPolicy reads a row of policyColumns.
func scanPolicy(row pgx.Row) (*domain.IdentityPolicy, error) {
	var p domain.IdentityPolicy
	var holder string
	var updated int64
	if err := row.Scan(&p.Account, &holder, &p.HolderName, &p.Name, &p.Document, &updated); err != nil {
		return nil, err
	}
	p.Holder, p.UpdatedTime = domain.PolicyHolder(holder), time.UnixMilli(updated).UTC()
	return &p, nil
}

// flag is a bool as the INTEGER columns that hold one take it: 1 or 0.
func flag(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// sealed is a key's sealed secret as the NOT NULL column takes it.
func sealed(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
