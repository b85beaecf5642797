package domain

import (
	"context"
	"time"
)

// Account is an account that incidentd knows of: its users, groups, keys
// and identity-based policies are kept under its id. An account's incident
// data (replication set, plans, records) needs no Account; identities do.
type Account struct {
	ID string // 12 digits
	// OrgID is the organisation the account belongs to, the value of the
	// condition key aws:PrincipalOrgID for its principals; "" for none.
	OrgID       string
	CreatedTime time.Time
}

// User is an IAM-style user of an account, arn:aws:iam::ACCOUNT:user/NAME.
type User struct {
	Account     string
	Name        string
	CreatedTime time.Time
}

// Group is a group of users of an account; the identity-based policies
// attached to it apply to each of its members.
type Group struct {
	Account     string
	Name        string
	CreatedTime time.Time
}

// AccessKey is an access key of an account's root (User "") or of one of
// its users.
type AccessKey struct {
	ID      string
	Account string
	User    string // "" for the account's root
	// SealedSecret is the secret access key, encrypted with a key kept
	// outside the store: the store never holds the secret itself.
	SealedSecret []byte
	Active       bool
	CreatedTime  time.Time
}

// PolicyHolder is what an identity-based policy is attached to.
type PolicyHolder string

// The holders of identity-based policies.
const (
	HolderUser  PolicyHolder = "user"
	HolderGroup PolicyHolder = "group"
)

// IdentityPolicy is an inline identity-based policy, attached by name to a
// user or a group of an account.
type IdentityPolicy struct {
	Account     string
	Holder      PolicyHolder
	HolderName  string // the user's or group's name
	Name        string // the policy's name, unique per holder
	Document    string // the JSON document as given
	UpdatedTime time.Time
}

// IdentityStore keeps accounts, users, groups, access keys and
// identity-based policies. Every method that writes is durable when it
// returns nil, and atomic: a failed call changes nothing. Each is a
// transaction of its own, or part of the caller's when made inside
// Store.Tx. ErrNotFound and ErrConflict (possibly wrapped) answer a missing
// or duplicate entity. None of it is account data that DeleteAccountData
// removes: deleting a replication set keeps the account's identities.
//
// Reads see every write committed before they start, on every process of
// one database: a key deactivated or deleted is refused by the next lookup
// anywhere (a process that caches lookups bounds how long it keeps them).
type IdentityStore interface {
	// CreateAccount stores a; ErrConflict when its id is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// GetAccount returns the account or ErrNotFound.
	GetAccount(ctx context.Context, id string) (*Account, error)
	// ListAccounts returns every account, by id.
	ListAccounts(ctx context.Context) ([]*Account, error)
	// UpdateAccount applies fn to the account (its id is kept) in one
	// transaction; ErrNotFound when there is none, fn's error when it
	// fails (nothing written).
	UpdateAccount(ctx context.Context, id string, fn func(*Account) error) error

	// CreateUser stores u; ErrNotFound when its account does not exist,
	// ErrConflict when the name is taken in the account (names compare
	// exactly).
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user or ErrNotFound.
	GetUser(ctx context.Context, account, name string) (*User, error)
	// ListUsers returns the account's users, by name.
	ListUsers(ctx context.Context, account string) ([]*User, error)
	// DeleteUser removes the user with its access keys, its policies and
	// its group memberships; ErrNotFound when there is no such user.
	DeleteUser(ctx context.Context, account, name string) error

	// CreateGroup stores g; ErrNotFound when its account does not exist,
	// ErrConflict when the name is taken in the account.
	CreateGroup(ctx context.Context, g *Group) error
	// ListGroups returns the account's groups, by name.
	ListGroups(ctx context.Context, account string) ([]*Group, error)
	// DeleteGroup removes the group with its policies and memberships (not
	// its users); ErrNotFound when there is no such group.
	DeleteGroup(ctx context.Context, account, name string) error
	// AddGroupMember makes the user a member of the group (a member already
	// stays one); ErrNotFound when the user or the group does not exist.
	AddGroupMember(ctx context.Context, account, group, user string) error
	// RemoveGroupMember ends a membership; ErrNotFound when the user is no
	// member of the group.
	RemoveGroupMember(ctx context.Context, account, group, user string) error
	// GroupsOf returns the names of the groups the user is a member of, by name.
	GroupsOf(ctx context.Context, account, user string) ([]string, error)

	// CreateAccessKey stores k; ErrConflict when its id is taken (in any
	// account), ErrNotFound when its account, or its user when it names
	// one, does not exist.
	CreateAccessKey(ctx context.Context, k *AccessKey) error
	// GetAccessKey returns the key, active or not, or ErrNotFound.
	GetAccessKey(ctx context.Context, id string) (*AccessKey, error)
	// ListAccessKeys returns the account's keys, by user ("" the root's
	// first) then id.
	ListAccessKeys(ctx context.Context, account string) ([]*AccessKey, error)
	// SetAccessKeyActive activates or deactivates the account's key;
	// ErrNotFound when the account has no key of that id.
	SetAccessKeyActive(ctx context.Context, account, id string, active bool) error
	// DeleteAccessKey removes the account's key; ErrNotFound when the
	// account has no key of that id.
	DeleteAccessKey(ctx context.Context, account, id string) error

	// PutIdentityPolicy stores p, replacing the holder's policy of the same
	// name; ErrNotFound when the holder does not exist.
	PutIdentityPolicy(ctx context.Context, p *IdentityPolicy) error
	// ListIdentityPolicies returns the policies of one holder (holderName
	// non-empty) or of every holder of the account (holderName ""), by
	// holder kind, holder name, then policy name.
	ListIdentityPolicies(ctx context.Context, account string, holder PolicyHolder, holderName string) ([]*IdentityPolicy, error)
	// DeleteIdentityPolicy removes one policy of a holder; ErrNotFound when
	// it has none of that name.
	DeleteIdentityPolicy(ctx context.Context, account string, holder PolicyHolder, holderName, name string) error
	// UserPolicies returns every policy that applies to the user: its own,
	// then those of its groups, each list by holder name and policy name.
	UserPolicies(ctx context.Context, account, user string) ([]*IdentityPolicy, error)
}
