package domain

import "time"

// ResponsePlan is the template from which incidents start.
type ResponsePlan struct {
	ARN              string           `json:"arn"`
	Account          string           `json:"account"`
	Name             string           `json:"name"`
	DisplayName      *string          `json:"displayName,omitempty"`
	Template         IncidentTemplate `json:"incidentTemplate"`
	ChatChannel      *ChatChannel     `json:"chatChannel,omitempty"`
	Engagements      []string         `json:"engagements,omitempty"`
	Actions          []Action         `json:"actions,omitempty"`
	Integrations     []Integration    `json:"integrations,omitempty"`
	CreatedTime      time.Time        `json:"createdTime"`
	LastModifiedTime time.Time        `json:"lastModifiedTime"`
}

// IncidentTemplate is what an incident started from a plan begins with.
type IncidentTemplate struct {
	Title               string            `json:"title"`
	Impact              int32             `json:"impact"`
	Summary             *string           `json:"summary,omitempty"`
	DedupeString        *string           `json:"dedupeString,omitempty"`
	NotificationTargets []string          `json:"notificationTargets,omitempty"` // SNS topic ARNs
	IncidentTags        map[string]string `json:"incidentTags,omitempty"`
}

// ChatChannel is where responders talk: a set of AWS Chatbot SNS topics, or
// none at all (an empty channel).
type ChatChannel struct {
	ChatbotSNS []string `json:"chatbotSns,omitempty"`
}

// Action is something a plan runs when an incident starts.
type Action struct {
	SSMAutomation *SSMAutomation `json:"ssmAutomation,omitempty"`
}

// SSMAutomation runs a Systems Manager Automation document.
type SSMAutomation struct {
	DocumentName      string              `json:"documentName"`
	DocumentVersion   *string             `json:"documentVersion,omitempty"`
	RoleARN           string              `json:"roleArn"`
	TargetAccount     *string             `json:"targetAccount,omitempty"`
	Parameters        map[string][]string `json:"parameters,omitempty"`
	DynamicParameters map[string]string   `json:"dynamicParameters,omitempty"` // name → variable
}

// Integration connects a plan to an outside paging service.
type Integration struct {
	PagerDuty *PagerDutyConfiguration `json:"pagerDutyConfiguration,omitempty"`
}

// PagerDutyConfiguration names a PagerDuty service and the secret that reaches it.
type PagerDutyConfiguration struct {
	Name      string `json:"name"`
	SecretID  string `json:"secretId"`
	ServiceID string `json:"serviceId"`
}
