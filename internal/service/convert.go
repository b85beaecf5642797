package service

import (
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// Conversions between the wire shapes of package model and the entities of
// package domain.

func snsTargets(items []model.NotificationTargetItem) []string {
	if items == nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, *it.SnsTopicArn)
	}
	return out
}

func notificationItems(arns []string) []model.NotificationTargetItem {
	if arns == nil {
		return nil
	}
	out := make([]model.NotificationTargetItem, 0, len(arns))
	for _, a := range arns {
		out = append(out, model.NotificationTargetItem{SnsTopicArn: ptr(a)})
	}
	return out
}

func chatChannelIn(c *model.ChatChannel) *domain.ChatChannel {
	if c == nil {
		return nil
	}
	if c.ChatbotSns != nil {
		return &domain.ChatChannel{ChatbotSNS: append([]string(nil), c.ChatbotSns...)}
	}
	return &domain.ChatChannel{}
}

func chatChannelOut(c *domain.ChatChannel) *model.ChatChannel {
	if c == nil {
		return nil
	}
	if len(c.ChatbotSNS) == 0 {
		return &model.ChatChannel{Empty: &model.EmptyChatChannel{}}
	}
	return &model.ChatChannel{ChatbotSns: c.ChatbotSNS}
}

func actionsIn(in []model.Action) []domain.Action {
	if in == nil {
		return nil
	}
	out := make([]domain.Action, 0, len(in))
	for _, a := range in {
		m := a.SsmAutomation
		d := &domain.SSMAutomation{
			DocumentName:    *m.DocumentName,
			DocumentVersion: m.DocumentVersion,
			RoleARN:         *m.RoleArn,
			TargetAccount:   m.TargetAccount,
			Parameters:      m.Parameters,
		}
		if m.DynamicParameters != nil {
			d.DynamicParameters = make(map[string]string, len(m.DynamicParameters))
			for k, v := range m.DynamicParameters {
				d.DynamicParameters[k] = *v.Variable
			}
		}
		out = append(out, domain.Action{SSMAutomation: d})
	}
	return out
}

func actionsOut(in []domain.Action) []model.Action {
	if in == nil {
		return nil
	}
	out := make([]model.Action, 0, len(in))
	for _, a := range in {
		d := a.SSMAutomation
		m := &model.SsmAutomation{
			DocumentName:    ptr(d.DocumentName),
			DocumentVersion: d.DocumentVersion,
			RoleArn:         ptr(d.RoleARN),
			TargetAccount:   d.TargetAccount,
			Parameters:      d.Parameters,
		}
		if d.DynamicParameters != nil {
			m.DynamicParameters = make(map[string]model.DynamicSsmParameterValue, len(d.DynamicParameters))
			for k, v := range d.DynamicParameters {
				m.DynamicParameters[k] = model.DynamicSsmParameterValue{Variable: ptr(v)}
			}
		}
		out = append(out, model.Action{SsmAutomation: m})
	}
	return out
}

func integrationsIn(in []model.Integration) []domain.Integration {
	if in == nil {
		return nil
	}
	out := make([]domain.Integration, 0, len(in))
	for _, it := range in {
		p := it.PagerDutyConfiguration
		out = append(out, domain.Integration{PagerDuty: &domain.PagerDutyConfiguration{
			Name:      *p.Name,
			SecretID:  *p.SecretId,
			ServiceID: *p.PagerDutyIncidentConfiguration.ServiceId,
		}})
	}
	return out
}

func integrationsOut(in []domain.Integration) []model.Integration {
	if in == nil {
		return nil
	}
	out := make([]model.Integration, 0, len(in))
	for _, it := range in {
		p := it.PagerDuty
		out = append(out, model.Integration{PagerDutyConfiguration: &model.PagerDutyConfiguration{
			Name:                           ptr(p.Name),
			SecretId:                       ptr(p.SecretID),
			PagerDutyIncidentConfiguration: &model.PagerDutyIncidentConfiguration{ServiceId: ptr(p.ServiceID)},
		}})
	}
	return out
}
