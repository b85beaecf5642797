package domain

import "time"

// Finding is a change recorded in an account — a CodeDeploy deployment or a
// CloudFormation stack update — that may explain an incident whose time it
// overlaps. Exactly one of CodeDeployDeployment and CloudFormationStackUpdate
// is set.
type Finding struct {
	Account          string     `json:"account"`
	ID               string     `json:"id"`
	CreationTime     time.Time  `json:"creationTime"`
	LastModifiedTime time.Time  `json:"lastModifiedTime"`
	StartTime        time.Time  `json:"startTime"`
	EndTime          *time.Time `json:"endTime,omitempty"` // nil while the change is in progress

	CodeDeployDeployment      *CodeDeployDeployment      `json:"codeDeployDeployment,omitempty"`
	CloudFormationStackUpdate *CloudFormationStackUpdate `json:"cloudFormationStackUpdate,omitempty"`
}

// CodeDeployDeployment identifies a deployment: one deployment id of one
// deployment group.
type CodeDeployDeployment struct {
	DeploymentGroupARN string `json:"deploymentGroupArn"`
	DeploymentID       string `json:"deploymentId"`
}

// CloudFormationStackUpdate names the stack of a stack update; with the
// finding's StartTime it identifies the update.
type CloudFormationStackUpdate struct {
	StackARN string `json:"stackArn"`
}

// End returns the end of the finding's time range: EndTime, or now while the
// change is in progress.
func (f *Finding) End(now time.Time) time.Time {
	if f.EndTime != nil {
		return *f.EndTime
	}
	return now
}

// Overlaps reports whether the finding's time range [StartTime, End(now)]
// meets the window [from, to], edges included.
func (f *Finding) Overlaps(from, to, now time.Time) bool {
	return !f.StartTime.After(to) && !f.End(now).Before(from)
}

// FindingCursor is where a page of findings ends: findings are listed by
// StartTime, ties broken by ID.
type FindingCursor struct {
	StartTime time.Time
	ID        string
}
