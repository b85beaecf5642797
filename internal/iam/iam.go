// Package iam manages who may call incidentd: accounts, their users and
// groups, access keys, and the identity-based policies attached to users
// and groups, all kept in the store so that every node sees them. It
// answers the transport's key lookups and the service's questions about a
// caller's policies, from a cache whose entries live at most CacheTTL.
//
// Secret access keys are kept sealed (package secrets) with a key held
// outside the database: SigV4 needs the secret itself to verify a
// signature, so it cannot be kept hashed, and a stolen database alone
// reveals none.
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/policy"
	"github.com/incidentd/incidentd/internal/secrets"
)

// CacheTTL bounds how long a node goes on using what it read of keys,
// policies and organisations: a key deactivated or deleted, or a policy
// changed, on another node or by `incidentd admin` on the database, takes
// effect here within CacheTTL. A change made through this Directory takes
// effect here at once.
const CacheTTL = time.Second

// The kinds of entities in errors.
const (
	ResourceAccount   domain.ResourceType = "ACCOUNT"
	ResourceUser      domain.ResourceType = "USER"
	ResourceGroup     domain.ResourceType = "GROUP"
	ResourceAccessKey domain.ResourceType = "ACCESS_KEY"
	ResourcePolicy    domain.ResourceType = "POLICY"
)

// Key is an access key and the identity it stands for.
type Key struct {
	ID              string
	SecretAccessKey string
	Account         string
	User            string // "" for the account's root
	Principal       string // arn:aws:iam::ACCOUNT:root or …:user/NAME
	// ActsAsRoot is set for the bootstrap keys: they are authorized as
	// their account's root, whatever Principal names.
	ActsAsRoot bool
}

// Directory is the accounts, users, groups, keys and identity-based
// policies of a store.
type Directory struct {
	store   domain.Store
	secrets *secrets.Key
	now     func() time.Time
	// bootstrap are the keys given at start (environment, credentials
	// file): they are not in the store, and always valid.
	bootstrap map[string]Key

	keys     cache[Key]
	policies cache[[]*policy.Policy]
	orgs     cache[string]
}

// New returns the Directory of store, sealing and opening secrets with
// sk, that also knows the bootstrap keys. now may be nil (time.Now).
func New(store domain.Store, sk *secrets.Key, bootstrap map[string]Key, now func() time.Time) *Directory {
	if now == nil {
		now = time.Now
	}
	return &Directory{store: store, secrets: sk, now: now, bootstrap: bootstrap}
}

