package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// The identities (domain.IdentityStore). The one writer runs one
// transaction at a time, so a check that an account, user or group exists
// still holds when the write after it runs: the foreign keys of the schema
// (migration 0013) only guard it. A method that writes more than one
// statement runs in a savepoint of its own (tx); one that writes one
// statement after its checks needs none (tx1).

// CreateAccount implements domain.Store.
func (s *Store) CreateAccount(ctx context.Context, a *domain.Account) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		return insert(ctx, tx, `INSERT INTO accounts (id, org_id, created_time) VALUES (?, ?, ?)`, a.ID, a.OrgID, ms(a.CreatedTime))
	})
}

// GetAccount implements domain.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (*domain.Account, error) {
	defer startRead(ctx).stop()
	return getAccount(ctx, s.q(ctx), id)
}

// getAccount reads the account id, or ErrNotFound.
func getAccount(ctx context.Context, q querier, id string) (*domain.Account, error) {
	return scanOne(q.QueryRowContext(ctx, `SELECT id, org_id, created_time FROM accounts WHERE id = ?`, id), scanAccount)
}

// ListAccounts implements domain.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]*domain.Account, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT id, org_id, created_time FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanAccount)
}

// UpdateAccount implements domain.Store.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*domain.Account) error) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		a, err := getAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET org_id = ?, created_time = ? WHERE id = ?`, a.OrgID, ms(a.CreatedTime), id)
		return err
	})
}

// CreateUser implements domain.Store.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, u.Account); err != nil {
			return err
		}
		return insert(ctx, tx, `INSERT INTO users (account, name, created_time) VALUES (?, ?, ?)`, u.Account, u.Name, ms(u.CreatedTime))
	})
}

// GetUser implements domain.Store.
func (s *Store) GetUser(ctx context.Context, account, name string) (*domain.User, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT account, name, created_time FROM users WHERE account = ? AND name = ?`, account, name), scanUser)
}

// ListUsers implements domain.Store.
func (s *Store) ListUsers(ctx context.Context, account string) ([]*domain.User, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT account, name, created_time FROM users WHERE account = ? ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanUser)
}

// DeleteUser implements domain.Store: what names the user goes first (its
// keys, policies, memberships, console sessions and console password), the
// user's row last (the foreign keys of its memberships and of its console
// password and sessions refer to it).
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM users WHERE account = ? AND name = ?`, account, name); err != nil {
			return err
		}
		return execAll(ctx, tx, []any{account, name},
			`DELETE FROM access_keys WHERE account = ? AND user_name = ?`,
			`DELETE FROM identity_policies WHERE account = ? AND holder = 'user' AND holder_name = ?`,
			`DELETE FROM group_members WHERE account = ? AND user_name = ?`,
			`DELETE FROM console_sessions WHERE account = ? AND user_name = ?`,
			`DELETE FROM console_passwords WHERE account = ? AND user_name = ?`,
			`DELETE FROM users WHERE account = ? AND name = ?`)
	})
}

// CreateGroup implements domain.Store.
func (s *Store) CreateGroup(ctx context.Context, g *domain.Group) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, g.Account); err != nil {
			return err
		}
		return insert(ctx, tx, `INSERT INTO groups (account, name, created_time) VALUES (?, ?, ?)`, g.Account, g.Name, ms(g.CreatedTime))
	})
}

// ListGroups implements domain.Store.
func (s *Store) ListGroups(ctx context.Context, account string) ([]*domain.Group, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT account, name, created_time FROM groups WHERE account = ? ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanGroup)
}

// DeleteGroup implements domain.Store: its memberships and policies first,
// its row last.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM groups WHERE account = ? AND name = ?`, account, name); err != nil {
			return err
		}
		return execAll(ctx, tx, []any{account, name},
			`DELETE FROM identity_policies WHERE account = ? AND holder = 'group' AND holder_name = ?`,
			`DELETE FROM group_members WHERE account = ? AND group_name = ?`,
			`DELETE FROM groups WHERE account = ? AND name = ?`)
	})
}

