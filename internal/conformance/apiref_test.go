package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/testserver"
)

// AWS's identifiers that recur in the API reference's examples.
const (
	apiPlan  = "arn:aws:ssm-incidents::111122223333:response-plan/example-response"
	apiInc78 = "arn:aws:ssm-incidents::111122223333:incident-record/example-response/78bd9919-b9ac-962d-91e0-149960600e3f"
	apiInc64 = "arn:aws:ssm-incidents::111122223333:incident-record/example-response/64bd9b45-1d0e-2622-840d-03a87a1451fa"
	apiSet   = "arn:aws:ssm-incidents::111122223333:replication-set/40bd98f0-4110-2dee-b35e-b87006f9e172"
	apiFindI = "arn:aws:ssm-incidents::111122223333:incident-record/my-incident/c6c59324-8fee-34eb-2ea1-1a279EXAMPLE"
)

type apiSetup struct {
	principal string
	setup     func(w *world, resp any)
}

// examplePlanAPI is the plan of GetResponsePlan's Sample Response.
func examplePlanAPI(w *world) *ssmincidents.CreateResponsePlanInput {
	in := examplePlan(w)
	in.IncidentTemplate.Title = aws.String(w.in("example-incident"))
	return in
}

func (w *world) apiIncident(awsARN string) string {
	plan := "arn:aws:ssm-incidents::111122223333:response-plan/" + planName(awsARN)
	if !w.planExists(plan) {
		w.plan(plan, &ssmincidents.CreateResponsePlanInput{
			ChatChannel:      &types.ChatChannelMemberChatbotSns{Value: []string{w.in(snsTopic)}},
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String(w.in("example-incident")), Impact: w.inNum(5)},
		})
	}
	return w.incident(awsARN)
}

// findings records, for each finding of AWS's response, a change like it
// that happened a few minutes ago, and maps AWS's finding id to ours.
func (w *world) findings(resp any, list string) {
	w.ensureReplicationSet()
	l, _ := get(resp, list).([]any)
	for i, f := range l {
		start := recentEpoch(time.Duration(30-i) * time.Minute)
		// 12.345 s later, or 12.346 where that would fall on a whole
		// second, so that the end too shows fractional seconds.
		end := start + 12.345
		if ms := int64(math.Round(end*1000)) % 1000; ms == 0 {
			end += 0.001
		}
		var details map[string]any
		if cf := get(f, "details", "cloudFormationStackUpdate"); cf != nil {
			details = map[string]any{"cloudFormationStackUpdate": map[string]any{
				"stackArn": w.in(str(cf, "stackArn")), "startTime": start, "endTime": end}}
		} else if cd := get(f, "details", "codeDeployDeployment"); cd != nil {
			details = map[string]any{"codeDeployDeployment": map[string]any{
				"deploymentGroupArn": w.in(str(cd, "deploymentGroupArn")), "deploymentId": w.in(str(cd, "deploymentId")),
				"startTime": start, "endTime": end}}
		} else {
			details = map[string]any{"cloudFormationStackUpdate": map[string]any{
				"stackArn":  "arn:aws:cloudformation:us-east-2:111122223333:stack/my-test-stack/54ae4890-6632-11ee-8958-0ac64EXAMPLE",
				"startTime": start, "endTime": end}}
		}
		w.same(str(f, "id"), w.recordFinding(details))
	}
}

