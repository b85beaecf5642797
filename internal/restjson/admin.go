package restjson

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/service"
)

// AdminPath is where the admin API lives: POST AdminPath+KIND+"/"+VERB
// (for example /x/admin/users/create) with a JSON body of the command's
// arguments ({"accountId": …, "name": …}) runs the command of `incidentd
// admin KIND VERB`, and answers what it prints (an empty object for a
// command that prints nothing). It is signed like every API request, and
// only root keys may call it: the root of an account for its own users,
// groups, keys and policies; the root of the operator account (the one of
// INCIDENTD_ACCOUNT_ID) also for every other account and for the
// accounts commands.
const AdminPath = "/x/admin/"

// Admin runs admin commands (see iam.Directory.Run).
type Admin interface {
	Run(ctx context.Context, kind, verb string, a iam.Args) (any, error)
}

// adminInput is the body of an admin command.
type adminInput iam.Args

// Validate implements model.Input; the commands check their arguments.
func (in *adminInput) Validate() error { return nil }

// BindHTTP implements model.Input: nothing travels outside the body.
func (in *adminInput) BindHTTP(func(string) string, url.Values) {}

// BoundParameters is empty: every member travels in the body.
func (in *adminInput) BoundParameters() map[string]any { return map[string]any{} }

// MountAdmin serves the admin API with a, operator being the account whose
// root may administer every account; audit, when not nil, is told of each
// decision to let a caller run a command or not, as the service tells of
// its own.
func (h *Handler) MountAdmin(a Admin, operator string, audit func(context.Context, service.Decision)) {
	kinds := make([]string, 0, len(iam.Commands))
	for kind := range iam.Commands {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		for _, verb := range iam.Commands[kind] {
			op := model.Operation{
				Name:       "Admin" + camel(kind) + camel(verb),
				Method:     http.MethodPost,
				Path:       AdminPath + kind + "/" + verb,
				Status:     http.StatusOK,
				InputBody:  true,
				OutputBody: true,
				Errors:     []string{"ValidationException", "AccessDeniedException", "ResourceNotFoundException", "ConflictException", "InternalServerException"},
				NewInput:   func() model.Input { return new(adminInput) },
			}
			h.mux.Handle(op.Method+" "+op.Path, h.operation(op, func(ctx context.Context, in model.Input) (any, error) {
				args := iam.Args(*in.(*adminInput))
				err := mayAdminister(ctx, operator, kind, verb, args.AccountID)
				if audit != nil {
					audit(ctx, adminDecision(ctx, kind, verb, args.AccountID, err))
				}
				if err != nil {
					return nil, err
				}
				out, err := a.Run(ctx, kind, verb, args)
				if out == nil && err == nil {
					out = struct{}{}
				}
				return out, err
			}))
		}
	}
}

// mayAdminister refuses an admin command to anyone but the roots it is for.
func mayAdminister(ctx context.Context, operator, kind, verb, account string) error {
	c, _ := domain.CallerFrom(ctx)
	if c.Principal == iam.RootPrincipal(c.Account) && (c.Account == operator || kind != "accounts" && account == c.Account) {
		return nil
	}
	what := "account " + account
	if kind == "accounts" {
		what = "the accounts of incidentd"
	}
	return &domain.AccessDeniedError{Message: "User: " + c.Principal + " is not authorized to perform: incidentd:admin " + kind + " " + verb +
		" on " + what + ": only the root of the account, or of the operator account " + operator + ", may"}
}

// adminDecision is the audit record of mayAdminister's answer err.
func adminDecision(ctx context.Context, kind, verb, account string, err error) service.Decision {
	c, _ := domain.CallerFrom(ctx)
	d := service.Decision{Principal: c.Principal, Action: "incidentd:admin " + kind + " " + verb, Resource: "account/" + account,
		Allowed: err == nil, Reason: "root"}
	if kind == "accounts" {
		d.Resource = "accounts"
	}
	if err != nil {
		d.Reason, d.Message = "implicit-deny", err.Error()
	}
	return d
}

// camel is "add-user" as "AddUser".
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
