package restjson_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// presignedURL is how a test presigns a request with the AWS SDK for Go v2's
// presigner (v4.Signer.PresignHTTP).
type presignedURL struct {
	key, secret string
	at          time.Time
	expires     int    // X-Amz-Expires in seconds; 0 sends none
	payloadHash string // "" means the SHA-256 of the body, as for every service but S3
}

// presign presigns method path (escaped as on the wire, query included)
// with body, and returns the request a client makes of the URL: the same
// method and body, the headers the presigner signed, no Authorization.
func (p presignedURL) presign(t *testing.T, srv *testserver.Server, method, path string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, srv.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.expires != 0 {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(p.expires))
		req.URL.RawQuery = q.Encode()
	}
	ph := p.payloadHash
	if ph == "" {
		sum := sha256.Sum256(body)
		ph = hex.EncodeToString(sum[:])
	}
	signedURL, signed, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: p.key, SecretAccessKey: p.secret}, req, ph, "ssm-incidents", testserver.Region, p.at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(method, signedURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range signed {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return out
}

func presignedBy(key, secret string) presignedURL {
	return presignedURL{key: key, secret: secret, at: time.Now(), expires: 300}
}

// presignFixture creates what the presigned requests read: a replication
// set, a response plan and an incident record of account A.
func presignFixture(t *testing.T, srv *testserver.Server) (replicationSetARN, incidentARN string) {
	t.Helper()
	ctx := context.Background()
	c := srv.A()
	rs, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("presigned"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout is down"), Impact: aws.Int32(2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(rs.Arn), aws.ToString(inc.IncidentRecordArn)
}

// TestPresignedRequests sends requests presigned by the AWS SDK for Go v2 to
// a running server with net/http, as a client given the URL would.
func TestPresignedRequests(t *testing.T) {
	srv := testserver.Start(t)
	rsARN, incARN := presignFixture(t, srv)
	getIncident := "/getIncidentRecord?arn=" + url.QueryEscape(incARN)
	a := presignedBy(testserver.KeyA, testserver.SecretA)

	var plans struct {
		ResponsePlanSummaries []struct{ Name string }
	}
	var sets struct{ ReplicationSetArns []string }
	var record struct{ IncidentRecord struct{ Arn, Title string } }
	tests := []struct {
		name, method, path, body string
		p                        presignedURL
		out                      any
		check                    func() bool
	}{
		{
			name: "ListResponsePlans", method: "POST", path: "/listResponsePlans", body: `{"maxResults":5}`, p: a, out: &plans,
			check: func() bool {
				return len(plans.ResponsePlanSummaries) == 1 && plans.ResponsePlanSummaries[0].Name == "presigned"
			},
		},
		{
			name: "GetIncidentRecord", method: "GET", path: getIncident, p: a, out: &record,
			check: func() bool {
				return record.IncidentRecord.Arn == incARN && record.IncidentRecord.Title == "Checkout is down"
			},
		},
		{
			name: "ListReplicationSets", method: "POST", path: "/listReplicationSets", body: `{}`, p: a, out: &sets,
			check: func() bool { return len(sets.ReplicationSetArns) == 1 && sets.ReplicationSetArns[0] == rsARN },
		},
		{
			name: "without X-Amz-Expires, as PresignHTTP makes it by default", method: "GET", path: getIncident,
			p: func() presignedURL { p := a; p.expires = 0; return p }(), out: &record,
			check: func() bool { return record.IncidentRecord.Arn == incARN },
		},
		{
			name: "signed an hour ago, valid for two", method: "POST", path: "/listReplicationSets", body: `{}`,
			p: func() presignedURL { p := a; p.at, p.expires = time.Now().Add(-time.Hour), 7200; return p }(), out: &sets,
			check: func() bool { return len(sets.ReplicationSetArns) == 1 },
		},
		{
			name: "the key of another account sees that account's resources", method: "POST", path: "/listResponsePlans", body: `{}`,
			p: presignedBy(testserver.KeyB, testserver.SecretB), out: &plans,
			check: func() bool { return len(plans.ResponsePlanSummaries) == 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans.ResponsePlanSummaries, sets.ReplicationSetArns, record.IncidentRecord.Arn = nil, nil, ""
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			req := tt.p.presign(t, srv, tt.method, tt.path, body)
			if req.Header.Get("Authorization") != "" || req.URL.Query().Get("X-Amz-Signature") == "" {
				t.Fatalf("not a presigned request: %s %v", req.URL, req.Header)
			}
			r := srv.Send(req)
			if r.Status != http.StatusOK {
				t.Fatalf("got %d %s: %s", r.Status, r.ErrorType, r.Body)
			}
			if err := json.Unmarshal(r.Body, tt.out); err != nil || !tt.check() {
				t.Fatalf("answer %s (%v)", r.Body, err)
			}
		})
	}
}

// TestPresignedRequestsRefused checks the codes and messages of presigned
// requests the server refuses, and that the log line of a refused one names
// its access key but never its signature.
func TestPresignedRequestsRefused(t *testing.T) {
	srv := testserver.Start(t)
	_, incARN := presignFixture(t, srv)
	getIncident := "/getIncidentRecord?arn=" + url.QueryEscape(incARN)
	a := presignedBy(testserver.KeyA, testserver.SecretA)
	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	// query replaces the value of the query parameter name.
	query := func(name, value string) func(*http.Request) {
		return func(r *http.Request) {
			q := r.URL.Query()
			q.Set(name, value)
			r.URL.RawQuery = q.Encode()
		}
	}
	var signatures []string

	tests := []struct {
		name, method, path, body string
		p                        presignedURL
		after                    func(*http.Request)
		code, message            string // message "…" ending: a prefix
	}{
		{
			name: "expired", method: "GET", path: getIncident,
			p:    func() presignedURL { p := a; p.at, p.expires = time.Now().Add(-10*time.Minute), 60; return p }(),
			code: "InvalidSignatureException", message: "Signature expired: …",
		},
		{
			name: "expired without X-Amz-Expires: 15 minutes", method: "GET", path: getIncident,
			p:    func() presignedURL { p := a; p.at, p.expires = time.Now().Add(-20*time.Minute), 0; return p }(),
			code: "InvalidSignatureException", message: "Signature expired: …",
		},
		{
			name: "not yet current", method: "GET", path: getIncident,
			p:    func() presignedURL { p := a; p.at = time.Now().Add(20 * time.Minute); return p }(),
			code: "InvalidSignatureException", message: "Signature not yet current: …",
		},
		{
			name: "tampered query: another record", method: "GET", path: getIncident, p: a,
			after: query("arn", incARN+"x"),
			code:  "InvalidSignatureException", message: mismatch,
		},
		{
			name: "tampered query: X-Amz-Expires lengthened", method: "GET", path: getIncident, p: a,
			after: query("X-Amz-Expires", "3600"),
			code:  "InvalidSignatureException", message: mismatch,
		},
		{
			name: "tampered body", method: "POST", path: "/listResponsePlans", body: `{"maxResults":5}`, p: a,
			after: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"maxResults":6}`)) // of the same length
			},
			code: "InvalidSignatureException", message: mismatch,
		},
		{
			name: "UNSIGNED-PAYLOAD, which only S3 accepts", method: "POST", path: "/listResponsePlans", body: `{}`,
			p:    func() presignedURL { p := a; p.payloadHash = "UNSIGNED-PAYLOAD"; return p }(),
			code: "InvalidSignatureException", message: mismatch,
		},
		{
			name: "unknown key", method: "GET", path: getIncident, p: presignedBy("AKIDPRESIGNEDUNKNOWN", "whatever"),
			code: "UnrecognizedClientException", message: "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret", method: "GET", path: getIncident, p: presignedBy(testserver.KeyA, "not-the-secret"),
			code: "InvalidSignatureException", message: mismatch,
		},
		{
			name: "an Authorization header too", method: "GET", path: getIncident, p: a,
			after: func(r *http.Request) {
				srv.Sign(r, nil, testserver.KeyA, testserver.SecretA, time.Now())
			},
			code: "InvalidSignatureException", message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name: "X-Amz-Signature missing", method: "GET", path: getIncident, p: a,
			after: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
			},
			code: "IncompleteSignatureException", message: "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
		},
		{
			name: "X-Amz-Expires over a week", method: "GET", path: getIncident,
			p:    func() presignedURL { p := a; p.expires = 604801; return p }(),
			code: "IncompleteSignatureException",
			message: "X-Amz-Expires must be less than a week (in seconds); " +
				"that is, the given X-Amz-Expires must be less than 604800 seconds",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			req := tt.p.presign(t, srv, tt.method, tt.path, body)
			signatures = append(signatures, req.URL.Query().Get("X-Amz-Signature"))
			if tt.after != nil {
				tt.after(req)
			}
			r := srv.Send(req)
			if r.Status != http.StatusForbidden || r.ErrorType != tt.code {
				t.Fatalf("got %d %s: %s, want 403 %s", r.Status, r.ErrorType, r.Body, tt.code)
			}
			var e struct{ Message string }
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Fatal(err)
			}
			if prefix, ok := strings.CutSuffix(tt.message, "…"); ok && !strings.HasPrefix(e.Message, prefix) ||
				!ok && e.Message != tt.message {
				t.Fatalf("message %q, want %q", e.Message, tt.message)
			}
		})
	}

	log := srv.Log.String()
	if !strings.Contains(log, "error_code=UnrecognizedClientException access_key_id=AKIDPRESIGNEDUNKNOWN") {
		t.Errorf("no log line names the unknown key of a presigned request:\n%s", log)
	}
	for _, sig := range signatures {
		if sig != "" && strings.Contains(log, sig) {
			t.Errorf("the log repeats a presigned request's signature %s", sig)
		}
	}
}

// TestPresignedRequestsBoto3 presigns requests with boto3
// (generate_presigned_url) and sends them with Python's urllib, as a user
// given the URL would. botocore presigns POST operations too: it moves the
// JSON body's members into the query string and signs an empty body and
// the Content-Type header (application/json), so the URL must be sent with
// POST, that header and no body.
func TestPresignedRequestsBoto3(t *testing.T) {
	python := testserver.RequireTool(t, "python3", "install Python 3 with boto3 (pip install boto3)")
	srv := testserver.Start(t)
	rsARN, incARN := presignFixture(t, srv)
	script := `
import sys, json, urllib.request, urllib.error, boto3
endpoint, key, secret, arn = sys.argv[1:5]
def client(key, secret):
    return boto3.client("ssm-incidents", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret)
def send(url, method, headers):
    req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return [r.status, "", json.loads(r.read())]
    except urllib.error.HTTPError as e:
        return [e.code, e.headers.get("x-amzn-ErrorType"), json.loads(e.read())]
c = client(key, secret)
out = {
    "list_replication_sets": send(c.generate_presigned_url("list_replication_sets", ExpiresIn=60), "POST", {"Content-Type": "application/json"}),
    "list_response_plans": send(c.generate_presigned_url("list_response_plans", ExpiresIn=60), "POST", {"Content-Type": "application/json"}),
    "get_incident_record": send(c.generate_presigned_url("get_incident_record", Params={"arn": arn}, ExpiresIn=60), "GET", {}),
    "default_expiry": send(c.generate_presigned_url("get_incident_record", Params={"arn": arn}), "GET", {}),
    # urllib sends application/x-www-form-urlencoded, not the Content-Type botocore signed.
    "post_without_content_type": send(c.generate_presigned_url("list_replication_sets", ExpiresIn=60), "POST", {}),
    "tampered": send(c.generate_presigned_url("get_incident_record", Params={"arn": arn}, ExpiresIn=60).replace("X-Amz-Expires=60", "X-Amz-Expires=600"), "GET", {}),
    "unknown_key": send(client("AKIDBOTOUNKNOWN", "whatever").generate_presigned_url("get_incident_record", Params={"arn": arn}, ExpiresIn=60), "GET", {}),
}
print(json.dumps(out))
`
	cmd := exec.Command(python, "-c", script, srv.Endpoint, testserver.KeyA, testserver.SecretA, incARN)
	cmd.Env = append(cmd.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "No module named") {
		testserver.MissingTool(t, "boto3 is not installed: pip install boto3")
	}
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got map[string][3]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 printed %s: %v", out, err)
	}
	answer := func(name string) (status int, code string, body []byte) {
		t.Helper()
		r, ok := got[name]
		if !ok {
			t.Fatalf("no answer %s in %s", name, out)
		}
		if err := json.Unmarshal(r[0], &status); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(r[1], &code); err != nil {
			t.Fatal(err)
		}
		return status, code, r[2]
	}
	wantOK := func(name, contains string) {
		t.Helper()
		if status, code, body := answer(name); status != 200 || !strings.Contains(string(body), contains) {
			t.Errorf("%s: %d %s %s, want 200 with %q", name, status, code, body, contains)
		}
	}
	wantOK("list_replication_sets", rsARN)
	wantOK("list_response_plans", "response-plan/presigned")
	wantOK("get_incident_record", incARN)
	wantOK("default_expiry", incARN)
	for name, code := range map[string]string{
		"post_without_content_type": "InvalidSignatureException",
		"tampered":                  "InvalidSignatureException",
		"unknown_key":               "UnrecognizedClientException",
	} {
		if status, got, body := answer(name); status != 403 || got != code {
			t.Errorf("%s: %d %s %s, want 403 %s", name, status, got, body, code)
		}
	}
}