var apiSetups = map[string]apiSetup{
	"BatchGetIncidentFindings": {setup: func(w *world, resp any) {
		w.findings(resp, "findings")
		w.apiIncident(apiFindI)
	}},
	"CreateReplicationSet": {setup: func(w *world, resp any) {}},
	"CreateResponsePlan":   {setup: func(w *world, resp any) { w.ensureReplicationSet() }},
	"CreateTimelineEvent": {setup: func(w *world, resp any) {
		w.apiIncident("arn:aws:ssm-incidents::111122223333:incident-record/example-response/bebd9911-63a7-672f-820b-63731EXAMPLE")
	}},
	"DeleteIncidentRecord": {setup: func(w *world, resp any) {
		w.apiIncident("arn:aws:ssm-incidents::111122223333:incident-record/example-response/bebd9911-63a7-672f-820b-63731f2543ad")
	}},
	"DeleteReplicationSet": {setup: func(w *world, resp any) { w.replicationSet(apiSet, map[string]string{"us-east-1": ""}) }},
	"DeleteResourcePolicy": {setup: func(w *world, resp any) {
		plan := w.plan(apiPlan, nil)
		w.policy("72f95d0502d05ebf6e7d2c30ee0445cf", plan, sharingPolicy(plan))
	}},
	"DeleteResponsePlan": {setup: func(w *world, resp any) {}},
	"DeleteTimelineEvent": {setup: func(w *world, resp any) {
		w.event("a4bd9b45-1fcf-64c3-9d53-121d0f53a7ec", w.apiIncident(apiInc64), at("2021-05-21T18:00:00Z"), "Custom Event", `"example timeline event"`)
	}},
	"GetIncidentRecord": {setup: func(w *world, resp any) { w.apiIncident(apiInc78) }},
	"GetReplicationSet": {principal: userExampleUser, setup: func(w *world, resp any) {
		w.replicationSet(apiSet, map[string]string{
			"us-east-1": str(resp, "replicationSet", "regionMap", "us-east-1", "sseKmsKeyId"),
			"us-east-2": str(resp, "replicationSet", "regionMap", "us-east-2", "sseKmsKeyId"),
		})
	}},
	"GetResourcePolicies": {setup: func(w *world, resp any) {
		w.policy(str(resp, "resourcePolicies", 0, "policyId"), w.plan(apiPlan, nil), str(resp, "resourcePolicies", 0, "policyDocument"))
	}},
	"GetResponsePlan": {setup: func(w *world, resp any) { w.plan(apiPlan, examplePlanAPI(w)) }},
	"GetTimelineEvent": {setup: func(w *world, resp any) {
		inc := w.apiIncident(apiInc78)
		item := w.relatedItem(inc, types.ItemTypeParent, &types.ItemValueMemberArn{Value: "arn:aws:ssm:us-east-1:111122223333:opsItem/oi-4008965bf3a7"}, "parentItem")
		w.same(str(resp, "event", "eventReferences", 0, "relatedItemId"), item)
		events, err := w.c.ListTimelineEvents(w.ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(inc),
			Filters: []types.Filter{{Key: aws.String("eventType"), Condition: &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: []string{"SSM Incident Record Update"}}}}}})
		w.must(err, "ListTimelineEvents")
		if len(events.EventSummaries) != 1 {
			w.t.Fatalf("set-up: %d SSM Incident Record Update events after adding a related item", len(events.EventSummaries))
		}
		w.same(str(resp, "event", "eventId"), *events.EventSummaries[0].EventId)
	}},
	"ListIncidentFindings": {setup: func(w *world, resp any) {
		w.findings(resp, "findings")
		w.apiIncident(apiFindI)
	}},
	"ListIncidentRecords": {setup: func(w *world, resp any) { w.apiIncident(apiInc78) }},
	"ListRelatedItems": {setup: func(w *world, resp any) {
		inc := w.apiIncident(apiInc78)
		w.relatedItem(inc, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: str(resp, "relatedItems", 0, "identifier", "value", "url")}, str(resp, "relatedItems", 0, "title"))
		w.relatedItem(inc, types.ItemTypeParent, &types.ItemValueMemberArn{Value: str(resp, "relatedItems", 1, "identifier", "value", "arn")}, str(resp, "relatedItems", 1, "title"))
	}},
	"ListReplicationSets": {setup: func(w *world, resp any) { w.replicationSet(apiSet, map[string]string{"us-east-1": ""}) }},
	"ListResponsePlans": {setup: func(w *world, resp any) {
		w.plan(apiPlan, &ssmincidents.CreateResponsePlanInput{DisplayName: aws.String(w.in("Example response plan")),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("example-incident"), Impact: aws.Int32(5)}})
	}},
	"ListTagsForResource": {setup: func(w *world, resp any) { w.tag(w.plan(apiPlan, nil), map[string]string{"group1": "1"}) }},
	"ListTimelineEvents": {setup: func(w *world, resp any) {
		inc := w.apiIncident(apiInc78)
		metric := w.relatedItem(inc, types.ItemTypeMetric, &types.ItemValueMemberUrl{Value: "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#metricsV2"}, "Example metric")
		w.same("related-item/METRIC/F95638BAA087E072DC56189CB4D2ADEC", metric)
		ev := get(resp, "eventSummaries", 2)
		w.event(str(ev, "eventId"), inc, at(str(ev, "eventTime")), "Custom Event", `"example timeline event"`,
			&types.EventReferenceMemberRelatedItemId{Value: metric}, &types.EventReferenceMemberResource{Value: inc})
		w.update(&ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(inc), Impact: aws.Int32(4)})
	}},
	"PutResourcePolicy": {setup: func(w *world, resp any) { w.plan(apiPlan, nil) }},
	"StartIncident":     {setup: func(w *world, resp any) { w.plan(apiPlan, nil) }},
	"TagResource":       {setup: func(w *world, resp any) { w.plan(apiPlan, nil) }},
	"UntagResource":     {setup: func(w *world, resp any) { w.tag(w.plan(apiPlan, nil), map[string]string{"group1": "1"}) }},
	"UpdateDeletionProtection": {setup: func(w *world, resp any) {
		w.replicationSet(apiSet, map[string]string{"us-east-1": ""})
	}},
	"UpdateIncidentRecord": {setup: func(w *world, resp any) {
		w.apiIncident("arn:aws:ssm-incidents::111122223333:incident-record/example-response/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc")
	}},
	"UpdateRelatedItems": {setup: func(w *world, resp any) {
		w.relatedItem(w.apiIncident(apiInc64), types.ItemTypeParent, &types.ItemValueMemberArn{Value: "arn:aws:ssm:us-east-1:111122223333:opsItem/oi-86700a5297dc"}, "parentItem")
	}},
	"UpdateReplicationSet": {setup: func(w *world, resp any) {
		w.replicationSet(apiSet, map[string]string{"us-east-1": "", "us-east-2": ""})
	}},
	"UpdateResponsePlan": {setup: func(w *world, resp any) { w.plan(apiPlan, examplePlanAPI(w)) }},
	"UpdateTimelineEvent": {setup: func(w *world, resp any) {
		w.event("a4bd9b45-1fcf-64c3-9d53-121d0f53a7ec", w.apiIncident(apiInc64), at("2021-05-21T18:00:00Z"), "Custom Event", `"example timeline event"`)
	}},
}

