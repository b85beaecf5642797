package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// These tests build the real binary and drive it as a user would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "incidentd-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "incidentd")
	// The binary is built as the README says, so every test of it tests
	// that build.
	build, err := readmeCommand("CGO_ENABLED=0 go build ", binary)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n%s", build, err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// readmeCommand returns the command of the README's line that starts with
// prefix (VAR=value words, then the command), run in the repository's root
// with its -o argument, if any, replaced by out.
func readmeCommand(prefix, out string) (*exec.Cmd, error) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var env, args []string
		words := strings.Fields(line)
		for len(words) > 0 && strings.Contains(words[0], "=") {
			env, words = append(env, words[0]), words[1:]
		}
		for i := 0; i < len(words); i++ {
			args = append(args, words[i])
			if words[i] == "-o" && i+1 < len(words) {
				args, i = append(args, out), i+1
			}
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), env...)
		return cmd, nil
	}
	return nil, fmt.Errorf("README.md has no line that starts with %q", prefix)
}

const (
	testKey     = "AKIDE2ETEST"
	testSecret  = "e2e-secret"
	testAccount = "123456789012"
)

type proc struct {
	cmd      *exec.Cmd
	addr     string
	endpoint string
	stderr   *testserver.SyncBuffer
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServerB runs the server for a benchmark on data with the root
// credentials, without request rate limits.
func startServerB(b *testing.B, data string) *proc {
	return startServerArgs(b, data, freeAddr(b), unlimited, rootEnv()...)
}

// unlimited are the flags that turn the request rate limits off.
var unlimited = []string{"--rate-reads", "0", "--rate-writes", "0"}

// startServer runs `incidentd serve` on data with env and waits for /healthz.
func startServer(t testing.TB, data, addr string, env ...string) *proc {
	t.Helper()
	return startServerArgs(t, data, addr, nil, env...)
}

// startServerArgs is startServer with further flags of incidentd serve.
func startServerArgs(t testing.TB, data, addr string, args []string, env ...string) *proc {
	t.Helper()
	p := &proc{addr: addr, endpoint: "http://" + addr, stderr: &testserver.SyncBuffer{}}
	p.cmd = exec.Command(binary, append([]string{"serve", "--addr", addr, "--data", data, "--log-level", "warn"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				// The server logs where it listens before /healthz
				// answers; the copy from its stderr pipe may lag.
				p.waitStderr(t, "incidentd listening")
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not become ready; stderr:\n%s", p.stderr.String())
	return nil
}

// waitStderr waits a little for the server's stderr to hold s.
func (p *proc) waitStderr(t testing.TB, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.stderr.String(), s) {
			return
		}
	}
	t.Fatalf("stderr does not hold %q:\n%s", s, p.stderr.String())
}

// dataDir returns a data directory for a test that incidentd creates
// itself, private as it wants it (t.TempDir's directories follow the umask).
func dataDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data")
}

func rootEnv() []string {
	return []string{"INCIDENTD_ACCESS_KEY_ID=" + testKey, "INCIDENTD_SECRET_ACCESS_KEY=" + testSecret, "INCIDENTD_ACCOUNT_ID=" + testAccount}
}

func client(endpoint, key, secret string) *ssmincidents.Client {
	return ssmincidents.New(ssmincidents.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
}

func TestMigrate(t *testing.T) {
	data := dataDir(t)
	out, err := exec.Command(binary, "migrate", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "incidentd.db")); err != nil {
		t.Fatal(err)
	}
	// Twice is fine.
	if out, err := exec.Command(binary, "migrate", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
}

func TestGeneratedCredentials(t *testing.T) {
	data := dataDir(t)
	env := []string{"INCIDENTD_ACCESS_KEY_ID=", "INCIDENTD_SECRET_ACCESS_KEY=", "INCIDENTD_ACCOUNT_ID="}
	p := startServer(t, data, freeAddr(t), env...)
	var key, secret string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "export "); ok {
			for _, f := range strings.Fields(rest) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "AWS_ACCESS_KEY_ID":
					key = v
				case "AWS_SECRET_ACCESS_KEY":
					secret = v
				}
			}
		}
	}
	if key == "" || secret == "" || !strings.Contains(p.stderr.String(), "--endpoint-url http://"+p.addr) {
		t.Fatalf("no export lines in:\n%s", p.stderr.String())
	}
	fi, err := os.Stat(filepath.Join(data, "credentials.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	c := client(p.endpoint, key, secret)
	if _, err := c.ListReplicationSets(context.Background(), &ssmincidents.ListReplicationSetsInput{}); err != nil {
		t.Fatalf("generated key refused: %v", err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	// The next start reuses them and prints no secret.
	p2 := startServer(t, data, freeAddr(t), env...)
	if strings.Contains(p2.stderr.String(), secret) {
		t.Fatal("second start printed the secret again")
	}
	if _, err := client(p2.endpoint, key, secret).ListReplicationSets(context.Background(), &ssmincidents.ListReplicationSetsInput{}); err != nil {
		t.Fatalf("generated key refused after restart: %v", err)
	}
}

func TestGracefulShutdownKeepsData(t *testing.T) {
	data := dataDir(t)
	p := startServer(t, data, freeAddr(t), rootEnv()...)
	c := client(p.endpoint, testKey, testSecret)
	ctx := context.Background()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	p2 := startServer(t, data, freeAddr(t), rootEnv()...)
	list, err := client(p2.endpoint, testKey, testSecret).ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil || len(list.ReplicationSetArns) != 1 {
		t.Fatalf("after restart: %v %v", list, err)
	}
}

// TestKill9LosesNoAcknowledgedWrite writes concurrently, kills the server
// with SIGKILL in the middle, restarts it on the same data and checks that
// every write that was answered 2xx is there.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	data := dataDir(t)
	addr := freeAddr(t)
	p := startServerArgs(t, data, addr, unlimited, rootEnv()...)
	ctx := context.Background()
	c := client(p.endpoint, testKey, testSecret)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	noRetry := func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 }
	var (
		mu     sync.Mutex
		acked  []string
		n      atomic.Int64
		wg     sync.WaitGroup
		stop   = make(chan struct{})
		worker = func(w int) {
			defer wg.Done()
			c := client(p.endpoint, testKey, testSecret)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				_, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
					Name:             aws.String(name),
					IncidentTemplate: &types.IncidentTemplate{Title: aws.String(name), Impact: aws.Int32(2)},
				}, noRetry)
				if err != nil {
					return // the server is gone
				}
				n.Add(1)
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}
	)
	for w := range 8 {
		wg.Add(1)
		go worker(w)
	}
	for n.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	close(stop)
	wg.Wait()

	p2 := startServerArgs(t, data, addr, unlimited, rootEnv()...)
	c2 := client(p2.endpoint, testKey, testSecret)
	stored := map[string]bool{}
	pg := ssmincidents.NewListResponsePlansPaginator(c2, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(100)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.ResponsePlanSummaries {
			stored[aws.ToString(s.Name)] = true
		}
	}
	for _, name := range acked {
		if !stored[name] {
			t.Errorf("acknowledged plan %s lost after kill -9", name)
		}
	}
	t.Logf("%d acknowledged writes, %d stored after kill -9", len(acked), len(stored))
}

