package restjson_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// seedIncidents creates a replication set, a plan and n incidents with long
// summaries in account A, and returns the plan's ARN and the incidents' ARNs.
func seedIncidents(t testing.TB, srv *testserver.Server, n int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}},
	}); err != nil {
		t.Fatalf("CreateReplicationSet: %v", err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("seed"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout latency"), Impact: aws.Int32(3),
			Summary: aws.String(strings.Repeat("Checkout requests take longer than two seconds. ", 8))},
	})
	if err != nil {
		t.Fatalf("CreateResponsePlan: %v", err)
	}
	var arns []string
	for i := range n {
		out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{
			ResponsePlanArn: plan.Arn, Title: aws.String("Checkout latency " + strconv.Itoa(i)),
		})
		if err != nil {
			t.Fatalf("StartIncident: %v", err)
		}
		arns = append(arns, aws.ToString(out.IncidentRecordArn))
	}
	return aws.ToString(plan.Arn), arns
}

// rawClient sends requests as they are and returns answers as they came:
// no transparent decompression.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// sendRaw signs and sends a POST of body to path with the extra headers.
func sendRaw(t *testing.T, srv *testserver.Server, path string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	srv.Sign(req, body, testserver.KeyA, testserver.SecretA, time.Now())
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestEveryAnswerCarriesContentLength checks success answers with a body
// (small and large) and errors: each has a Content-Length equal to its body
// and none is chunked; a 204 has neither body nor length (RFC 9110).
func TestEveryAnswerCarriesContentLength(t *testing.T) {
	srv := testserver.Start(t)
	_, incidents := seedIncidents(t, srv, 20)
	cases := []struct {
		name, path string
		body       string
		status     int
	}{
		{"large page", "/listIncidentRecords", `{"maxResults":20}`, 200},
		{"small answer", "/listReplicationSets", `{}`, 200},
		{"record", "/getIncidentRecord?arn=" + incidents[0], ``, 200},
		{"no content", "/updateIncidentRecord", `{"arn":"` + incidents[0] + `","impact":2}`, 204},
		{"validation error", "/listIncidentRecords", `{"maxResults":0}`, 400},
		{"not found", "/getIncidentRecord?arn=arn:aws:ssm-incidents::111122223333:incident-record/seed/none", ``, 404},
		{"unknown operation", "/noSuchOperation", `{}`, 404},
	}
	for _, tc := range cases {
		for _, enc := range []string{"", "gzip"} {
			t.Run(tc.name+"/"+enc, func(t *testing.T) {
				method := http.MethodPost
				if strings.HasPrefix(tc.path, "/getIncidentRecord") {
					method = http.MethodGet
				}
				req, err := http.NewRequest(method, srv.Endpoint+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if enc != "" {
					req.Header.Set("Accept-Encoding", enc)
				}
				srv.Sign(req, []byte(tc.body), testserver.KeyA, testserver.SecretA, time.Now())
				resp, err := rawClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
				}
				cl := resp.Header.Get("Content-Length")
				if tc.status == http.StatusNoContent {
					// RFC 9110: a 204 has no body and no Content-Length.
					if len(b) != 0 || len(resp.TransferEncoding) > 0 || cl != "" {
						t.Fatalf("204 with body %q, Transfer-Encoding %v, Content-Length %q", b, resp.TransferEncoding, cl)
					}
					return
				}
				if cl == "" || len(resp.TransferEncoding) > 0 {
					t.Fatalf("Content-Length %q, Transfer-Encoding %v: want a length, not chunks", cl, resp.TransferEncoding)
				}
				if n, _ := strconv.Atoi(cl); n != len(b) {
					t.Fatalf("Content-Length %s, body of %d bytes", cl, len(b))
				}
			})
		}
	}
}

// TestLargeAnswersAreGzipped asks for a 20-record page with and without
// gzip: with it, the answer is gzip-encoded, much smaller, and decodes to
// the same JSON; without it, and for small answers, it is not encoded.
func TestLargeAnswersAreGzipped(t *testing.T) {
	srv := testserver.Start(t)
	seedIncidents(t, srv, 20)
	page := []byte(`{"maxResults":20}`)

	plain, plainBody := sendRaw(t, srv, "/listIncidentRecords", page, nil)
	if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("without Accept-Encoding: %d, Content-Encoding %q", plain.StatusCode, plain.Header.Get("Content-Encoding"))
	}
	var records struct{ IncidentRecordSummaries []json.RawMessage }
	if err := json.Unmarshal(plainBody, &records); err != nil || len(records.IncidentRecordSummaries) != 20 {
		t.Fatalf("page of %d records (%v)", len(records.IncidentRecordSummaries), err)
	}

	zipped, zippedBody := sendRaw(t, srv, "/listIncidentRecords", page, map[string]string{"Accept-Encoding": "gzip"})
	if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("with Accept-Encoding gzip: %d, Content-Encoding %q", zipped.StatusCode, zipped.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zippedBody))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plainBody) {
		t.Fatalf("the gzip answer decodes to other JSON:\n%s\nwant\n%s", unzipped, plainBody)
	}
	if len(zippedBody)*3 > len(plainBody) {
		t.Fatalf("gzip answer of %d bytes for %d bytes of JSON: want less than a third", len(zippedBody), len(plainBody))
	}
	t.Logf("20-record page: %d bytes, %d gzip-encoded", len(plainBody), len(zippedBody))

	for _, refused := range []string{"gzip;q=0", "identity", "br"} {
		resp, _ := sendRaw(t, srv, "/listIncidentRecords", page, map[string]string{"Accept-Encoding": refused})
		if got := resp.Header.Get("Content-Encoding"); got != "" {
			t.Fatalf("Accept-Encoding %q answered with Content-Encoding %q", refused, got)
		}
	}
	small, _ := sendRaw(t, srv, "/listReplicationSets", []byte(`{}`), map[string]string{"Accept-Encoding": "gzip"})
	if got := small.Header.Get("Content-Encoding"); got != "" {
		t.Fatalf("a small answer came with Content-Encoding %q", got)
	}
}

// TestSDKWalksPagesWithoutErrors walks 2,000 pages of large answers with
// the Go SDK and its default retries: every call succeeds.
func TestSDKWalksPagesWithoutErrors(t *testing.T) {
	srv := testserver.Start(t)
	seedIncidents(t, srv, 40)
	c := srv.A()
	ctx := context.Background()
	pages := 0
	for pages < 2000 {
		p := ssmincidents.NewListIncidentRecordsPaginator(c, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(20)})
		for p.HasMorePages() && pages < 2000 {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			if len(out.IncidentRecordSummaries) != 20 {
				t.Fatalf("page %d has %d records, want 20", pages, len(out.IncidentRecordSummaries))
			}
			pages++
		}
	}
}
