package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// DefaultFindingLookback is how long before an incident's creation a change
// may have started and still be a finding of it, when Config.FindingLookback
// is zero.
const DefaultFindingLookback = 2 * time.Hour

// findingsPageSize is the page size of ListIncidentFindings called without
// maxResults: the model's largest.
const findingsPageSize = 20

// FindingErrorCode is the code of every entry of BatchGetIncidentFindings'
// errors list, as AWS's example answers an id that names no finding.
const FindingErrorCode = "ResourceNotFoundException"

func (s *Service) findingLookback() time.Duration {
	if s.cfg.FindingLookback > 0 {
		return s.cfg.FindingLookback
	}
	return DefaultFindingLookback
}

// findingWindow is the time range of an incident that findings are matched
// against: from its creation less the lookback to its resolution, or now
// while it is open.
func (s *Service) findingWindow(r *domain.IncidentRecord, now time.Time) (from, to time.Time) {
	from, to = r.CreationTime.Add(-s.findingLookback()), now
	if r.ResolvedTime != nil {
		to = *r.ResolvedTime
	}
	return from, to
}

// findingID derives a finding's id from what identifies the change, so that
// recording the same change again names the same finding: the first 16
// bytes of a SHA-256 of its kind and key, a deployment's group and id or a
// stack update's stack and start time, written as AWS writes finding ids,
// UUID-like (8-4-4-4-12 hex digits). ARNs hold no line break, so the parts
// cannot run into each other.
func findingID(f *domain.Finding) string {
	var kind, key string
	switch {
	case f.CodeDeployDeployment != nil:
		kind, key = "codedeploy", f.CodeDeployDeployment.DeploymentGroupARN+"\n"+f.CodeDeployDeployment.DeploymentID
	default:
		kind, key = "cloudformation", f.CloudFormationStackUpdate.StackARN+"\n"+strconv.FormatInt(f.StartTime.UnixMilli(), 10)
	}
	sum := sha256.Sum256([]byte(kind + "\n" + key))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// findingIn turns the recorded details into a finding of the account, times
// to the millisecond as they travel. Errors: ValidationError when not
// exactly one kind of change is given or it ends before it starts.
func findingIn(account string, d *model.FindingDetails) (*domain.Finding, error) {
	f := &domain.Finding{Account: account}
	var (
		member     string
		start, end *model.Timestamp
	)
	switch {
	case (d.CodeDeployDeployment != nil) == (d.CloudFormationStackUpdate != nil):
		return nil, domain.Invalid("Give exactly one of codeDeployDeployment and cloudFormationStackUpdate.")
	case d.CodeDeployDeployment != nil:
		c := d.CodeDeployDeployment
		member, start, end = "codeDeployDeployment", c.StartTime, c.EndTime
		f.CodeDeployDeployment = &domain.CodeDeployDeployment{DeploymentGroupARN: *c.DeploymentGroupArn, DeploymentID: *c.DeploymentId}
	default:
		c := d.CloudFormationStackUpdate
		member, start, end = "cloudFormationStackUpdate", c.StartTime, c.EndTime
		f.CloudFormationStackUpdate = &domain.CloudFormationStackUpdate{StackARN: *c.StackArn}
	}
	f.StartTime = start.Time().UTC().Truncate(time.Millisecond)
	if end != nil {
		e := end.Time().UTC().Truncate(time.Millisecond)
		if e.Before(f.StartTime) {
			return nil, domain.Invalid("%s.endTime (%s) is before %s.startTime (%s).", member, e.Format(time.RFC3339Nano), member, f.StartTime.Format(time.RFC3339Nano))
		}
		f.EndTime = &e
	}
	f.ID = findingID(f)
	return f, nil
}

// RecordFinding records a change of the caller's account: a CodeDeploy
// deployment or a CloudFormation stack update. Recording the same change
// again (the same deployment id of the same group; the same stack and
// startTime) replaces its details with the new ones and sets its
// lastModifiedTime; its id and creationTime stay. It is incidentd's own
// operation, outside the AWS model.
// Errors: ValidationError without an ACTIVE replication set, or for details
// that are not exactly one change or end before they start.
func (s *Service) RecordFinding(ctx context.Context, in *model.FindingDetails) (*model.Finding, error) {
	ctx, err := s.authorize(ctx, "RecordFinding", "*")
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	f, err := findingIn(c.Account, in)
	if err != nil {
		return nil, err
	}
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		// Checked in the transaction, so that a DeleteReplicationSet cannot
		// come between the check and the write.
		if err := s.requireActiveReplicationSet(ctx, c.Account); err != nil {
			return err
		}
		now := s.clock().Truncate(time.Millisecond)
		f.CreationTime, f.LastModifiedTime = now, now
		old, err := s.store.GetFindings(ctx, c.Account, []string{f.ID})
		if err != nil {
			return err
		}
		if len(old) > 0 {
			f.CreationTime = old[0].CreationTime
		}
		return s.store.PutFinding(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return findingOut(f), nil
}

func findingOut(f *domain.Finding) *model.Finding {
	d := &model.FindingDetails{}
	var end *model.Timestamp
	if f.EndTime != nil {
		end = model.NewTimestamp(*f.EndTime)
	}
	if c := f.CodeDeployDeployment; c != nil {
		d.CodeDeployDeployment = &model.CodeDeployDeployment{
			DeploymentGroupArn: ptr(c.DeploymentGroupARN),
			DeploymentId:       ptr(c.DeploymentID),
			StartTime:          model.NewTimestamp(f.StartTime),
			EndTime:            end,
		}
	}
	if c := f.CloudFormationStackUpdate; c != nil {
		d.CloudFormationStackUpdate = &model.CloudFormationStackUpdate{
			StackArn:  ptr(c.StackARN),
			StartTime: model.NewTimestamp(f.StartTime),
			EndTime:   end,
		}
	}
	return &model.Finding{
		Id:               ptr(f.ID),
		CreationTime:     model.NewTimestamp(f.CreationTime),
		LastModifiedTime: model.NewTimestamp(f.LastModifiedTime),
		Details:          d,
	}
}

// ListIncidentFindings lists the findings of an incident: the changes of its
// account whose time range overlaps the incident's window (see
// findingWindow), by startTime then id.
// Errors: NotFoundError for a missing incident; ValidationError for a bad
// nextToken.
func (s *Service) ListIncidentFindings(ctx context.Context, in *model.ListIncidentFindingsInput) (*model.ListIncidentFindingsOutput, error) {
	ctx, err := s.authorize(ctx, "ListIncidentFindings", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	// A token resumes the listing of one incident.
	l := listing{op: "ListIncidentFindings", account: r.Account, scope: r.ARN, params: "incidentRecordArn"}
	after, err := resumeAt[domain.FindingCursor](s.tokens, l, in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, findingsPageSize)
	now := s.clock()
	from, to := s.findingWindow(r, now)
	found, err := s.store.ListFindings(ctx, r.Account, from, to, now, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListIncidentFindingsOutput{Findings: make([]model.FindingSummary, 0, min(len(found), limit))}
	found, out.NextToken = page(s.tokens, l, found, limit, func(f *domain.Finding) any {
		return domain.FindingCursor{StartTime: f.StartTime, ID: f.ID}
	})
	for _, f := range found {
		out.Findings = append(out.Findings, model.FindingSummary{Id: ptr(f.ID), LastModifiedTime: model.NewTimestamp(f.LastModifiedTime)})
	}
	return out, nil
}

// BatchGetIncidentFindings returns the details of the findings named, in the
// order asked (an id asked twice is answered once). An id that names no
// finding of the account, or one that does not overlap the incident's
// window, is answered in errors, code ResourceNotFoundException and AWS's
// message "Finding with ID '…' is not accessible".
// Errors: NotFoundError for a missing incident.
func (s *Service) BatchGetIncidentFindings(ctx context.Context, in *model.BatchGetIncidentFindingsInput) (*model.BatchGetIncidentFindingsOutput, error) {
	ctx, err := s.authorize(ctx, "BatchGetIncidentFindings", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(in.FindingIds))
	seen := make(map[string]bool, len(in.FindingIds))
	for _, id := range in.FindingIds {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	stored, err := s.store.GetFindings(ctx, r.Account, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*domain.Finding, len(stored))
	for _, f := range stored {
		byID[f.ID] = f
	}
	now := s.clock()
	from, to := s.findingWindow(r, now)
	out := &model.BatchGetIncidentFindingsOutput{Errors: []model.BatchGetIncidentFindingsError{}, Findings: []model.Finding{}}
	for _, id := range ids {
		f, ok := byID[id]
		switch {
		case !ok:
			out.Errors = append(out.Errors, model.BatchGetIncidentFindingsError{
				Code: ptr(FindingErrorCode), FindingId: ptr(id),
				Message: ptr("Finding with ID '" + id + "' is not accessible"),
			})
		case !f.Overlaps(from, to, now):
			out.Errors = append(out.Errors, model.BatchGetIncidentFindingsError{
				Code: ptr(FindingErrorCode), FindingId: ptr(id),
				Message: ptr("Finding with ID '" + id + "' is not accessible: the change (" + span(f.StartTime, f.End(now)) +
					") does not overlap the window of incident " + r.ARN + " (" + span(from, to) + ")"),
			})
		default:
			out.Findings = append(out.Findings, *findingOut(f))
		}
	}
	return out, nil
}

// span writes a time range for messages.
func span(from, to time.Time) string {
	return from.UTC().Format(time.RFC3339Nano) + " to " + to.UTC().Format(time.RFC3339Nano)
}