// runReadmeBlock runs, with bash and the test key in the environment, the
// first sh block after the README heading, against endpoint.
func runReadmeBlock(t *testing.T, heading, endpoint string) ([]byte, error) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	block := text[i:]
	start := strings.Index(block, "```sh\n")
	if start < 0 {
		t.Fatalf("README section %q has no sh block", heading)
	}
	end := strings.Index(block[start+6:], "```")
	script := strings.ReplaceAll(block[start+6:start+6+end], "http://127.0.0.1:4747", endpoint)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+testKey, "AWS_SECRET_ACCESS_KEY="+testSecret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_REGION=us-east-1", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	return cmd.CombinedOutput()
}

// TestCurlReadmeFinding records the README's deployment with curl and finds
// it among the findings of an incident that started just after it.
func TestCurlReadmeFinding(t *testing.T) {
	testserver.RequireTool(t, "curl", "apt-get install -y curl (Debian, Ubuntu) or see https://curl.se/download.html")
	p := startServer(t, dataDir(t), freeAddr(t), rootEnv()...)
	c := client(p.endpoint, testKey, testSecret)
	ctx := context.Background()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	out, err := runReadmeBlock(t, "## Recording deployments as findings", p.endpoint)
	if err != nil {
		t.Fatalf("README curl example failed: %v\n%s", err, out)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("web"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Web errors"), Impact: aws.Int32(3)}})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: inc.IncidentRecordArn})
	if err != nil || len(list.Findings) != 1 {
		t.Fatalf("findings %+v %v (curl printed %s)", list, err, out)
	}
	got, err := c.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: inc.IncidentRecordArn, FindingIds: []string{*list.Findings[0].Id}})
	if err != nil || len(got.Findings) != 1 || len(got.Errors) != 0 {
		t.Fatalf("BatchGetIncidentFindings %+v %v", got, err)
	}
	d, ok := got.Findings[0].Details.(*types.FindingDetailsMemberCodeDeployDeployment)
	if !ok || aws.ToString(d.Value.DeploymentId) != "d-A1B2C3D4E" || d.Value.EndTime != nil {
		t.Fatalf("finding details %+v", got.Findings[0].Details)
	}
	if !strings.Contains(string(out), *list.Findings[0].Id) {
		t.Fatalf("curl did not print the finding's id %s: %s", *list.Findings[0].Id, out)
	}
}

