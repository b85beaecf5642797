package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/policy"
	"github.com/incidentd/incidentd/internal/service"
)

// adminOptions are the flags of incidentd admin.
type adminOptions struct {
	accountID, orgID, name, user, group, accessKeyID string
	policyName, document                             string
	principal, action, resource, sourceIP            string
}

func adminFlags(fs *flag.FlagSet, o *options) {
	dataFlags(fs, o)
	databaseFlag(fs, o)
	secretsFlag(fs, o)
	a := &o.admin
	fs.StringVar(&a.accountID, "account-id", "", "the 12-digit `ID` of the account to act in")
	fs.StringVar(&a.orgID, "org-id", "", "the organisation `ID` (o-…) of the account, the value of aws:PrincipalOrgID for its principals (accounts create, set-org; set-org none: no organisation)")
	fs.StringVar(&a.name, "name", "", "the `NAME` of the user or group to create or delete")
	fs.StringVar(&a.user, "user", "", "the user `NAME` a key or policy is for (keys create without it: a root key), or to add to or remove from a group")
	fs.StringVar(&a.group, "group", "", "the group `NAME` a policy is attached to, or a user added to or removed from")
	fs.StringVar(&a.accessKeyID, "access-key-id", "", "the access key `ID` to activate, deactivate or delete")
	fs.StringVar(&a.policyName, "policy-name", "", "the `NAME` of the identity-based policy to put or delete")
	fs.StringVar(&a.document, "document", "", "the policy document: IAM policy `JSON`, or file://PATH to read it from a file")
	fs.StringVar(&a.principal, "principal", "", "explain: the principal `ARN` (arn:aws:iam::ACCOUNT:root or …:user/NAME)")
	fs.StringVar(&a.action, "action", "", "explain: the `ACTION`, ssm-incidents:OPERATION")
	fs.StringVar(&a.resource, "resource", "*", "explain: the resource `ARN`")
	fs.StringVar(&a.sourceIP, "source-ip", "", "explain: the `ADDRESS` the request would come from (aws:SourceIp)")
}

// secretsFlag is the flag of the key that seals secret access keys.
func secretsFlag(fs *flag.FlagSet, o *options) {
	o.SecretsKey = os.Getenv("INCIDENTD_SECRETS_KEY")
	fs.StringVar(&o.SecretsKeyFile, "secrets-key-file", "", "`FILE` of the key (32 bytes, base64) that seals the secret access keys kept in the database; every node of one database needs the same (else $INCIDENTD_SECRETS_KEY, else secrets.key, generated in the data directory)")
}

// checkAdmin checks the arguments of incidentd admin.
func checkAdmin(o *options) error {
	kind := o.args[0]
	verbs, ok := iam.Commands[kind]
	if !ok && kind != "explain" {
		return fmt.Errorf("admin manages accounts, users, groups, keys or policies, or explains a decision (explain), not %q", kind)
	}
	a := o.admin
	if kind == "explain" {
		if len(o.args) != 1 {
			return errors.New("admin explain takes flags only")
		}
		if a.principal == "" || a.action == "" {
			return errors.New("admin explain needs --principal ARN and --action ssm-incidents:OPERATION (and --resource ARN)")
		}
		return nil
	}
	if len(o.args) != 2 || !slices.Contains(verbs, o.args[1]) {
		return fmt.Errorf("admin %s does %s", kind, strings.Join(verbs, ", "))
	}
	verb := o.args[1]
	need := func(flag, value string) error {
		if value == "" {
			return fmt.Errorf("admin %s %s needs %s", kind, verb, flag)
		}
		return nil
	}
	if kind != "accounts" || verb != "list" {
		if err := need("--account-id ID", a.accountID); err != nil {
			return err
		}
	}
	switch kind + " " + verb {
	case "accounts set-org":
		return need("--org-id ID (none: no organisation)", a.orgID)
	case "users create", "users delete", "users set-password", "groups create", "groups delete":
		return need("--name NAME", a.name)
	case "groups add-user", "groups remove-user":
		if err := need("--group NAME", a.group); err != nil {
			return err
		}
		return need("--user NAME", a.user)
	case "keys activate", "keys deactivate", "keys delete":
		return need("--access-key-id ID", a.accessKeyID)
	case "policies put", "policies delete":
		if (a.user == "") == (a.group == "") {
			return fmt.Errorf("admin policies %s needs one of --user NAME and --group NAME", verb)
		}
		if err := need("--policy-name NAME", a.policyName); err != nil {
			return err
		}
		if verb == "put" {
			return need("--document JSON", a.document)
		}
	case "policies list":
		if a.user != "" && a.group != "" {
			return errors.New("admin policies list takes --user NAME or --group NAME, not both")
		}
	}
	return nil
}

