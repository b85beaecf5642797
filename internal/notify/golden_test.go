package notify_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/testserver"
)

var regen = flag.Bool("regen", false, "rewrite the golden files of testdata/ from what the server queues")

// TestMessagesMatchGoldenFiles queues one notification of each kind (start,
// update, resolution, related item added and removed) and compares each
// message, its id, time, the incident's UUID and a related item's
// generated id replaced by placeholders,
// with its golden file in testdata/, and each golden file with the JSON
// Schema docs/notification.schema.json.
func TestMessagesMatchGoldenFiles(t *testing.T) {
	// No SNS endpoint and no credentials: the deliveries stay queued.
	srv := testserver.Start(t)
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	topic := "arn:aws:sns:us-east-1:" + testserver.AccountA + ":incidents"
	plan := planNotifying(t, c, "golden", []string{topic}, nil)
	arn := change(t, c, plan)
	item := &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://status.example.com"}}
	if _, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: aws.String(arn),
		RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToRemove{Value: *item}}); err != nil {
		t.Fatal(err)
	}
	ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: arn}, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ds, func(a, b *domain.Delivery) int { return int(a.Seq - b.Seq) })
	kinds := []string{"start", "update", "resolution", "related-item-added", "related-item-removed"}
	if len(ds) != len(kinds) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(kinds))
	}
	// The plan's test message to its topic, checked against its own schema.
	tests, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: plan}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 1 {
		t.Fatalf("%d test messages of the plan, want 1", len(tests))
	}
	ds = append(ds, tests[0])
	kinds = append(kinds, "test")
	schemas := map[string]*schemaNode{"": loadSchema(t, "notification.schema.json"), "test": loadSchema(t, "notification-test.schema.json")}
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	generatedID := regexp.MustCompile(`related-item/([A-Z_]+)/[0-9A-F]{32}`)
	for i, kind := range kinds {
		var v map[string]any
		if err := json.Unmarshal(ds[i].Message, &v); err != nil {
			t.Fatal(err)
		}
		v["id"], v["time"] = "<id>", "<time>"
		got := uuid.ReplaceAll(indented(t, v), []byte("<uuid>"))
		got = generatedID.ReplaceAll(got, []byte("related-item/$1/<hex>"))
		schema := schemas[""]
		if kind == "test" {
			schema = schemas["test"]
		}
		compareGolden(t, kind, got, schema)
	}
}

// indented is v as indented JSON, its text as it is.
func indented(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compareGolden compares the message got of a kind with its golden file,
// testdata/message-KIND.json (written anew with -regen), and checks the
// golden file against schema.
func compareGolden(t *testing.T, kind string, got []byte, schema *schemaNode) {
	t.Helper()
	path := filepath.Join("testdata", "message-"+kind+".json")
	if *regen {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s ./internal/notify -regen writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the %s message differs from %s:\n%s", kind, path, got)
	}
	var golden map[string]any
	if err := json.Unmarshal(want, &golden); err != nil {
		t.Fatal(err)
	}
	checkSchema(t, kind, schema, golden)
}

// TestAPICallEventMatchesGoldenFile compares the API-call event of an
// UpdateIncidentRecord that resolves an incident, its ids, times, request
// id, user agent and clientToken replaced by placeholders, with
// testdata/message-api-call.json, and that with the JSON Schema
// docs/api-call-event.schema.json.
func TestAPICallEventMatchesGoldenFile(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) { c.Service.EventBus = "incidents" })
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan := planNotifying(t, c, "golden", nil, nil)
	out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.IncidentRecordArn)
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Status: types.IncidentRecordStatusResolved,
		Summary: aws.String("Rolled back the release of 10:02.")}); err != nil {
		t.Fatal(err)
	}
	ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: arn}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	for _, d := range ds {
		if strings.Contains(string(d.Message), `"eventName":"UpdateIncidentRecord"`) {
			if err := json.Unmarshal(d.Message, &v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v == nil {
		t.Fatal("no API-call event of the update is queued")
	}
	detail := v["detail"].(map[string]any)
	v["id"], v["time"] = "<id>", "<time>"
	detail["eventID"], detail["eventTime"], detail["requestID"], detail["userAgent"] = "<id>", "<time>", "<request id>", "<user agent>"
	detail["requestParameters"].(map[string]any)["clientToken"] = "<client token>"
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	compareGolden(t, "api-call", uuid.ReplaceAll(indented(t, v), []byte("<uuid>")), loadSchema(t, "api-call-event.schema.json"))
}

// schemaNode is the part of JSON Schema the notification schema uses.
type schemaNode struct {
	Type       string                 `json:"type"`
	Required   []string               `json:"required"`
	Properties map[string]*schemaNode `json:"properties"`
	Items      *schemaNode            `json:"items"`
	Enum       []any                  `json:"enum"`
	Const      any                    `json:"const"`
	// AdditionalProperties true admits members the schema does not name.
	AdditionalProperties bool `json:"additionalProperties"`
}

func loadSchema(t *testing.T, name string) *schemaNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	var s schemaNode
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("docs/%s: %v", name, err)
	}
	return &s
}

// checkSchema checks v against s: types, required members, enums and
// constants, and that v has no member s does not describe.
func checkSchema(t *testing.T, at string, s *schemaNode, v any) {
	t.Helper()
	typeOf := func(v any) string {
		switch v := v.(type) {
		case map[string]any:
			return "object"
		case []any:
			return "array"
		case string:
			return "string"
		case bool:
			return "boolean"
		case float64:
			if v == float64(int64(v)) {
				return "integer"
			}
			return "number"
		}
		return "null"
	}
	if got := typeOf(v); s.Type != "" && got != s.Type && !(s.Type == "number" && got == "integer") {
		t.Errorf("%s: a %s, the schema says %s", at, got, s.Type)
		return
	}
	if s.Const != nil && v != s.Const {
		t.Errorf("%s: %v, the schema says %v", at, v, s.Const)
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		t.Errorf("%s: %v is none of %v", at, v, s.Enum)
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := v[r]; !ok {
				t.Errorf("%s: no member %s", at, r)
			}
		}
		for k, m := range v {
			p, ok := s.Properties[k]
			if !ok && s.AdditionalProperties {
				continue
			}
			if !ok {
				t.Errorf("%s: member %s is not in the schema", at, k)
				continue
			}
			checkSchema(t, at+"."+k, p, m)
		}
	case []any:
		for _, m := range v {
			if s.Items != nil {
				checkSchema(t, at+"[]", s.Items, m)
			}
		}
	}
}