// TestAWSCLIReadmeExample runs the README's worked example with the aws CLI
// twice in a row on the same data, as the README says it can be.
func TestAWSCLIReadmeExample(t *testing.T) {
	testserver.RequireTool(t, "aws", "pip install awscli, or see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")
	p := startServer(t, dataDir(t), freeAddr(t), rootEnv()...)
	out, err := runReadmeBlock(t, "## Worked example", p.endpoint)
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	again, err := runReadmeBlock(t, "## Worked example", p.endpoint)
	if err != nil {
		t.Fatalf("README example failed when run a second time: %v\n%s", err, again)
	}
	// Check what the example did through the SDK.
	c := client(p.endpoint, testKey, testSecret)
	ctx := context.Background()
	plan, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String("arn:aws:ssm-incidents::" + testAccount + ":response-plan/database-outage")})
	if err != nil {
		t.Fatalf("the example's response plan: %v\n%s", err, out)
	}
	if aws.ToInt32(plan.IncidentTemplate.Impact) != 2 {
		t.Fatalf("plan %+v", plan.IncidentTemplate)
	}
	sets, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil || len(sets.ReplicationSetArns) != 1 {
		t.Fatalf("replication sets after two runs: %+v %v", sets, err)
	}
	plans, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil || len(plans.ResponsePlanSummaries) != 1 {
		t.Fatalf("response plans after two runs: %+v %v", plans, err)
	}
	list, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
	if err != nil || len(list.IncidentRecordSummaries) != 2 {
		t.Fatalf("the incidents of two runs: %+v %v", list, err)
	}
	for _, inc := range list.IncidentRecordSummaries {
		if inc.Status != types.IncidentRecordStatusResolved || aws.ToInt32(inc.Impact) != 1 || inc.ResolvedTime == nil {
			t.Fatalf("incident %+v", inc)
		}
	}
	inc := list.IncidentRecordSummaries[0]
	// Start, resolution, the related item's addition, the custom event:
	// oldest first, the custom event (dated 2025) before the others.
	events, err := c.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: inc.Arn, SortOrder: types.SortOrderAscending})
	if err != nil || len(events.EventSummaries) != 4 {
		t.Fatalf("timeline %+v %v", events, err)
	}
	custom := events.EventSummaries[0]
	if aws.ToString(custom.EventType) != "Custom Event" || !custom.EventTime.Equal(time.Date(2025, 11, 20, 20, 5, 0, 0, time.UTC)) {
		t.Fatalf("the first event is %s at %v, want the custom event", aws.ToString(custom.EventType), custom.EventTime)
	}
	event, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: inc.Arn, EventId: custom.EventId})
	if err != nil || aws.ToString(event.Event.EventData) != `"Failover to the replica finished at 20:09."` {
		t.Fatalf("custom event %+v %v", event, err)
	}
	items, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: inc.Arn})
	if err != nil || len(items.RelatedItems) != 1 || len(event.Event.EventReferences) != 1 {
		t.Fatalf("related items %+v %v", items, err)
	}
	if ref, ok := event.Event.EventReferences[0].(*types.EventReferenceMemberRelatedItemId); !ok || ref.Value != aws.ToString(items.RelatedItems[0].GeneratedId) {
		t.Fatalf("the custom event references %+v, want the related item", event.Event.EventReferences)
	}
	// The CLI printed JSON the whole way.
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var jsonish int
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "\"arn\"") {
			jsonish++
		}
	}
	if jsonish == 0 {
		t.Fatalf("no ARN in the CLI output:\n%s", out)
	}
}

func TestFlagsRefuseNonPositiveLimits(t *testing.T) {
	serve := lookup("serve")
	if _, err := parseCommand(serve, nil, io.Discard); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, args := range [][]string{
		{"--finding-lookback", "0"},
		{"--finding-lookback", "-1h"},
		{"--resource-policies-per-plan", "0"},
		{"--resource-policies-per-plan", "-5"},
	} {
		if _, err := parseCommand(serve, args, io.Discard); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	cfg, err := parseCommand(serve, []string{"--finding-lookback", "30m", "--resource-policies-per-plan", "3"}, io.Discard)
	if err != nil || cfg.Service.FindingLookback != 30*time.Minute || cfg.Service.ResourcePoliciesPerPlan != 3 {
		t.Fatalf("%+v %v", cfg.Service, err)
	}
}
