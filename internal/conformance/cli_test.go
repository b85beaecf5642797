package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// AWS's identifiers that recur in the CLI examples.
const (
	cliPlan     = "arn:aws:ssm-incidents::111122223333:response-plan/Example-Response-Plan"
	cliIncident = "arn:aws:ssm-incidents::111122223333:incident-record/Example-Response-Plan/6ebcc812-85f5-b7eb-8b2f-283e4d844308"
	cliSetC4    = "arn:aws:ssm-incidents::111122223333:replication-set/c4bcb603-4bf9-bb3f-413c-08df53673b57"
	cliSetA2    = "arn:aws:ssm-incidents::111122223333:replication-set/a2bcc5c9-0f53-8047-7fef-c20749989b40"
	snsTopic    = "arn:aws:sns:us-east-1:111122223333:Standard_User"
	contact     = "arn:aws:ssm-contacts:us-east-1:111122223333:contact/example"
	runbookRole = "arn:aws:iam::111122223333:role/aws-service-role/ssm-incidents.amazonaws.com/AWSServiceRoleForIncidentManager"
)

// cliSetup makes what one CLI example needs, and checks the effect of a
// command that prints nothing.
type cliSetup struct {
	principal string
	setup     func(w *world, out any)
	after     func(w *world) []diff
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// get walks a decoded JSON value by member names and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func effect(ok bool, aws, ours string) []diff {
	if ok {
		return nil
	}
	return []diff{{"", kindEffect, aws, ours}}
}

func notFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// examplePlan is the response plan of get-response-plan's output.
func examplePlan(w *world) *ssmincidents.CreateResponsePlanInput {
	return &ssmincidents.CreateResponsePlanInput{
		DisplayName: aws.String(w.in("Example response plan")),
		ChatChannel: &types.ChatChannelMemberChatbotSns{Value: []string{w.in(snsTopic)}},
		Engagements: []string{w.in(contact)},
		Actions: []types.Action{&types.ActionMemberSsmAutomation{Value: types.SsmAutomation{
			DocumentName: aws.String(w.in("AWSIncidents-CriticalIncidentRunbookTemplate")), DocumentVersion: aws.String(w.in("$DEFAULT")),
			RoleArn: aws.String(w.in(runbookRole)), TargetAccount: types.SsmTargetAccountResponsePlanOwnerAccount,
		}}},
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String(w.in("Example-Incident")), Impact: w.inNum(5)},
	}
}