// UserPrincipal is the principal ARN of a user.
func UserPrincipal(account, name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// RootPrincipal is the principal ARN of an account's root.
func RootPrincipal(account string) string { return "arn:aws:iam::" + account + ":root" }

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// nameRE is IAM's form of user and group names.
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	orgIDRE = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	// policyNameRE is IAM's form of policy names.
	policyNameRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,128}$`)
)

func checkAccount(id string) error {
	if !accountRE.MatchString(id) {
		return domain.Invalid("The account id %q is not 12 digits.", id)
	}
	return nil
}

func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return domain.Invalid("The %s name %q is not valid: use 1 to 64 letters, digits and + = , . @ _ -.", what, name)
	}
	return nil
}

// accountNotFound answers a missing account.
func accountNotFound(id string) error {
	return domain.NotFound(ResourceAccount, id, "Account %s does not exist: create it first (incidentd admin accounts create --account-id %s).", id, id)
}

func userNotFound(account, name string) error {
	return domain.NotFound(ResourceUser, UserPrincipal(account, name), "User %s does not exist in account %s.", name, account)
}

// requireAccount fails unless the account exists.
func (d *Directory) requireAccount(ctx context.Context, id string) error {
	if err := checkAccount(id); err != nil {
		return err
	}
	_, err := d.store.GetAccount(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return accountNotFound(id)
	}
	return err
}

// CreateAccount adds an account, in the organisation org ("" for none).
func (d *Directory) CreateAccount(ctx context.Context, id, org string) (*domain.Account, error) {
	if err := checkAccount(id); err != nil {
		return nil, err
	}
	if org != "" && !orgIDRE.MatchString(org) {
		return nil, domain.Invalid("The organisation id %q is not valid: use o- and 10 to 32 lower-case letters and digits.", org)
	}
	a := &domain.Account{ID: id, OrgID: org, CreatedTime: d.now().UTC()}
	err := d.store.CreateAccount(ctx, a)
	if errors.Is(err, domain.ErrConflict) {
		return nil, domain.Conflict(ResourceAccount, id, "Account %s exists already.", id)
	}
	if err != nil {
		return nil, err
	}
	d.orgs.forget(id)
	return a, nil
}

// EnsureAccount adds the account when it does not exist yet: the accounts
// of the keys given at start exist without an admin command.
func (d *Directory) EnsureAccount(ctx context.Context, id string) error {
	if _, err := d.store.GetAccount(ctx, id); !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	err := d.store.CreateAccount(ctx, &domain.Account{ID: id, CreatedTime: d.now().UTC()})
	if errors.Is(err, domain.ErrConflict) {
		return nil
	}
	return err
}

// SetOrganization sets the organisation of an account ("" for none).
func (d *Directory) SetOrganization(ctx context.Context, id, org string) error {
	if err := checkAccount(id); err != nil {
		return err
	}
	if org != "" && !orgIDRE.MatchString(org) {
		return domain.Invalid("The organisation id %q is not valid: use o- and 10 to 32 lower-case letters and digits.", org)
	}
	err := d.store.UpdateAccount(ctx, id, func(a *domain.Account) error {
		a.OrgID = org
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return accountNotFound(id)
	}
	d.orgs.forget(id)
	return err
}

// ListAccounts returns every account.
func (d *Directory) ListAccounts(ctx context.Context) ([]*domain.Account, error) {
	return d.store.ListAccounts(ctx)
}

// CreateUser adds a user to an account.
func (d *Directory) CreateUser(ctx context.Context, account, name string) (*domain.User, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	if err := checkName("user", name); err != nil {
		return nil, err
	}
	u := &domain.User{Account: account, Name: name, CreatedTime: d.now().UTC()}
	switch err := d.store.CreateUser(ctx, u); {
	case errors.Is(err, domain.ErrNotFound):
		return nil, accountNotFound(account)
	case errors.Is(err, domain.ErrConflict):
		return nil, domain.Conflict(ResourceUser, UserPrincipal(account, name), "User %s exists already in account %s.", name, account)
	case err != nil:
		return nil, err
	}
	return u, nil
}

// ListUsers returns the users of an account.
func (d *Directory) ListUsers(ctx context.Context, account string) ([]*domain.User, error) {
	if err := d.requireAccount(ctx, account); err != nil {
		return nil, err
	}
	return d.store.ListUsers(ctx, account)
}

// DeleteUser removes a user with its keys, policies and memberships; its
// keys stop working at once on this node.
func (d *Directory) DeleteUser(ctx context.Context, account, name string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	err := d.store.DeleteUser(ctx, account, name)
	if errors.Is(err, domain.ErrNotFound) {
		return userNotFound(account, name)
	}
	d.keys.clear()
	d.policies.clear()
	return err
}

// CreateGroup adds a group to an account.
func (d *Directory) CreateGroup(ctx context.Context, account, name string) (*domain.Group, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	if err := checkName("group", name); err != nil {
		return nil, err
	}
	g := &domain.Group{Account: account, Name: name, CreatedTime: d.now().UTC()}
	switch err := d.store.CreateGroup(ctx, g); {
	case errors.Is(err, domain.ErrNotFound):
		return nil, accountNotFound(account)
	case errors.Is(err, domain.ErrConflict):
		return nil, domain.Conflict(ResourceGroup, name, "Group %s exists already in account %s.", name, account)
	case err != nil:
		return nil, err
	}
	return g, nil
}

// ListGroups returns the groups of an account.
func (d *Directory) ListGroups(ctx context.Context, account string) ([]*domain.Group, error) {
	if err := d.requireAccount(ctx, account); err != nil {
		return nil, err
	}
	return d.store.ListGroups(ctx, account)
}

// DeleteGroup removes a group with its policies (not its users).
func (d *Directory) DeleteGroup(ctx context.Context, account, name string) error {
	err := d.store.DeleteGroup(ctx, account, name)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NotFound(ResourceGroup, name, "Group %s does not exist in account %s.", name, account)
	}
	d.policies.clear()
	return err
}

// AddToGroup makes a user a member of a group.
func (d *Directory) AddToGroup(ctx context.Context, account, group, user string) error {
	err := d.store.AddGroupMember(ctx, account, group, user)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NotFound(ResourceGroup, group, "Group %s or user %s does not exist in account %s.", group, user, account)
	}
	d.policies.clear()
	return err
}

// RemoveFromGroup ends a user's membership of a group.
func (d *Directory) RemoveFromGroup(ctx context.Context, account, group, user string) error {
	err := d.store.RemoveGroupMember(ctx, account, group, user)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NotFound(ResourceGroup, group, "User %s is no member of group %s in account %s.", user, group, account)
	}
	d.policies.clear()
	return err
}

// GroupsOf returns the groups a user is a member of.
func (d *Directory) GroupsOf(ctx context.Context, account, user string) ([]string, error) {
	return d.store.GroupsOf(ctx, account, user)
}

// accessKeyAlphabet and secretAlphabet are those of AWS's access key ids
// (after their AKIA prefix) and secret access keys.
const (
	accessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// RandomString is n bytes of alphabet drawn at random, from the system's
// source of randomness.
func RandomString(alphabet string, n int) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// sealContext binds a sealed secret to its key id: a sealed secret copied
// to another key's row does not open there.
func sealContext(id string) []byte { return []byte("access-key " + id) }

// CreateKey makes a new active access key for a user of account, or for
// its root when user is "", and returns it with its secret: the only time
// the secret is shown.
func (d *Directory) CreateKey(ctx context.Context, account, user string) (*Key, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	if d.secrets == nil {
		return nil, errors.New("no secrets key: access keys cannot be created")
	}
	k := &Key{ID: "AKIA" + RandomString(accessKeyAlphabet, 16), SecretAccessKey: RandomString(secretAlphabet, 40),
		Account: account, User: user, Principal: RootPrincipal(account)}
	if user != "" {
		k.Principal = UserPrincipal(account, user)
	}
	stored := &domain.AccessKey{ID: k.ID, Account: account, User: user, Active: true, CreatedTime: d.now().UTC(),
		SealedSecret: d.secrets.Seal([]byte(k.SecretAccessKey), sealContext(k.ID))}
	switch err := d.store.CreateAccessKey(ctx, stored); {
	case errors.Is(err, domain.ErrNotFound) && user != "":
		if err := d.requireAccount(ctx, account); err != nil {
			return nil, err
		}
		return nil, userNotFound(account, user)
	case errors.Is(err, domain.ErrNotFound):
		return nil, accountNotFound(account)
	case err != nil:
		return nil, err
	}
	d.keys.forget(k.ID)
	return k, nil
}

// ListKeys returns the access keys of an account, without their secrets.
func (d *Directory) ListKeys(ctx context.Context, account string) ([]*domain.AccessKey, error) {
	if err := d.requireAccount(ctx, account); err != nil {
		return nil, err
	}
	return d.store.ListAccessKeys(ctx, account)
}

func keyNotFound(account, id string) error {
	return domain.NotFound(ResourceAccessKey, id, "Account %s has no access key %s.", account, id)
}

// SetKeyActive activates or deactivates a key of account; a deactivated
// key is refused at once on this node, within CacheTTL on the others.
func (d *Directory) SetKeyActive(ctx context.Context, account, id string, active bool) error {
	err := d.store.SetAccessKeyActive(ctx, account, id, active)
	if errors.Is(err, domain.ErrNotFound) {
		return keyNotFound(account, id)
	}
	d.keys.forget(id)
	return err
}

// DeleteKey removes a key of account, refused at once on this node.
func (d *Directory) DeleteKey(ctx context.Context, account, id string) error {
	err := d.store.DeleteAccessKey(ctx, account, id)
	if errors.Is(err, domain.ErrNotFound) {
		return keyNotFound(account, id)
	}
	d.keys.forget(id)
	return err
}

// LookupKey returns the active key of that id, from the bootstrap keys or
// the store; ok is false for an unknown or inactive key.
func (d *Directory) LookupKey(ctx context.Context, id string) (Key, bool, error) {
	if k, ok := d.bootstrap[id]; ok {
		k.ActsAsRoot = true
		return k, true, nil
	}
	k, ok, err := d.keys.get(d.now(), id, func() (Key, bool, error) { return d.readKey(ctx, id) })
	return k, ok, err
}

// readKey reads a key from the store and opens its secret.
func (d *Directory) readKey(ctx context.Context, id string) (Key, bool, error) {
	stored, err := d.store.GetAccessKey(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, err
	}
	if !stored.Active {
		return Key{}, false, nil
	}
	if d.secrets == nil {
		return Key{}, false, fmt.Errorf("access key %s: no secrets key to open it", id)
	}
	secret, err := d.secrets.Open(stored.SealedSecret, sealContext(id))
	if err != nil {
		return Key{}, false, fmt.Errorf("access key %s: %w", id, err)
	}
	k := Key{ID: id, SecretAccessKey: string(secret), Account: stored.Account, User: stored.User, Principal: RootPrincipal(stored.Account)}
	if stored.User != "" {
		k.Principal = UserPrincipal(stored.Account, stored.User)
	}
	return k, true, nil
}

// CheckSecretsKey fails when the store holds an access key that the
// secrets key does not open: the nodes of one database must share one
// secrets key. It opens every key (a few microseconds each).
func (d *Directory) CheckSecretsKey(ctx context.Context) error {
	accounts, err := d.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		keys, err := d.store.ListAccessKeys(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if d.secrets == nil {
				return fmt.Errorf("the database holds access keys (%s) but no secrets key is given", k.ID)
			}
			if _, err := d.secrets.Open(k.SealedSecret, sealContext(k.ID)); err != nil {
				return fmt.Errorf("the secrets key does not open access key %s of the database: give every node of one database the same secrets key (--secrets-key-file or INCIDENTD_SECRETS_KEY)", k.ID)
			}
		}
	}
	return nil
}

// MinPasswordLength is the shortest console password accepted.
const MinPasswordLength = 12

// SetConsolePassword sets the password the user signs in to the web
// console with, kept as a bcrypt hash, and ends the user's sessions.
func (d *Directory) SetConsolePassword(ctx context.Context, account, user, password string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if len(password) < MinPasswordLength || len(password) > 72 {
		return domain.Invalid("A console password has %d to 72 characters (bcrypt reads no more).", MinPasswordLength)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	err = d.store.SetConsolePassword(ctx, account, user, hash)
	if errors.Is(err, domain.ErrNotFound) {
		return userNotFound(account, user)
	}
	return err
}

// PutPolicy attaches the identity-based policy doc, under name, to a user
// or a group, replacing the holder's policy of that name. The document
// must be a valid identity-based policy: no Principal, only condition
// operators incidentd knows.
func (d *Directory) PutPolicy(ctx context.Context, account string, holder domain.PolicyHolder, holderName, name, doc string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if !policyNameRE.MatchString(name) {
		return domain.Invalid("The policy name %q is not valid: use 1 to 128 letters, digits and + = , . @ _ -.", name)
	}
	if _, err := ParseIdentityPolicy(doc); err != nil {
		return err
	}
	p := &domain.IdentityPolicy{Account: account, Holder: holder, HolderName: holderName, Name: name, Document: doc, UpdatedTime: d.now().UTC()}
	err := d.store.PutIdentityPolicy(ctx, p)
	if errors.Is(err, domain.ErrNotFound) {
		kind := ResourceUser
		if holder == domain.HolderGroup {
			kind = ResourceGroup
		}
		return domain.NotFound(kind, holderName, "The %s %s does not exist in account %s.", holder, holderName, account)
	}
	d.policies.clear()
	return err
}

// ParseIdentityPolicy reads an identity-based policy document, refusing
// what AWS refuses of one, and condition operators incidentd does not know
// (AWS would let such a policy deny; refusing it at once is clearer).
func ParseIdentityPolicy(doc string) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, domain.Invalid("Invalid policy document: %v", err)
	}
	if err := p.CheckIdentity(); err != nil {
		return nil, domain.Invalid("Invalid policy document: %v", err)
	}
	if ops := p.UnknownOperators(); len(ops) > 0 {
		return nil, domain.Invalid("Invalid policy document: unknown condition operators %s.", strings.Join(ops, ", "))
	}
	return p, nil
}

// ListPolicies returns the policies of a holder, or of every holder of the
// account when holderName is "".
func (d *Directory) ListPolicies(ctx context.Context, account string, holder domain.PolicyHolder, holderName string) ([]*domain.IdentityPolicy, error) {
	if err := d.requireAccount(ctx, account); err != nil {
		return nil, err
	}
	return d.store.ListIdentityPolicies(ctx, account, holder, holderName)
}

// DeletePolicy removes a policy of a holder.
func (d *Directory) DeletePolicy(ctx context.Context, account string, holder domain.PolicyHolder, holderName, name string) error {
	err := d.store.DeleteIdentityPolicy(ctx, account, holder, holderName, name)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NotFound(ResourcePolicy, name, "The %s %s of account %s has no policy %s.", holder, holderName, account, name)
	}
	d.policies.clear()
	return err
}

// Policies returns the identity-based policies of principal, a user of
// account (those of the user and of its groups), parsed; none for a root
// or a principal that is no user of the store.
func (d *Directory) Policies(ctx context.Context, account, principal string) ([]*policy.Policy, error) {
	name, ok := strings.CutPrefix(principal, "arn:aws:iam::"+account+":user/")
	if !ok || !nameRE.MatchString(name) {
		return nil, nil
	}
	ps, _, err := d.policies.get(d.now(), principal, func() ([]*policy.Policy, bool, error) {
		stored, err := d.store.UserPolicies(ctx, account, name)
		if err != nil {
			return nil, false, err
		}
		out := make([]*policy.Policy, 0, len(stored))
		for _, sp := range stored {
			p, err := policy.Parse([]byte(sp.Document))
			if err != nil {
				// Put checked it: a document that no longer parses
				// allows nothing.
				continue
			}
			p.Name = string(sp.Holder) + "/" + sp.HolderName + "/" + sp.Name
			out = append(out, p)
		}
		return out, true, nil
	})
	return ps, err
}

// OrgID returns the organisation of an account, "" for none.
func (d *Directory) OrgID(ctx context.Context, account string) (string, error) {
	org, _, err := d.orgs.get(d.now(), account, func() (string, bool, error) {
		a, err := d.store.GetAccount(ctx, account)
		if errors.Is(err, domain.ErrNotFound) {
			return "", true, nil
		}
		if err != nil {
			return "", false, err
		}
		return a.OrgID, true, nil
	})
	return org, err
}

// cache keeps values by key for CacheTTL; lookups that fail are not kept.
// A value read while the cache is told of a change (forget, clear) is not
// kept: it may predate the change.
type cache[V any] struct {
	mu  sync.Mutex
	m   map[string]cached[V]
	gen uint64 // counts the changes the cache was told of
}

type cached[V any] struct {
	v     V
	ok    bool
	until time.Time
}

// maxCached bounds a cache: past it, it starts again empty, so that
// lookups of ever new keys (of unknown access key ids) cannot grow it.
const maxCached = 100000

func (c *cache[V]) get(now time.Time, key string, load func() (V, bool, error)) (V, bool, error) {
	c.mu.Lock()
	e, hit := c.m[key]
	gen := c.gen
	c.mu.Unlock()
	if hit && now.Before(e.until) {
		return e.v, e.ok, nil
	}
	v, ok, err := load()
	if err != nil {
		return v, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return v, ok, nil
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cached[V]{}
	}
	c.m[key] = cached[V]{v: v, ok: ok, until: now.Add(CacheTTL)}
	return v, ok, nil
}

func (c *cache[V]) forget(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.gen++
	c.mu.Unlock()
}

func (c *cache[V]) clear() {
	c.mu.Lock()
	c.m = nil
	c.gen++
	c.mu.Unlock()
}
