package iam

import (
	"context"
	"fmt"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Args are the arguments of an admin command; each command reads those it
// needs.
type Args struct {
	AccountID   string `json:"accountId,omitempty"`
	OrgID       string `json:"orgId,omitempty"`
	Name        string `json:"name,omitempty"`  // of a user or group to create or delete
	User        string `json:"user,omitempty"`  // a key's or policy's user, a group's member
	Group       string `json:"group,omitempty"` // a policy's group, or the group of add-user, remove-user
	AccessKeyID string `json:"accessKeyId,omitempty"`
	PolicyName  string `json:"policyName,omitempty"`
	Document    string `json:"document,omitempty"`
	// Password is the console password of users set-password.
	Password string `json:"password,omitempty"`
}

// Commands are the admin commands, by kind then verb, as `incidentd admin
// KIND VERB` and the admin API name them.
var Commands = map[string][]string{
	"accounts": {"create", "list", "set-org"},
	"users":    {"create", "list", "delete", "set-password"},
	"groups":   {"create", "list", "delete", "add-user", "remove-user"},
	"keys":     {"create", "list", "activate", "deactivate", "delete"},
	"policies": {"put", "list", "delete"},
}

// Run carries out the admin command kind verb and returns what it shows:
// a JSON object, or nil for a command that shows nothing.
func (d *Directory) Run(ctx context.Context, kind, verb string, a Args) (any, error) {
	holder, holderName := domain.HolderUser, a.User
	if a.Group != "" {
		holder, holderName = domain.HolderGroup, a.Group
	}
	if kind == "policies" && a.User != "" && a.Group != "" {
		return nil, domain.Invalid("A policy is attached to a user or to a group: name one of them, not both.")
	}
	switch kind + " " + verb {
	case "accounts create":
		acct, err := d.CreateAccount(ctx, a.AccountID, a.OrgID)
		if err != nil {
			return nil, err
		}
		return accountView(acct), nil
	case "accounts list":
		accts, err := d.ListAccounts(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(accts))
		for _, acct := range accts {
			out = append(out, accountView(acct))
		}
		return map[string]any{"Accounts": out}, nil
	case "accounts set-org":
		org := a.OrgID
		switch org {
		case "":
			return nil, domain.Invalid("Name the organisation (orgId o-…), or none to take the account out of its organisation.")
		case "none":
			org = ""
		}
		return nil, d.SetOrganization(ctx, a.AccountID, org)
	case "users create":
		u, err := d.CreateUser(ctx, a.AccountID, a.Name)
		if err != nil {
			return nil, err
		}
		return userView(u, nil), nil
	case "users list":
		users, err := d.ListUsers(ctx, a.AccountID)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(users))
		for _, u := range users {
			groups, err := d.GroupsOf(ctx, u.Account, u.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, userView(u, groups))
		}
		return map[string]any{"Users": out}, nil
	case "users delete":
		return nil, d.DeleteUser(ctx, a.AccountID, a.Name)
	case "users set-password":
		return nil, d.SetConsolePassword(ctx, a.AccountID, a.Name, a.Password)
	case "groups create":
		g, err := d.CreateGroup(ctx, a.AccountID, a.Name)
		if err != nil {
			return nil, err
		}
		return groupView(g), nil
	case "groups list":
		groups, err := d.ListGroups(ctx, a.AccountID)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(groups))
		for _, g := range groups {
			out = append(out, groupView(g))
		}
		return map[string]any{"Groups": out}, nil
	case "groups delete":
		return nil, d.DeleteGroup(ctx, a.AccountID, a.Name)
	case "groups add-user":
		return nil, d.AddToGroup(ctx, a.AccountID, a.Group, a.User)
	case "groups remove-user":
		return nil, d.RemoveFromGroup(ctx, a.AccountID, a.Group, a.User)
	case "keys create":
		k, err := d.CreateKey(ctx, a.AccountID, a.User)
		if err != nil {
			return nil, err
		}
		return map[string]string{"AccessKeyId": k.ID, "SecretAccessKey": k.SecretAccessKey, "AccountId": k.Account, "Principal": k.Principal}, nil
	case "keys list":
		keys, err := d.ListKeys(ctx, a.AccountID)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(keys))
		for _, k := range keys {
			out = append(out, keyView(k))
		}
		return map[string]any{"AccessKeys": out}, nil
	case "keys activate", "keys deactivate":
		return nil, d.SetKeyActive(ctx, a.AccountID, a.AccessKeyID, verb == "activate")
	case "keys delete":
		return nil, d.DeleteKey(ctx, a.AccountID, a.AccessKeyID)
	case "policies put":
		if holderName == "" {
			return nil, domain.Invalid("Name the user or the group the policy is attached to.")
		}
		return nil, d.PutPolicy(ctx, a.AccountID, holder, holderName, a.PolicyName, a.Document)
	case "policies list":
		if holderName == "" {
			holder = ""
		}
		ps, err := d.ListPolicies(ctx, a.AccountID, holder, holderName)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(ps))
		for _, p := range ps {
			out = append(out, policyView(p))
		}
		return map[string]any{"Policies": out}, nil
	case "policies delete":
		if holderName == "" {
			return nil, domain.Invalid("Name the user or the group the policy is attached to.")
		}
		return nil, d.DeletePolicy(ctx, a.AccountID, holder, holderName, a.PolicyName)
	}
	return nil, domain.Invalid("%s", fmt.Sprintf("There is no admin command %q %q.", kind, verb))
}

func accountView(a *domain.Account) map[string]any {
	return map[string]any{"AccountId": a.ID, "OrgId": a.OrgID, "CreateDate": a.CreatedTime.Format(time.RFC3339)}
}

func userView(u *domain.User, groups []string) map[string]any {
	m := map[string]any{"UserName": u.Name, "AccountId": u.Account, "Arn": UserPrincipal(u.Account, u.Name), "CreateDate": u.CreatedTime.Format(time.RFC3339)}
	if groups != nil {
		m["Groups"] = groups
	}
	return m
}

func groupView(g *domain.Group) map[string]any {
	return map[string]any{"GroupName": g.Name, "AccountId": g.Account, "CreateDate": g.CreatedTime.Format(time.RFC3339)}
}

func keyView(k *domain.AccessKey) map[string]any {
	status := "Inactive"
	if k.Active {
		status = "Active"
	}
	principal := RootPrincipal(k.Account)
	if k.User != "" {
		principal = UserPrincipal(k.Account, k.User)
	}
	return map[string]any{"AccessKeyId": k.ID, "AccountId": k.Account, "UserName": k.User, "Principal": principal,
		"Status": status, "CreateDate": k.CreatedTime.Format(time.RFC3339)}
}

func policyView(p *domain.IdentityPolicy) map[string]any {
	m := map[string]any{"PolicyName": p.Name, "AccountId": p.Account, "PolicyDocument": p.Document, "UpdateDate": p.UpdatedTime.Format(time.RFC3339)}
	if p.Holder == domain.HolderGroup {
		m["GroupName"] = p.HolderName
	} else {
		m["UserName"] = p.HolderName
	}
	return m
}