// sharingPolicy is a resource policy incidentd accepts for plan.
func sharingPolicy(plan string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"share","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222233334444:root"},"Action":["ssm-incidents:GetResponsePlan","ssm-incidents:StartIncident"],"Resource":["` + plan + `"]}]}`
}

var cliSetups = map[string]cliSetup{
	"create-replication-set#1": {setup: func(w *world, out any) {}},
	"create-response-plan#1":   {setup: func(w *world, out any) { w.ensureReplicationSet() }},
	"create-timeline-event#1": {setup: func(w *world, out any) {
		w.incident("arn:aws:ssm-incidents::111122223333:incident-record/Example-Response-Plan/6ebcc812-85f5-b7eb-8b2f-283e4EXAMPLE")
	}},
	"create-timeline-event#2": {setup: func(w *world, out any) {
		w.incident("arn:aws:ssm-incidents::111122223333:incident-record/Test/6cc46130-ca6c-3b38-68f1-f6abeEXAMPLE")
	}},
	"delete-incident-record#1": {
		setup: func(w *world, out any) { w.incident(cliIncident) },
		after: func(w *world) []diff {
			_, err := w.c.GetIncidentRecord(w.ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(w.mapText(cliIncident))})
			return effect(notFound(err), "the incident record is gone", fmt.Sprintf("GetIncidentRecord: %v", err))
		},
	},
	"delete-replication-set#1": {
		setup: func(w *world, out any) { w.replicationSet(cliSetC4, map[string]string{"us-east-1": ""}) },
		after: func(w *world) []diff {
			out, err := w.c.ListReplicationSets(w.ctx, &ssmincidents.ListReplicationSetsInput{})
			return effect(err == nil && len(out.ReplicationSetArns) == 0, "no replication set", fmt.Sprintf("%+v %v", out, err))
		},
	},
	"delete-resource-policy#1": {
		setup: func(w *world, out any) {
			plan := w.plan(cliPlan, nil)
			w.policy("be8b57191f0371f1c6827341aa3f0a03", plan, sharingPolicy(plan))
		},
		after: func(w *world) []diff {
			out, err := w.c.GetResourcePolicies(w.ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: aws.String(cliPlan)})
			return effect(err == nil && len(out.ResourcePolicies) == 0, "the plan has no resource policy", fmt.Sprintf("%+v %v", out, err))
		},
	},
	"delete-response-plan#1": {
		setup: func(w *world, out any) {
			w.plan("arn:aws:ssm-incidents::111122223333:response-plan/example-response", nil)
		},
		after: func(w *world) []diff {
			ok := !w.planExists("arn:aws:ssm-incidents::111122223333:response-plan/example-response")
			return effect(ok, "the response plan is gone", "GetResponsePlan still finds it")
		},
	},
	"delete-timeline-event#1": {
		setup: func(w *world, out any) {
			inc := w.incident(cliIncident)
			w.event("c0bcc885-a41d-eb01-b4ab-9d2de193643c", inc, at("2020-10-01T20:30:00Z"), "Custom Event", `"example timeline event"`)
		},
		after: func(w *world) []diff {
			_, err := w.c.GetTimelineEvent(w.ctx, &ssmincidents.GetTimelineEventInput{
				IncidentRecordArn: aws.String(w.mapText(cliIncident)), EventId: aws.String(w.mapText("c0bcc885-a41d-eb01-b4ab-9d2de193643c"))})
			return effect(notFound(err), "the event is gone", fmt.Sprintf("GetTimelineEvent: %v", err))
		},
	},
	"get-incident-record#1": {principal: userDraliatp, setup: func(w *world, out any) { w.incident(cliIncident) }},
	"get-replication-set#1": {setup: func(w *world, out any) {
		w.replicationSet(cliSetC4, map[string]string{"us-east-1": "", "us-east-2": ""})
	}},
	"get-resource-policies#1": {setup: func(w *world, out any) {
		plan := w.plan(cliPlan, nil)
		w.policy(str(out, "resourcePolicies", 0, "policyId"), plan, str(out, "resourcePolicies", 0, "policyDocument"))
	}},
	"get-response-plan#1": {setup: func(w *world, out any) { w.plan(cliPlan, examplePlan(w)) }},
	"get-timeline-event#1": {setup: func(w *world, out any) {
		inc := w.incident(cliIncident)
		w.event(str(out, "event", "eventId"), inc, at(str(out, "event", "eventTime")), str(out, "event", "eventType"), str(out, "event", "eventData"))
	}},
	"list-incident-records#1": {principal: userDraliatp, setup: func(w *world, out any) { w.incident(cliIncident) }},
	"list-related-items#1": {setup: func(w *world, out any) {
		inc := w.incident(cliIncident)
		w.relatedItem(inc, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: str(out, "relatedItems", 0, "identifier", "value", "url")}, str(out, "relatedItems", 0, "title"))
		w.relatedItem(inc, types.ItemTypeParent, &types.ItemValueMemberArn{Value: str(out, "relatedItems", 1, "identifier", "value", "arn")}, str(out, "relatedItems", 1, "title"))
	}},
	"list-replication-sets#1": {setup: func(w *world, out any) { w.replicationSet(cliSetC4, map[string]string{"us-east-1": ""}) }},
	"list-response-plans#1": {setup: func(w *world, out any) {
		w.plan(cliPlan, &ssmincidents.CreateResponsePlanInput{DisplayName: aws.String(w.in("Example response plan")),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Example-Incident"), Impact: aws.Int32(5)}})
	}},
	"list-tags-for-resource#1": {setup: func(w *world, out any) {
		w.tag(w.plan(cliPlan, nil), map[string]string{"group1": "1"})
	}},
	"list-timeline-events#1": {setup: func(w *world, out any) {
		inc := w.incident(cliIncident)
		// The custom events AWS lists; the updates write the events of
		// type SSM Incident Record Update.
		for i := range 6 {
			if str(out, "eventSummaries", i, "eventType") == "Custom Event" {
				w.event(str(out, "eventSummaries", i, "eventId"), inc, at(str(out, "eventSummaries", i, "eventTime")), "Custom Event", `"example timeline event"`)
			}
		}
		w.update(&ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(inc), Summary: aws.String("Investigating the outage.")})
		w.update(&ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(inc), Impact: aws.Int32(3)})
		w.update(&ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(inc), Status: types.IncidentRecordStatusResolved})
	}},
	"put-resource-policy#1": {setup: func(w *world, out any) { w.plan(cliPlan, nil) }},
	"start-incident#1":      {setup: func(w *world, out any) { w.plan(cliPlan, nil) }},
	"tag-resource#1": {
		setup: func(w *world, out any) { w.plan(cliPlan, nil) },
		after: func(w *world) []diff {
			out, err := w.c.ListTagsForResource(w.ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(cliPlan)})
			return effect(err == nil && out.Tags["group1"] == "1", "the plan is tagged group1=1", fmt.Sprintf("%+v %v", out, err))
		},
	},
	"untag-resource#1": {
		setup: func(w *world, out any) { w.tag(w.plan(cliPlan, nil), map[string]string{"group1": "1"}) },
		after: func(w *world) []diff {
			out, err := w.c.ListTagsForResource(w.ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(cliPlan)})
			_, has := out.Tags["group1"]
			return effect(err == nil && !has, "the plan has no tag group1", fmt.Sprintf("%+v %v", out, err))
		},
	},
	"update-deletion-protection#1": {
		setup: func(w *world, out any) { w.replicationSet(cliSetA2, map[string]string{"us-east-1": ""}) },
		after: func(w *world) []diff {
			out, err := w.c.GetReplicationSet(w.ctx, &ssmincidents.GetReplicationSetInput{Arn: aws.String(w.mapText(cliSetA2))})
			return effect(err == nil && aws.ToBool(out.ReplicationSet.DeletionProtected), "deletion protection is on", fmt.Sprintf("%v", err))
		},
	},
	"update-incident-record#1": {
		setup: func(w *world, out any) { w.incident(cliIncident) },
		after: func(w *world) []diff {
			out, err := w.c.GetIncidentRecord(w.ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(w.mapText(cliIncident))})
			return effect(err == nil && out.IncidentRecord.Status == types.IncidentRecordStatusResolved && out.IncidentRecord.ResolvedTime != nil,
				"the incident is RESOLVED with a resolvedTime", fmt.Sprintf("%v", err))
		},
	},
	"update-related-items#1": {
		setup: func(w *world, out any) {
			inc := w.incident(cliIncident)
			w.relatedItem(inc, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://console.aws.amazon.com/systems-manager/opsitems/oi-8ef82158e190/workbench?region=us-east-1"}, "Example related item")
		},
		after: func(w *world) []diff {
			out, err := w.c.ListRelatedItems(w.ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: aws.String(w.mapText(cliIncident))})
			return effect(err == nil && len(out.RelatedItems) == 0, "the incident has no related item", fmt.Sprintf("%+v %v", out, err))
		},
	},
	"update-replication-set#1": {
		setup: func(w *world, out any) {
			w.replicationSet(cliSetA2, map[string]string{"us-east-1": "", "us-east-2": ""})
		},
		after: func(w *world) []diff {
			out, err := w.c.GetReplicationSet(w.ctx, &ssmincidents.GetReplicationSetInput{Arn: aws.String(w.mapText(cliSetA2))})
			if err != nil {
				return effect(false, "us-east-2 is gone", err.Error())
			}
			_, has := out.ReplicationSet.RegionMap["us-east-2"]
			return effect(!has, "us-east-2 is gone", fmt.Sprintf("regions %v", out.ReplicationSet.RegionMap))
		},
	},
	"update-response-plan#1": {
		setup: func(w *world, out any) { w.plan(cliPlan, examplePlan(w)) },
		after: func(w *world) []diff {
			out, err := w.c.GetResponsePlan(w.ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(cliPlan)})
			if err != nil {
				return effect(false, "the plan has no chat channel", err.Error())
			}
			_, sns := out.ChatChannel.(*types.ChatChannelMemberChatbotSns)
			return effect(!sns, "the plan has no chat channel", fmt.Sprintf("chat channel %#v", out.ChatChannel))
		},
	},
	"update-timeline-event#1": {
		setup: func(w *world, out any) {
			inc := w.incident(cliIncident)
			w.event("20bcc812-8a94-4cd7-520c-0ff742111424", inc, at("2021-05-21T18:16:57Z"), "Custom Event", `"Incident Started"`)
		},
		after: func(w *world) []diff {
			out, err := w.c.GetTimelineEvent(w.ctx, &ssmincidents.GetTimelineEventInput{
				IncidentRecordArn: aws.String(w.mapText(cliIncident)), EventId: aws.String(w.mapText("20bcc812-8a94-4cd7-520c-0ff742111424"))})
			return effect(err == nil && out.Event.EventTime.Equal(at("2021-05-21T18:10:57Z")), "the event's time is 2021-05-21T18:10:57Z", fmt.Sprintf("%v", err))
		},
	},
}

// operationOf is the API operation of an aws CLI command.
func operationOf(command string) string {
	var b strings.Builder
	for _, p := range strings.Split(command, "-") {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

// TestCLIExamples runs every example of the aws CLI reference with the real
// aws CLI against a server that holds what the example needs, and compares
// what the CLI prints with what AWS shows.
func TestCLIExamples(t *testing.T) {
	testserver.RequireTool(t, "aws", "pip install awscli, or see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")
	m := loadModel(t)
	fixtures := loadCLIFixtures(t)
	if len(fixtures) == 0 {
		t.Fatal("no CLI fixtures in testdata/cli")
	}
	used := map[string]bool{}
	for _, f := range fixtures {
		for i, ex := range f.Examples {
			key := fmt.Sprintf("%s#%d", f.Command, i+1)
			s, ok := cliSetups[key]
			if !ok {
				t.Errorf("%s example %d (%s) has no set-up in cliSetups", f.file, i+1, ex.Title)
				continue
			}
			used[key] = true
			// The subtest is named command/N: a # in a test's name would end
			// up in its data directory's path, which incidentd's SQLite URI
			// cuts there (see the report of the conformance suite).
			t.Run(fmt.Sprintf("%s/%d", f.Command, i+1), func(t *testing.T) {
				t.Parallel()
				found := runCLIExample(t, m, f, ex, s)
				reportDiffs(t, f.file, fmt.Sprintf("example %d (%s)", i+1, ex.Title), "", found, ex.KnownDifferences)
			})
		}
	}
	for key := range cliSetups {
		if !used[key] {
			t.Errorf("cliSetups has %s, which no fixture has", key)
		}
	}
}

func runCLIExample(t *testing.T, m *svcModel, f *CLIFixture, ex CLIExample, s cliSetup) []diff {
	var awsOut any
	if ex.Output != nil {
		var err error
		if awsOut, err = decodeJSON([]byte(strings.Join(ex.Output, "\n"))); err != nil {
			t.Fatalf("%s: AWS's output is not JSON: %v", f.file, err)
		}
	}
	w := newWorld(t, s.principal)
	s.setup(w, awsOut)
	if len(w.diffs) > 0 {
		return w.diffs
	}
	w.inputsFromArgs(ex.Args)
	args := make([]string, len(ex.Args))
	for i, a := range ex.Args {
		args[i] = w.mapText(a)
	}
	stdout, stderr, err := w.awsCLI(args...)
	t.Logf("aws ssm-incidents %q\n%s%s", args, stdout, stderr)
	if err != nil {
		return []diff{{"", kindError, "the command succeeds", strings.TrimSpace(string(stderr))}}
	}
	var found []diff
	if ex.Output == nil {
		if len(strings.TrimSpace(string(stdout))) > 0 {
			found = append(found, diff{"", kindOutput, "no output", strings.TrimSpace(string(stdout))})
		}
	} else {
		ours, err := decodeJSON(stdout)
		if err != nil {
			return []diff{{"", kindOutput, "JSON output", fmt.Sprintf("%q (%v)", stdout, err)}}
		}
		c := newComparer(m, w.subst, w.inputs)
		c.compare("", awsOut, ours, m.outputShape(operationOf(f.Command)))
		if len(c.extras) > 0 {
			t.Logf("members incidentd prints beyond AWS's example (the model has them): %s", strings.Join(c.extras, ", "))
		}
		found = append(found, c.diffs...)
	}
	if s.after != nil {
		found = append(found, s.after(w)...)
	}
	return found
}

// reportDiffs fails the test for each difference that is not listed and
// each listed one that no longer shows.
func reportDiffs(t *testing.T, file, what, in string, found []diff, known []KnownDifference) {
	t.Helper()
	unlisted, gone := matchKnown(in, found, known)
	for _, d := range unlisted {
		t.Errorf("%s %s: %v\n\tnot in knownDifferences; if it is to stay, list it: %s", file, what, d, suggest(in, d))
	}
	for _, k := range gone {
		t.Errorf("%s %s: the known difference %s %q (%s) no longer shows: remove it from knownDifferences", file, what, k.Kind, k.Path, k.Why)
	}
	for _, d := range found {
		t.Logf("difference: %v", d)
	}
}
