package restjson_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/testserver"
)

// burst makes n calls from n goroutines at once and returns their errors.
func burst(n int, call func() error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = call()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// TestThrottlingWithoutRetries floods account A's reads and writes past
// their rates with the SDK's retries off: the calls above the rate fail with
// ThrottlingException carrying serviceCode and quotaCode, and account B,
// meanwhile, is not throttled.
func TestThrottlingWithoutRetries(t *testing.T) {
	const rate = 10
	srv := testserver.Start(t, func(c *app.Config) { c.Limits = restjson.Limits{ReadRate: rate, WriteRate: rate} })
	ctx := context.Background()
	noRetries := func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 }
	a, b := srv.A(noRetries), srv.B(noRetries)

	// Each call acts in the caller's own account, so that it is allowed:
	// the write deletes a plan the account does not have, which succeeds.
	for _, kind := range []struct {
		quota string
		call  func(c *ssmincidents.Client, account string) error
	}{
		{restjson.QuotaReadRate, func(c *ssmincidents.Client, _ string) error {
			_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
			return err
		}},
		{restjson.QuotaWriteRate, func(c *ssmincidents.Client, account string) error {
			_, err := c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: aws.String("arn:aws:ssm-incidents::" + account + ":response-plan/none")})
			return err
		}},
	} {
		t.Run(kind.quota, func(t *testing.T) {
			began := time.Now()
			errs := burst(5*rate, func() error { return kind.call(a, testserver.AccountA) })
			// The bucket holds two seconds' worth and refills as the
			// burst goes on: at most that many calls may pass.
			mayPass := 2*rate + int(time.Since(began).Seconds()*rate) + 1
			throttled := 0
			for _, err := range errs {
				if err == nil {
					continue
				}
				var te *types.ThrottlingException
				if !errors.As(err, &te) {
					t.Fatalf("want ThrottlingException, got %v", err)
				}
				if te.ServiceCode != "ssm-incidents" || aws.ToString(te.QuotaCode) != kind.quota || te.ErrorMessage() == "" {
					t.Fatalf("ThrottlingException with serviceCode %q, quotaCode %q, message %q", te.ServiceCode, aws.ToString(te.QuotaCode), te.ErrorMessage())
				}
				throttled++
			}
			if throttled == 0 || 5*rate-throttled > mayPass {
				t.Fatalf("%d of %d calls passed at %d/s, want at most %d", 5*rate-throttled, 5*rate, rate, mayPass)
			}
			// Account B has buckets of its own.
			if err := kind.call(b, testserver.AccountB); err != nil {
				t.Fatalf("account B throttled by account A's flood: %v", err)
			}
		})
	}

	// A throttled answer says when to come back, in the header the AWS
	// SDKs read (milliseconds) and in HTTP's own (seconds).
	for range 5 * rate {
		r := srv.Do(http.MethodPost, "/listResponsePlans", []byte(`{}`))
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		ms, err := strconv.Atoi(r.Header.Get("x-amz-retry-after"))
		secs, err2 := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || err2 != nil || ms <= 0 || ms > 10000 || secs < 1 || time.Duration(secs)*time.Second < time.Duration(ms)*time.Millisecond {
			t.Fatalf("throttled answer with x-amz-retry-after %q and Retry-After %q", r.Header.Get("x-amz-retry-after"), r.Header.Get("Retry-After"))
		}
		return
	}
	t.Fatal("no raw request was throttled")
}

// TestThrottledBurstSucceedsWithRetries sends a burst of 3x the write rate
// (a third of it beyond what the bucket holds) through the Go SDK with its
// default (standard) retries: every call succeeds eventually, some after
// being throttled. (At 5x, now and then a call was throttled on each of
// its three attempts, the SDK's jitter bunching the retries.)
func TestThrottledBurstSucceedsWithRetries(t *testing.T) {
	const rate = 10
	srv := testserver.Start(t, func(c *app.Config) { c.Limits = restjson.Limits{ReadRate: rate, WriteRate: rate} })
	ctx := context.Background()
	var attempts atomic.Int64
	countAttempts := func(o *ssmincidents.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			// After the retry middleware: once per attempt.
			return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					attempts.Add(1)
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
	c := srv.A(countAttempts)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}},
	}); err != nil {
		t.Fatal(err)
	}
	n := 3 * rate
	var next atomic.Int64
	errs := burst(n, func() error {
		i := next.Add(1)
		_, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
			Name:             aws.String(fmt.Sprintf("burst-%03d", i)),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Burst"), Impact: aws.Int32(3)},
		})
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("a call failed despite retries: %v", err)
		}
	}
	if got := attempts.Load(); got <= int64(n)+1 {
		t.Fatalf("%d attempts for %d calls: nothing was throttled, the test proves nothing", got, n+1)
	}
	out, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResponsePlanSummaries) != n {
		t.Fatalf("%d plans after %d successful creations", len(out.ResponsePlanSummaries), n)
	}
}

// TestBoto3RaisesThrottlingException floods the server with boto3, retries
// off: boto3 raises ThrottlingException with serviceCode and quotaCode.
func TestBoto3RaisesThrottlingException(t *testing.T) {
	python := testserver.RequireTool(t, "python3", "install Python 3 with boto3 (pip install boto3)")
	srv := testserver.Start(t, func(c *app.Config) { c.Limits = restjson.Limits{ReadRate: 2, WriteRate: 2} })
	script := `
import sys, boto3, botocore.config, botocore.exceptions
c = boto3.client("ssm-incidents", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
    config=botocore.config.Config(retries={"total_max_attempts": 1}))
for i in range(50):
    try:
        c.list_response_plans()
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        print(err["Code"], e.response.get("serviceCode") or err.get("serviceCode"), e.response.get("quotaCode") or err.get("quotaCode"),
              e.response["ResponseMetadata"]["HTTPStatusCode"])
        sys.exit(0)
print("never throttled")
sys.exit(1)
`
	out, err := exec.Command(python, "-c", script, srv.Endpoint, testserver.KeyA, testserver.SecretA).CombinedOutput()
	if strings.Contains(string(out), "No module named") {
		testserver.MissingTool(t, "boto3 is not installed: pip install boto3")
	}
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "ThrottlingException ssm-incidents "+restjson.QuotaReadRate+" 429"; got != want {
		t.Fatalf("boto3 saw %q, want %q", got, want)
	}
}
