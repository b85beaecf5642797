package restjson

import (
	"context"
	"net/http"
	"net/url"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/service"
)

// Extensions are incidentd's own operations, outside the AWS model and its
// paths (they live under /x/). They are served like the model's operations:
// SigV4 with the service name ssm-incidents, the same body limit, error
// model and request log line.

// FindingsPath is where a CI/CD pipeline records a change of its account:
// POST a JSON FindingDetails ({"codeDeployDeployment": {…}} or
// {"cloudFormationStackUpdate": {…}}); the answer is the Finding as
// BatchGetIncidentFindings shows it.
const FindingsPath = "/x/findings"

// recordFinding is the operation behind FindingsPath.
var recordFinding = model.Operation{
	Name:       "RecordFinding",
	Method:     http.MethodPost,
	Path:       FindingsPath,
	Status:     http.StatusOK,
	InputBody:  true,
	OutputBody: true,
	Errors:     []string{"ValidationException", "InternalServerException"},
	NewInput:   func() model.Input { return new(recordFindingInput) },
}

// recordFindingInput is the body of RecordFinding: one FindingDetails (a
// type of its own, not an embedding, so that decoding errors name members
// by their path in the body).
type recordFindingInput model.FindingDetails

// Validate checks that exactly one kind of change is given, then every
// constraint the model puts on it.
func (in *recordFindingInput) Validate() error {
	if (in.CodeDeployDeployment != nil) == (in.CloudFormationStackUpdate != nil) {
		return domain.Invalid("The body must have exactly one of codeDeployDeployment and cloudFormationStackUpdate, for example " +
			`{"codeDeployDeployment": {"deploymentGroupArn": "arn:aws:codedeploy:…", "deploymentId": "d-…", "startTime": 1700000000}}.`)
	}
	return (*model.FindingDetails)(in).Validate()
}

// BindHTTP implements model.Input: nothing travels outside the body.
func (in *recordFindingInput) BindHTTP(func(string) string, url.Values) {}

// BoundParameters is empty: every member travels in the body.
func (in *recordFindingInput) BoundParameters() map[string]any { return map[string]any{} }

// mountExtensions routes the extension operations to svc.
func (h *Handler) mountExtensions(svc *service.Service) {
	h.mux.Handle(recordFinding.Method+" "+recordFinding.Path, h.operation(recordFinding, func(ctx context.Context, in model.Input) (any, error) {
		return svc.RecordFinding(ctx, (*model.FindingDetails)(in.(*recordFindingInput)))
	}))
}
