package restjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/incidentd/incidentd/internal/model"
)

// updateIncidentRecordBody is an UpdateIncidentRecord request as the AWS SDK
// sends it, with every member set.
var updateIncidentRecordBody = []byte(`{"arn":"arn:aws:ssm-incidents::111122223333:incident-record/example-response/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc",` +
	`"chatChannel":{"chatbotSns":["arn:aws:sns:us-east-1:111122223333:chat-channel"]},` +
	`"clientToken":"b5d3e6d4-1d3c-4b47-a7a4-6c5a5fbb1e3a","impact":2,` +
	`"notificationTargets":[{"snsTopicArn":"arn:aws:sns:us-east-1:111122223333:on-call"},{"snsTopicArn":"arn:aws:sns:us-east-1:111122223333:managers"}],` +
	`"status":"RESOLVED","summary":"The primary database stopped answering after a failed deployment; traffic failed over to the replica and the deployment was rolled back.",` +
	`"title":"Database outage in us-east-1"}`)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkTransportUpdateIncidentRecord measures what the transport adds to
// one UpdateIncidentRecord: routing, reading the body, SigV4 verification,
// JSON decoding, validation against the model, and writing the 204. The
// operation itself is a no-op here.
func BenchmarkTransportUpdateIncidentRecord(b *testing.B) {
	benchmarkTransport(b, Limits{})
}

// BenchmarkTransportUpdateIncidentRecordThrottled is the same request
// through the account's write bucket and the bound of requests in flight,
// with limits it never reaches: what throttling adds.
func BenchmarkTransportUpdateIncidentRecordThrottled(b *testing.B) {
	benchmarkTransport(b, Limits{ReadRate: 1e9, WriteRate: 1e9, MaxInFlight: 256})
}

func benchmarkTransport(b *testing.B, limits Limits) {
	var called int
	ops := map[string]opFunc{}
	for _, op := range model.Operations {
		ops[op.Name] = func(ctx context.Context, in model.Input) (any, error) {
			called++
			return &model.UpdateIncidentRecordOutput{}, nil
		}
	}
	keys := map[string]Key{"AKIDBENCH": {SecretAccessKey: "bench-secret", Account: "111122223333", Principal: "arn:aws:iam::111122223333:root"}}
	h := newHandler(ops, StaticKeys(keys), slog.New(slog.DiscardHandler), nil)
	h.SetLimits(limits)

	req, _ := http.NewRequest("POST", "http://127.0.0.1:4747/updateIncidentRecord", bytes.NewReader(updateIncidentRecordBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/ssmincidents#1.40.1")
	req.Header.Set("Amz-Sdk-Invocation-Id", "0b7d3a3c-8b3d-4a0f-9a43-3a6cf0f2e0a1")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.ContentLength = int64(len(updateIncidentRecordBody))
	sum := sha256.Sum256(updateIncidentRecordBody)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-secret"},
		req, hex.EncodeToString(sum[:]), "ssm-incidents", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	req.RequestURI = req.URL.RequestURI()
	body := bytes.NewReader(updateIncidentRecordBody)
	w := &discardWriter{h: http.Header{}}

	b.ReportAllocs()
	b.SetBytes(int64(len(updateIncidentRecordBody)))
	for b.Loop() {
		body.Reset(updateIncidentRecordBody)
		req.Body = io.NopCloser(body)
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if called == 0 {
		b.Fatal("the operation was never reached")
	}
}

// BenchmarkThrottle measures what throttling adds to a request: a place
// among the requests in flight, and a token of the account's write bucket.
func BenchmarkThrottle(b *testing.B) {
	th := newThrottle(Limits{ReadRate: 1e9, WriteRate: 1e9, MaxInFlight: 256})
	b.ReportAllocs()
	for b.Loop() {
		if err := th.inFlight.take(1); err != nil {
			b.Fatal(err)
		}
		if err := th.allow("111122223333", "UpdateIncidentRecord"); err != nil {
			b.Fatal(err)
		}
		th.inFlight.give(1)
	}
}