// runAdmin carries out incidentd admin, on the database directly.
func runAdmin(o *options, stdout, _ io.Writer) error {
	ctx, stop := interruptible()
	defer stop()
	dir, store, err := app.OpenDirectory(ctx, o.Config)
	if err != nil {
		return err
	}
	defer store.Close()
	a := o.admin
	if o.args[0] == "explain" {
		svc, err := service.New(ctx, store, service.Config{Identities: dir}, nil)
		if err != nil {
			return err
		}
		e, err := svc.Explain(ctx, a.principal, a.action, a.resource, a.sourceIP)
		if err != nil {
			return err
		}
		printExplanation(stdout, e)
		return nil
	}
	args := iam.Args{AccountID: a.accountID, OrgID: a.orgID, Name: a.name, User: a.user, Group: a.group,
		AccessKeyID: a.accessKeyID, PolicyName: a.policyName}
	switch o.args[0] + " " + o.args[1] {
	case "policies put":
		if args.Document, err = readDocument(a.document); err != nil {
			return err
		}
	case "users set-password":
		// The password is read from the standard input, never from a flag
		// (which the shell's history and ps would show).
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("users set-password reads the password from the standard input: none was given")
		}
		args.Password = strings.TrimRight(line, "\r\n")
	}
	out, err := dir.Run(ctx, o.args[0], o.args[1], args)
	if err != nil || out == nil {
		return err
	}
	return printJSON(stdout, out)
}

// readDocument returns a policy document given as JSON or as file://PATH.
func readDocument(arg string) (string, error) {
	path, ok := strings.CutPrefix(arg, "file://")
	if !ok {
		return arg, nil
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printExplanation writes a decision, the policies weighed and the
// statement that decided.
func printExplanation(w io.Writer, e *service.Explanation) {
	decision := "DENY"
	if e.Allowed {
		decision = "ALLOW"
	}
	fmt.Fprintf(w, "decision: %s (%s)\n", decision, e.Reason)
	fmt.Fprintf(w, "principal: %s\naction: %s\nresource: %s\n", e.Principal, e.Action, e.Resource)
	if e.Message != "" {
		fmt.Fprintf(w, "message: %s\n", e.Message)
	}
	fmt.Fprintf(w, "identity-based policies: %s\n", policyNames(e.IdentityPolicies))
	fmt.Fprintf(w, "resource-based policies: %s\n", policyNames(e.ResourcePolicies))
	switch {
	case e.Deciding != nil:
		fmt.Fprintf(w, "deciding statement: %s %s\n", e.Policy, statementText(e.Deciding, e.Statement))
	case e.Reason == "root":
		fmt.Fprintln(w, "deciding statement: none (the account's root acts in its own account)")
	default:
		fmt.Fprintln(w, "deciding statement: none (implicit deny: no statement allows)")
	}
}

func policyNames(ps []*policy.Policy) string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, fmt.Sprintf("%s (%d statements)", p.Name, len(p.Statements)))
	}
	return strings.Join(names, ", ")
}

// statementText is a statement in one line.
func statementText(st *policy.Statement, label string) string {
	not := func(b bool, s string) string {
		if b {
			return "Not" + s
		}
		return s
	}
	s := fmt.Sprintf("%s: %s %s %v %s %v", label, st.Effect, not(st.NotAction, "Action"), st.Actions, not(st.NotResource, "Resource"), st.Resources)
	for _, c := range st.Conditions {
		s += fmt.Sprintf(" Condition %s %s %v", c.Operator, c.Key, c.Values)
	}
	return s
}