// AddGroupMember implements domain.Store.
func (s *Store) AddGroupMember(ctx context.Context, account, group, user string) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM groups g, users u WHERE g.account = ? AND g.name = ? AND u.account = g.account AND u.name = ?`,
			account, group, user); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO group_members (account, group_name, user_name) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, account, group, user)
		return err
	})
}

// RemoveGroupMember implements domain.Store.
func (s *Store) RemoveGroupMember(ctx context.Context, account, group, user string) error {
	return s.execOne(ctx, `DELETE FROM group_members WHERE account = ? AND group_name = ? AND user_name = ?`, account, group, user)
}

// GroupsOf implements domain.Store.
func (s *Store) GroupsOf(ctx context.Context, account, user string) ([]string, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT group_name FROM group_members WHERE account = ? AND user_name = ? ORDER BY group_name`, account, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// CreateAccessKey implements domain.Store.
func (s *Store) CreateAccessKey(ctx context.Context, k *domain.AccessKey) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, k.Account); err != nil {
			return err
		}
		if k.User != "" {
			if err := exists(ctx, tx, `SELECT 1 FROM users WHERE account = ? AND name = ?`, k.Account, k.User); err != nil {
				return err
			}
		}
		return insert(ctx, tx, `INSERT INTO access_keys (id, account, user_name, sealed_secret, active, created_time) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Account, k.User, nonNil(k.SealedSecret), k.Active, ms(k.CreatedTime))
	})
}

// GetAccessKey implements domain.Store.
func (s *Store) GetAccessKey(ctx context.Context, id string) (*domain.AccessKey, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+accessKeyColumns+` FROM access_keys WHERE id = ?`, id), scanAccessKey)
}

// ListAccessKeys implements domain.Store.
func (s *Store) ListAccessKeys(ctx context.Context, account string) ([]*domain.AccessKey, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+accessKeyColumns+` FROM access_keys WHERE account = ? ORDER BY user_name, id`, account)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanAccessKey)
}

// SetAccessKeyActive implements domain.Store.
func (s *Store) SetAccessKeyActive(ctx context.Context, account, id string, active bool) error {
	return s.execOne(ctx, `UPDATE access_keys SET active = ? WHERE account = ? AND id = ?`, active, account, id)
}

// DeleteAccessKey implements domain.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, account, id string) error {
	return s.execOne(ctx, `DELETE FROM access_keys WHERE account = ? AND id = ?`, account, id)
}

// PutIdentityPolicy implements domain.Store.
func (s *Store) PutIdentityPolicy(ctx context.Context, p *domain.IdentityPolicy) error {
	table, ok := holderTables[p.Holder]
	if !ok {
		return domain.ErrNotFound
	}
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM `+table+` WHERE account = ? AND name = ?`, p.Account, p.HolderName); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_policies (account, holder, holder_name, name, document, updated_time)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, holder, holder_name, name)
			DO UPDATE SET document = excluded.document, updated_time = excluded.updated_time`,
			p.Account, string(p.Holder), p.HolderName, p.Name, p.Document, ms(p.UpdatedTime))
		return err
	})
}

// ListIdentityPolicies implements domain.Store. With holderName "" it
// lists every policy of the account, whatever holder asks.
func (s *Store) ListIdentityPolicies(ctx context.Context, account string, holder domain.PolicyHolder, holderName string) ([]*domain.IdentityPolicy, error) {
	defer startRead(ctx).stop()
	query, args := `SELECT `+policyColumns+` FROM identity_policies WHERE account = ?`, []any{account}
	if holderName != "" {
		query, args = query+` AND holder = ? AND holder_name = ?`, append(args, string(holder), holderName)
	}
	rows, err := s.q(ctx).QueryContext(ctx, query+` ORDER BY holder, holder_name, name`, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanPolicy)
}

// DeleteIdentityPolicy implements domain.Store.
func (s *Store) DeleteIdentityPolicy(ctx context.Context, account string, holder domain.PolicyHolder, holderName, name string) error {
	return s.execOne(ctx, `DELETE FROM identity_policies WHERE account = ? AND holder = ? AND holder_name = ? AND name = ?`,
		account, string(holder), holderName, name)
}

// UserPolicies implements domain.Store: one query, so that the user's own
// policies and its groups' are read as of one moment.
func (s *Store) UserPolicies(ctx context.Context, account, user string) ([]*domain.IdentityPolicy, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+policyColumns+` FROM (
			SELECT 0 AS own, `+policyColumns+` FROM identity_policies WHERE account = ? AND holder = 'user' AND holder_name = ?
			UNION ALL
			SELECT 1 AS own, p.account, p.holder, p.holder_name, p.name, p.document, p.updated_time
			FROM group_members m JOIN identity_policies p
				ON p.account = m.account AND p.holder = 'group' AND p.holder_name = m.group_name
			WHERE m.account = ? AND m.user_name = ?)
		ORDER BY own, holder_name, name`, account, user, account, user)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanPolicy)
}

// holderTables names the table of each kind of policy holder.
var holderTables = map[domain.PolicyHolder]string{domain.HolderUser: "users", domain.HolderGroup: "groups"}

// The columns a key and a policy are read from, in scanAccessKey's and
// scanPolicy's order.
const (
	accessKeyColumns = `id, account, user_name, sealed_secret, active, created_time`
	policyColumns    = `account, holder, holder_name, name, document, updated_time`
)

// scanAccount reads a row of (id, org_id, created_time).
func scanAccount(scan func(...any) error) (*domain.Account, error) {
	var a domain.Account
	var created int64
	if err := scan(&a.ID, &a.OrgID, &created); err != nil {
		return nil, err
	}
	a.CreatedTime = time.UnixMilli(created).UTC()
	return &a, nil
}

// scanUser reads a row of (account, name, created_time).
func scanUser(scan func(...any) error) (*domain.User, error) {
	var u domain.User
	var created int64
	if err := scan(&u.Account, &u.Name, &created); err != nil {
		return nil, err
	}
	u.CreatedTime = time.UnixMilli(created).UTC()
	return &u, nil
}

// scanGroup reads a row of (account, name, created_time).
func scanGroup(scan func(...any) error) (*domain.Group, error) {
	var g domain.Group
	var created int64
	if err := scan(&g.Account, &g.Name, &created); err != nil {
		return nil, err
	}
	g.CreatedTime = time.UnixMilli(created).UTC()
	return &g, nil
}

// scanAccessKey reads a row of accessKeyColumns.
func scanAccessKey(scan func(...any) error) (*domain.AccessKey, error) {
	var k domain.AccessKey
	var created int64
	if err := scan(&k.ID, &k.Account, &k.User, &k.SealedSecret, &k.Active, &created); err != nil {
		return nil, err
	}
	k.CreatedTime = time.UnixMilli(created).UTC()
	return &k, nil
}

// scanPolicy reads a row of policyColumns.
func scanPolicy(scan func(...any) error) (*domain.IdentityPolicy, error) {
	var p domain.IdentityPolicy
	var updated int64
	if err := scan(&p.Account, &p.Holder, &p.HolderName, &p.Name, &p.Document, &updated); err != nil {
		return nil, err
	}
	p.UpdatedTime = time.UnixMilli(updated).UTC()
	return &p, nil
}

// exists returns ErrNotFound unless query selects a row.
func exists(ctx context.Context, q querier, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ErrNotFound
	}
	return err
}

// insert runs an INSERT; a duplicate key is ErrConflict.
func insert(ctx context.Context, tx *wtx, query string, args ...any) error {
	_, err := tx.ExecContext(ctx, query, args...)
	if isUniqueViolation(err) {
		return domain.ErrConflict
	}
	return err
}

// execAll runs each statement with args, in order, until one fails.
func execAll(ctx context.Context, tx *wtx, args []any, queries ...string) error {
	for _, q := range queries {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// nonNil returns b, or an empty slice for nil, as the NOT NULL BLOB columns
// (a key's sealed secret, a console password's hash) take it.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