// TestAPIReferenceExamples sends each Sample Request of the API reference
// (signed by the test, AWS's identifiers replaced by those of what the test
// set up in their place) and compares the answer with the Sample Response.
func TestAPIReferenceExamples(t *testing.T) {
	m := loadModel(t)
	for _, f := range loadAPIRefFixtures(t) {
		s, ok := apiSetups[f.Operation]
		if !ok {
			t.Errorf("%s has no set-up in apiSetups", f.Operation)
			continue
		}
		for i, ex := range f.Examples {
			in := fmt.Sprintf("example %d", i+1)
			t.Run(fmt.Sprintf("%s/%d", f.Operation, i+1), func(t *testing.T) {
				t.Parallel()
				found := runAPIExample(t, m, f, ex, s)
				reportDiffs(t, f.file, in, in, found, f.KnownDifferences)
			})
		}
	}
}

func runAPIExample(t *testing.T, m *svcModel, f *APIRefFixture, ex APIExample, s apiSetup) []diff {
	req, err := parseSample(ex.Request)
	if err != nil {
		t.Fatal(err)
	}
	awsResp, err := sampleJSON(ex.Response)
	if err != nil {
		t.Fatalf("%s: the Sample Response is not JSON: %v", f.file, err)
	}
	w := newWorld(t, s.principal)
	s.setup(w, awsResp)
	if len(w.diffs) > 0 {
		return w.diffs
	}
	target, body := req.Target, req.Body
	for _, c := range ex.Corrections {
		if !strings.Contains(target, c.From) && !strings.Contains(body, c.From) {
			t.Fatalf("%s: correction %q is not in the Sample Request", f.file, c.From)
		}
		target = strings.ReplaceAll(target, c.From, c.To)
		body = strings.ReplaceAll(body, c.From, c.To)
	}
	if v, err := decodeJSON([]byte(body)); err == nil {
		w.inputsFromArgs([]string{body})
		_ = v
	}
	target, body = w.mapText(target), w.mapText(body)
	var b []byte
	if strings.TrimSpace(body) != "" {
		b = []byte(body)
	}
	resp := w.raw(req.Method, target, b)
	t.Logf("%s %s\n%s\n=> %d %s\n%s", req.Method, target, body, resp.Status, resp.ErrorType, resp.Body)
	if ex.Refusal != nil {
		if resp.Status != ex.Refusal.Status || resp.ErrorType != ex.Refusal.ErrorType {
			return []diff{{"", kindError, fmt.Sprintf("(as the fixture says) %d %s", ex.Refusal.Status, ex.Refusal.ErrorType), fmt.Sprintf("%d %s %s", resp.Status, resp.ErrorType, resp.Body)}}
		}
		return nil
	}
	if resp.Status/100 != 2 {
		return []diff{{"", kindError, "success", fmt.Sprintf("%d %s %s", resp.Status, resp.ErrorType, resp.Body)}}
	}
	var found []diff
	syn, err := parseResponseSyntax(f.ResponseSyntax)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != syn.Status && strings.Contains(req.Target, "/"+lowerFirst(f.Operation)) {
		found = append(found, diff{"", kindStatus, strconv.Itoa(syn.Status), strconv.Itoa(resp.Status)})
	}
	var ours any = map[string]any{}
	if len(resp.Body) > 0 {
		if ours, err = decodeJSON(resp.Body); err != nil {
			return append(found, diff{"", kindBody, "JSON", fmt.Sprintf("%q", resp.Body)})
		}
	}
	c := newComparer(m, w.subst, w.inputs)
	c.rawTimestamps = true
	c.compare("", awsResp, ours, m.outputShape(f.Operation))
	if len(c.extras) > 0 {
		t.Logf("members incidentd answers beyond AWS's Sample Response (the model has them): %s", strings.Join(c.extras, ", "))
	}
	return append(found, c.diffs...)
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// rich is a world with one or two of everything, for requests built from
// the Request Syntax.
type rich struct {
	*world
	set, plan, plan2, inc, inc2, event, item, policy string
	findings                                         []string
}

func newRich(t *testing.T, withSet bool) *rich {
	w := newWorld(t, "")
	r := &rich{world: w}
	if !withSet {
		return r
	}
	r.set = w.replicationSet("", map[string]string{"us-east-1": ""})
	r.plan = w.plan("arn:aws:ssm-incidents::111122223333:response-plan/syntax-plan", nil)
	r.plan2 = w.plan("arn:aws:ssm-incidents::111122223333:response-plan/syntax-plan-2", nil)
	r.inc = w.incident("arn:aws:ssm-incidents::111122223333:incident-record/syntax-plan/00000000-0000-0000-0000-000000000001")
	r.inc2 = w.incident("arn:aws:ssm-incidents::111122223333:incident-record/syntax-plan-2/00000000-0000-0000-0000-000000000002")
	r.event = w.event("", r.inc, time.Now().Add(-time.Hour), "Custom Event", `"syntax"`)
	r.item = w.relatedItem(r.inc, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://example.com/one"}, "one")
	w.relatedItem(r.inc, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://example.com/two"}, "two")
	r.policy, _ = w.policy("", r.plan, sharingPolicy(r.plan))
	w.policy("", r.plan, sharingPolicy(r.plan))
	w.tag(r.plan, map[string]string{"team": "syntax"})
	for i := range 2 {
		start := recentEpoch(time.Duration(20+i) * time.Minute)
		r.findings = append(r.findings, w.recordFinding(map[string]any{"cloudFormationStackUpdate": map[string]any{
			"stackArn": fmt.Sprintf("arn:aws:cloudformation:us-east-1:111122223333:stack/syntax-%d/54ae4890-6632-11ee-8958-0ac640000000", i), "startTime": start, "endTime": start + 60}}))
	}
	return r
}

// value is a plausible value of member name of op, or nil to leave it out.
func (r *rich) value(op, name string, n *synNode) any {
	arnOf := map[string]string{
		"DeleteReplicationSet": r.set, "GetReplicationSet": r.set, "UpdateReplicationSet": r.set, "UpdateDeletionProtection": r.set,
		"GetResponsePlan": r.plan, "UpdateResponsePlan": r.plan, "DeleteResponsePlan": r.plan2,
		"GetIncidentRecord": r.inc, "UpdateIncidentRecord": r.inc, "DeleteIncidentRecord": r.inc2,
	}
	sns := []any{snsTopic}
	switch name {
	case "arn":
		return arnOf[op]
	case "resourceArn", "responsePlanArn":
		return r.plan
	case "incidentRecordArn":
		return r.inc
	case "clientToken":
		return uuid.NewString()
	case "name":
		return "syntax-plan-3"
	case "displayName":
		return "Syntax plan"
	case "title", "incidentTemplateTitle":
		return "Syntax title"
	case "summary", "incidentTemplateSummary":
		return "Syntax summary"
	case "dedupeString", "incidentTemplateDedupeString":
		return "syntax-dedupe"
	case "impact", "incidentTemplateImpact":
		return 3
	case "status":
		return "RESOLVED"
	case "eventData":
		return `"syntax event"`
	case "eventTime", "timestamp":
		return recentEpoch(5 * time.Minute)
	case "eventType":
		return "Custom Event"
	case "eventId":
		return r.event
	case "findingIds":
		return []any{r.findings[0]}
	case "maxResults":
		return 1
	case "nextToken":
		return nil
	case "regions":
		return map[string]any{"us-east-1": map[string]any{"sseKmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}
	case "tags", "incidentTags", "incidentTemplateTags":
		return map[string]any{"team": "syntax"}
	case "tagKeys":
		return "team"
	case "engagements":
		return []any{contact}
	case "policy":
		return sharingPolicy(r.plan)
	case "policyId":
		return r.policy
	case "deletionProtected":
		return true
	case "sortBy":
		return "EVENT_TIME"
	case "sortOrder":
		return "DESCENDING"
	case "rawData":
		return `{"detail-type":"CloudWatch Alarm State Change"}`
	case "source":
		return "aws.cloudwatch"
	case "triggerArn":
		return "arn:aws:cloudwatch:us-east-1:111122223333:alarm:syntax"
	case "generatedId":
		return "related-item/OTHER/00000000000000000000000000000000"
	case "type":
		return "OTHER"
	case "key":
		return map[string]string{"ListIncidentRecords": "status", "ListTimelineEvents": "eventType"}[op]
	case "condition":
		return map[string]any{"equals": map[string]any{"stringValues": []any{map[string]string{"ListIncidentRecords": "OPEN", "ListTimelineEvents": "SSM Incident Record Update"}[op]}}}
	case "chatChannel":
		return map[string]any{"chatbotSns": sns}
	case "notificationTargets", "incidentTemplateNotificationTargets":
		return []any{map[string]any{"snsTopicArn": snsTopic}}
	case "integrations":
		return []any{map[string]any{"pagerDutyConfiguration": map[string]any{"name": "syntax", "secretId": "syntax-secret",
			"pagerDutyIncidentConfiguration": map[string]any{"serviceId": "PSYNTAX"}}}}
	case "eventReferences":
		return []any{map[string]any{"resource": r.inc}}
	case "relatedItemsUpdate":
		return map[string]any{"itemToAdd": map[string]any{"identifier": map[string]any{"type": "OTHER", "value": map[string]any{"url": "https://example.com/three"}}, "title": "three"}}
	case "value":
		return map[string]any{"url": "https://example.com/start"}
	case "actions":
		if op == "UpdateReplicationSet" {
			return []any{map[string]any{"addRegionAction": map[string]any{"regionName": "us-west-2"}}}
		}
		return []any{map[string]any{"ssmAutomation": map[string]any{"documentName": "AWSIncidents-CriticalIncidentRunbookTemplate",
			"documentVersion": "$DEFAULT", "roleArn": runbookRole, "targetAccount": "RESPONSE_PLAN_OWNER_ACCOUNT"}}}
	}
	return r.build(op, n)
}

// build makes a value of a syntax node whose members have plausible values.
func (r *rich) build(op string, n *synNode) any {
	switch n.Kind {
	case "object":
		obj := map[string]any{}
		for _, k := range sortedSyn(n.Members) {
			if v := r.value(op, k, n.Members[k]); v != nil {
				obj[k] = v
			}
		}
		return obj
	case "array":
		if n.Elem == nil {
			return []any{}
		}
		return []any{r.build(op, n.Elem)}
	}
	return nil
}

// wrongType is a value of another JSON type than n's.
func wrongType(n *synNode) any {
	if n.Kind == "string" {
		return 12345
	}
	return "not-a-" + n.Kind
}

// probes are the request bodies with one member of the wrong type, by the
// member's path.
func probes(path string, body map[string]any, n *synNode, set func(any) map[string]any, out map[string]map[string]any) {
	if n == nil || n.Kind != "object" {
		return
	}
	for _, k := range sortedSyn(n.Members) {
		v, ok := body[k]
		if !ok {
			continue
		}
		child := n.Members[k]
		p := joinPath(path, k)
		out[p] = set(func() any { c := cloneMap(body); c[k] = wrongType(child); return c }())
		switch child.Kind {
		case "object":
			if m, ok := v.(map[string]any); ok {
				probes(p, m, child, func(nv any) map[string]any { c := cloneMap(body); c[k] = nv; return set(c) }, out)
			}
		case "array":
			if l, ok := v.([]any); ok && len(l) > 0 && child.Elem != nil && child.Elem.Kind == "object" {
				if m, ok := l[0].(map[string]any); ok {
					probes(p+"[]", m, child.Elem, func(nv any) map[string]any { c := cloneMap(body); c[k] = []any{nv}; return set(c) }, out)
				}
			}
		}
	}
}

func cloneMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// target is the path and query of a request built from the syntax.
func (r *rich) target(op string, s *syntax, extraQuery url.Values) string {
	p := s.Path
	for _, l := range s.Labels {
		v, _ := r.value(op, l, &synNode{Kind: "string"}).(string)
		p = reLabel.ReplaceAllStringFunc(p, func(m string) string {
			if reLabel.FindStringSubmatch(m)[1] == l {
				return url.PathEscape(v)
			}
			return m
		})
	}
	q := url.Values{}
	for _, name := range s.Query {
		if v, ok := r.value(op, name, &synNode{Kind: "string"}).(string); ok {
			q.Set(name, v)
		}
	}
	for k, v := range extraQuery {
		q[k] = v
	}
	if len(q) > 0 {
		return p + "?" + q.Encode()
	}
	return p
}

func (r *rich) send(method, target string, body map[string]any) testserver.Response {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			r.t.Fatal(err)
		}
	}
	return r.raw(method, target, b)
}

// TestAPIReferenceRequests sends, for every operation, a request built
// from its Request Syntax with every member the syntax shows (plausible
// values), and checks that it succeeds with the status of the Response
// Syntax and that every member of the answer is one the Response Syntax
// lists, with the type it shows. It then sends the request again with each
// body member in turn of the wrong JSON type: the server must refuse it
// (SerializationException), which shows that it reads the member. The
// filter keys the page documents are each sent in a filter of their own.
func TestAPIReferenceRequests(t *testing.T) {
	for _, f := range loadAPIRefFixtures(t) {
		t.Run(f.Operation, func(t *testing.T) {
			t.Parallel()
			req, err := parseRequestSyntax(f.RequestSyntax)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := parseResponseSyntax(f.ResponseSyntax)
			if err != nil {
				t.Fatal(err)
			}
			r := newRich(t, f.Operation != "CreateReplicationSet")
			var reqDiffs, respDiffs []diff
			var body map[string]any
			if req.Body != nil {
				body, _ = r.build(f.Operation, req.Body).(map[string]any)
			}
			target := r.target(f.Operation, req, nil)
			got := r.send(req.Method, target, body)
			t.Logf("%s %s %s\n=> %d %s %s", req.Method, target, short(body), got.Status, got.ErrorType, got.Body)
			if got.Status/100 != 2 {
				reqDiffs = append(reqDiffs, diff{"", kindRefused, "a request with every member of the Request Syntax", fmt.Sprintf("%d %s %s", got.Status, got.ErrorType, got.Body)})
			} else {
				respDiffs = append(respDiffs, checkResponse(got, resp)...)
				if tok := nextTokenOf(got.Body); tok != "" {
					var again testserver.Response
					if body != nil && req.Body.Members["nextToken"] != nil {
						b := cloneMap(body)
						b["nextToken"] = tok
						again = r.send(req.Method, target, b)
					}
					if again.Status/100 != 2 {
						reqDiffs = append(reqDiffs, diff{"nextToken", kindRefused, "the nextToken of the first page", fmt.Sprintf("%d %s %s", again.Status, again.ErrorType, again.Body)})
					}
				} else if req.Body != nil && req.Body.Members["nextToken"] != nil {
					t.Logf("nextToken not sent: the first page (maxResults 1) has none")
				}
			}
			// Each body member of the wrong type is refused.
			all := map[string]map[string]any{}
			if body != nil {
				probes("", body, req.Body, func(v any) map[string]any { return v.(map[string]any) }, all)
			}
			paths := make([]string, 0, len(all))
			for p := range all {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				got := r.send(req.Method, target, all[p])
				if got.Status != 400 || got.ErrorType != "SerializationException" {
					reqDiffs = append(reqDiffs, diff{p, kindIgnored, "400 SerializationException for a value of the wrong type", fmt.Sprintf("%d %s %s", got.Status, got.ErrorType, got.Body)})
				}
			}
			t.Logf("%d members of the wrong type sent, one at a time", len(paths))
			// Each documented filter key is accepted.
			for _, key := range f.FilterKeys {
				b := cloneMap(body)
				b["filters"] = []any{map[string]any{"key": key, "condition": r.filterCondition(key)}}
				got := r.send(req.Method, target, b)
				if got.Status/100 != 2 {
					reqDiffs = append(reqDiffs, diff{"filters[].key=" + key, kindRefused, "a filter on a key the page documents", fmt.Sprintf("%d %s %s", got.Status, got.ErrorType, got.Body)})
				}
			}
			reportDiffs(t, f.file, "request syntax", "request syntax", reqDiffs, f.KnownDifferences)
			reportDiffs(t, f.file, "response syntax", "response syntax", respDiffs, f.KnownDifferences)
		})
	}
}

func (r *rich) filterCondition(key string) any {
	switch key {
	case "eventTime", "creationTime":
		return map[string]any{"after": recentEpoch(48 * time.Hour)}
	case "impact":
		return map[string]any{"equals": map[string]any{"integerValues": []any{5}}}
	case "status":
		return map[string]any{"equals": map[string]any{"stringValues": []any{"OPEN"}}}
	case "createdBy":
		return map[string]any{"equals": map[string]any{"stringValues": []any{"arn:aws:iam::111122223333:root"}}}
	case "eventType":
		return map[string]any{"equals": map[string]any{"stringValues": []any{"Custom Event"}}}
	case "eventReference":
		return map[string]any{"equals": map[string]any{"stringValues": []any{r.inc}}}
	}
	return map[string]any{"equals": map[string]any{"stringValues": []any{"x"}}}
}

// checkResponse checks an answer against the Response Syntax.
func checkResponse(got testserver.Response, s *syntax) []diff {
	var out []diff
	if got.Status != s.Status {
		out = append(out, diff{"", kindStatus, strconv.Itoa(s.Status), strconv.Itoa(got.Status)})
	}
	switch {
	case s.Body == nil && len(got.Body) > 0:
		out = append(out, diff{"", kindBody, "no body", fmt.Sprintf("%q", got.Body)})
	case s.Body != nil && len(got.Body) == 0:
		out = append(out, diff{"", kindBody, "a JSON body", "none"})
	case s.Body != nil:
		v, err := decodeJSON(got.Body)
		if err != nil {
			return append(out, diff{"", kindBody, "a JSON body", fmt.Sprintf("%q", got.Body)})
		}
		checkAgainstSyntax("", v, s.Body, func(d diff) { out = append(out, d) })
	}
	return out
}

func nextTokenOf(body []byte) string {
	var v struct {
		NextToken string `json:"nextToken"`
	}
	_ = json.Unmarshal(body, &v)
	return v.NextToken
}
