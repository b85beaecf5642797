//go:build pgrestart

// TestPostgresRestart stops and starts the machine's PostgreSQL server,
// which ends every session on it: it is built only with -tags pgrestart,
// and ./scripts/test runs it on its own, after every other test.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/testserver"
)

// TestPostgresRestart runs the binary on a fresh PostgreSQL database under a
// write load (StartIncident and UpdateIncidentRecord from several SDK
// clients) and, during the load, restarts the machine's PostgreSQL server,
// then stops it, watches /healthz answer 503, and starts it again. The
// server reconnects by itself: /healthz answers 200 again and the load goes
// on; every answer the clients got while the database was away is a 500
// InternalServerException (which the SDKs retry); every acknowledged write
// is stored, none twice; and the server process never exits.
//
// It needs root and pg_ctlcluster, and the tests' PostgreSQL server to be
// this machine's cluster "main". While it runs, that server is down twice
// for a few seconds: other tests on the same server fail meanwhile.
func TestPostgresRestart(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	cluster := pgrLocalCluster(t, url)
	// Whatever happens, the cluster is running when the test ends (this
	// runs before the fresh database is dropped).
	t.Cleanup(func() { cluster.ensureRunning(t) })

	args := append(slices.Clone(unlimited), "--database-url", url)
	p := startServerArgs(t, dataDir(t), freeAddr(t), args, rootEnv()...)
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = p.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { // before startServerArgs's: it then finds the process waited for
		select {
		case <-exited:
		default:
			p.cmd.Process.Kill()
			<-exited
		}
	})
	alive := func(when string) {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("the server exited %s: %v\n%s", when, exitErr, p.stderr.String())
		default:
		}
	}

	ctx := context.Background()
	c := client(p.endpoint, testKey, testSecret)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("pgrestart"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("PostgreSQL restart"), Impact: aws.Int32(3)}})
	if err != nil {
		t.Fatal(err)
	}

	load := pgrStartLoad(p.endpoint, aws.ToString(plan.Arn), 6)
	defer load.stop()
	load.waitAcked(t, 100)

	// 1. A restart under the load: pg_ctlcluster returns once the server
	// accepts connections again.
	before := load.acked.Load()
	watch := pgrWatch(url)
	took := cluster.run(t, "restart")
	healthyAfter := pgrWaitHealthz(t, p.endpoint, http.StatusOK, 30*time.Second)
	t.Logf("restart: pg_ctlcluster restart took %v; PostgreSQL refused connections for %v; /healthz answered 200 %v after pg_ctlcluster returned",
		took.Round(time.Millisecond), watch().Round(time.Millisecond), healthyAfter.Round(time.Millisecond))
	load.waitAcked(t, before+100)
	alive("after the restart")

	// 2. Stop, see /healthz say so, start.
	var (
		downBody     string
		downTook     time.Duration
		probeErr     error
		stoppedFor   time.Duration
		stopTook     time.Duration
		startTook    time.Duration
		waitFor503   time.Duration
		probeAnswers string
	)
	watch = pgrWatch(url)
	func() {
		stopped := time.Now()
		stopTook = cluster.run(t, "stop")
		defer func() {
			startTook = cluster.run(t, "start")
			stoppedFor = time.Since(stopped)
		}()
		// Nothing here ends the test: the start above must run, and soon.
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, body, took, err := pgrHealthz(p.endpoint)
			if err == nil && status == http.StatusServiceUnavailable {
				downBody, downTook = body, took
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("/healthz did not answer 503 while PostgreSQL was stopped: last %d %q %v", status, body, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitFor503 = time.Since(stopped) - stopTook
		// A write without retries, while the database is away.
		rec := &pgrAttempts{}
		probe := ssmincidents.New(ssmincidents.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(p.endpoint), HTTPClient: rec,
			Credentials: c.Options().Credentials, RetryMaxAttempts: 1,
		})
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, probeErr = probe.StartIncident(pctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn, Title: aws.String("pgrestart probe")})
		probeAnswers = rec.String()
	}()
	healthyAfter = pgrWaitHealthz(t, p.endpoint, http.StatusOK, 30*time.Second)
	t.Logf("stop: pg_ctlcluster stop took %v, start %v, %v from stop to started; PostgreSQL refused connections for %v; /healthz answered 200 %v after pg_ctlcluster returned",
		stopTook.Round(time.Millisecond), startTook.Round(time.Millisecond), stoppedFor.Round(time.Millisecond), watch().Round(time.Millisecond), healthyAfter.Round(time.Millisecond))
	t.Logf("stop: /healthz answered 503 %v after the stop, in %v: %q", waitFor503.Round(time.Millisecond), downTook.Round(time.Millisecond), downBody)
	if !strings.HasPrefix(downBody, "storage unavailable: ") || strings.Count(downBody, "\n") != 1 {
		t.Errorf("/healthz while PostgreSQL was stopped: %q, want one line \"storage unavailable: <reason>\"", downBody)
	}
	if pw := pgrPassword(url); pw != "" && strings.Contains(downBody, pw) {
		t.Errorf("/healthz shows the database password: %q", downBody)
	}
	if downTook > restjson.HealthTimeout+time.Second {
		t.Errorf("/healthz took %v to answer while PostgreSQL was stopped, want at most about %v", downTook, restjson.HealthTimeout)
	}
	if !pgrIsInternalServerError(probeErr) || probeAnswers != "500 InternalServerException: 1" {
		t.Errorf("a write while PostgreSQL was stopped: %v (answers: %s), want 500 InternalServerException", probeErr, probeAnswers)
	}
	before = load.acked.Load()
	load.waitAcked(t, before+100)
	alive("after the stop and start")

	load.stop()
	t.Logf("load: %d writes acknowledged (%d incidents started), %d operations failed after their retries; answers: %s",
		load.acked.Load(), len(load.incidents), len(load.failures), load.attempts.String())
	for _, a := range load.attempts.kinds() {
		if a != "2xx" && a != "500 InternalServerException" {
			t.Errorf("a client was answered %s: every answer should be a success or, while PostgreSQL is away, a 500 InternalServerException (%s)", a, load.attempts.String())
		}
	}
	for _, err := range load.failures {
		if !pgrIsInternalServerError(err) {
			t.Errorf("an operation failed with %v, want InternalServerException", err)
		}
	}

	// Every acknowledged write is stored: each incident with its title and
	// at least its last acknowledged update; and no incident was started
	// twice by a retried StartIncident.
	pgrCheckStored(t, c, load)
	alive("at the end")
	if out := p.stderr.String(); strings.Contains(out, "panic") {
		t.Errorf("the server panicked:\n%s", out)
	}
	if n := strings.Count(p.stderr.String(), "storage unavailable"); n == 0 {
		t.Errorf("the server did not warn that its storage was unavailable:\n%s", p.stderr.String())
	}
	t.Logf("server: %d \"internal error\" log lines", strings.Count(p.stderr.String(), "internal error"))

	// And it still stops cleanly.
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", exitErr, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// pgrCluster is a PostgreSQL cluster of this machine, driven with
// pg_ctlcluster.
type pgrCluster struct {
	version, name string
}

// pgrLocalCluster returns the cluster "main" of this machine that serves
// the database at url; without one, root or pg_ctlcluster, the test stops
// with MissingTool.
func pgrLocalCluster(t *testing.T, url string) pgrCluster {
	t.Helper()
	testserver.RequireTool(t, "pg_ctlcluster", "apt-get install -y postgresql (Debian, Ubuntu)")
	if os.Geteuid() != 0 {
		testserver.MissingTool(t, "restarting PostgreSQL with pg_ctlcluster needs root")
	}
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Host, "/") {
		if ip := net.ParseIP(cfg.Host); cfg.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			testserver.MissingTool(t, "the tests' PostgreSQL server ("+cfg.Host+") is not this machine's: set INCIDENTD_TEST_DATABASE_URL to a local cluster")
		}
	}
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil {
		testserver.MissingTool(t, "no PostgreSQL cluster on this machine: "+err.Error())
	}
	var versions []string
	for _, e := range entries {
		conf := filepath.Join("/etc/postgresql", e.Name(), "main", "postgresql.conf")
		b, err := os.ReadFile(conf)
		if err != nil {
			continue
		}
		versions = append(versions, e.Name())
		if pgrConfPort(string(b)) == cfg.Port {
			return pgrCluster{version: e.Name(), name: "main"}
		}
	}
	testserver.MissingTool(t, fmt.Sprintf("no cluster main of /etc/postgresql (versions %v) listens on port %d, where the tests' PostgreSQL server is", versions, cfg.Port))
	return pgrCluster{}
}

// pgrConfPort is the port a postgresql.conf sets, 5432 by default.
func pgrConfPort(conf string) uint16 {
	for _, line := range strings.Split(conf, "\n") {
		line, _, _ = strings.Cut(line, "#")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "port" {
			continue
		}
		if n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(v), "'"), 10, 16); err == nil {
			return uint16(n)
		}
	}
	return 5432
}

// run runs pg_ctlcluster action on the cluster and returns how long it
// took; a failure is reported, and does not end the test.
func (c pgrCluster) run(t *testing.T, action string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", c.version, c.name, action).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Errorf("pg_ctlcluster %s %s %s: %v\n%s", c.version, c.name, action, err, out)
	}
	return took
}

// ensureRunning starts the cluster unless it runs.
func (c pgrCluster) ensureRunning(t *testing.T) {
	if exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", c.version, c.name, "status").Run() == nil {
		return
	}
	t.Logf("PostgreSQL %s %s is not running: starting it", c.version, c.name)
	c.run(t, "start")
}

// pgrWatch connects to the database at url every 20 ms until the function
// it returns is called; that returns how long connections failed, from the
// first failure to the first success after the last one (0 for none).
func pgrWatch(url string) func() time.Duration {
	done := make(chan struct{})
	result := make(chan time.Duration, 1)
	go func() {
		var firstFail time.Time
		var outage time.Duration
		failing := false
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn, err := pgconn.Connect(ctx, url)
			cancel()
			now := time.Now()
			if err != nil {
				if firstFail.IsZero() {
					firstFail = now
				}
				failing = true
			} else {
				conn.Close(context.Background())
				if failing {
					outage, failing = now.Sub(firstFail), false
				}
			}
			select {
			case <-done:
				if failing { // not back yet
					outage = time.Since(firstFail)
				}
				result <- outage
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-result
	}
}

// pgrHealthz answers GET /healthz: status, body, and how long it took.
func pgrHealthz(endpoint string) (int, string, time.Duration, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := hc.Get(endpoint + "/healthz")
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start), err
}

// pgrWaitHealthz waits until /healthz answers status and returns how long
// that took.
func pgrWaitHealthz(t *testing.T, endpoint string, status int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, body, _, err := pgrHealthz(endpoint)
		if err == nil && got == status {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("/healthz did not answer %d within %v: last %d %q %v", status, within, got, body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pgrPassword is the password of a PostgreSQL URL, if any.
func pgrPassword(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return ""
	}
	return cfg.Password
}

// pgrIsInternalServerError reports whether err is an answer 500
// InternalServerException.
func pgrIsInternalServerError(err error) bool {
	var ise *types.InternalServerException
	var re *awshttp.ResponseError
	return errors.As(err, &ise) && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusInternalServerError
}

// pgrAttempts is an SDK HTTP client that counts the answers of every
// attempt, retries included, by status and error type.
type pgrAttempts struct {
	next   *awshttp.BuildableClient
	once   sync.Once
	mu     sync.Mutex
	counts map[string]int
}

func (a *pgrAttempts) Do(req *http.Request) (*http.Response, error) {
	a.once.Do(func() { a.next = awshttp.NewBuildableClient() })
	resp, err := a.next.Do(req)
	kind := ""
	switch {
	case err != nil:
		kind = "transport error"
	case resp.StatusCode/100 == 2:
		kind = "2xx"
	default:
		kind = strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + resp.Header.Get("x-amzn-ErrorType"))
	}
	a.mu.Lock()
	if a.counts == nil {
		a.counts = map[string]int{}
	}
	a.counts[kind]++
	a.mu.Unlock()
	return resp, err
}

// kinds lists the kinds of answers seen, sorted.
func (a *pgrAttempts) kinds() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ks []string
	for k := range a.counts {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (a *pgrAttempts) String() string {
	var parts []string
	for _, k := range a.kinds() {
		a.mu.Lock()
		parts = append(parts, fmt.Sprintf("%s: %d", k, a.counts[k]))
		a.mu.Unlock()
	}
	return strings.Join(parts, ", ")
}

// pgrIncident is what a worker was acknowledged of one incident.
type pgrIncident struct {
	arn, title string
	updated    int // the last acknowledged update, 0 for none
}

// pgrLoad is the write load: workers that each start an incident, then
// update it twice, and again, recording every acknowledged write.
type pgrLoad struct {
	acked     atomic.Int64 // acknowledged writes
	attempts  *pgrAttempts
	done      chan struct{}
	wg        sync.WaitGroup
	stopOnce  sync.Once
	mu        sync.Mutex
	incidents []*pgrIncident
	failures  []error // operations that failed after their retries
}

// pgrUpdates is how often a worker updates each incident it starts.
const pgrUpdates = 2

func pgrStartLoad(endpoint, plan string, workers int) *pgrLoad {
	l := &pgrLoad{attempts: &pgrAttempts{}, done: make(chan struct{})}
	for w := range workers {
		// The SDK's standard retries, with the retry quota off and short
		// backoffs, so that a worker retries through the outage; every
		// attempt's answer is counted.
		c := ssmincidents.New(ssmincidents.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(endpoint),
			Credentials:  client(endpoint, testKey, testSecret).Options().Credentials,
			HTTPClient:   l.attempts,
			Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 20
				o.MaxBackoff = time.Second
				o.RateLimiter = ratelimit.None
			}),
		})
		l.wg.Go(func() { l.work(c, plan, w) })
	}
	return l
}

func (l *pgrLoad) work(c *ssmincidents.Client, plan string, w int) {
	for i := 0; ; i++ {
		select {
		case <-l.done:
			return
		default:
		}
		title := fmt.Sprintf("pgrestart w%d-%d", w, i)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String(title)})
		cancel()
		if err != nil {
			l.fail(err)
			continue
		}
		inc := &pgrIncident{arn: aws.ToString(out.IncidentRecordArn), title: title}
		l.mu.Lock()
		l.incidents = append(l.incidents, inc)
		l.mu.Unlock()
		l.acked.Add(1)
		for u := 1; u <= pgrUpdates; u++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(inc.arn), Summary: aws.String("update " + strconv.Itoa(u))})
			cancel()
			if err != nil {
				l.fail(err)
				continue
			}
			l.mu.Lock()
			inc.updated = u
			l.mu.Unlock()
			l.acked.Add(1)
		}
	}
}

func (l *pgrLoad) fail(err error) {
	l.mu.Lock()
	l.failures = append(l.failures, err)
	l.mu.Unlock()
}

// waitAcked waits until n writes are acknowledged.
func (l *pgrLoad) waitAcked(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for l.acked.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the load has %d acknowledged writes after a minute, want %d (answers: %s)", l.acked.Load(), n, l.attempts.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the load and waits for its workers.
func (l *pgrLoad) stop() {
	l.stopOnce.Do(func() { close(l.done) })
	l.wg.Wait()
}

// pgrCheckStored checks that every write load acknowledged is stored, and
// that no incident of the load is stored twice.
func pgrCheckStored(t *testing.T, c *ssmincidents.Client, load *pgrLoad) {
	t.Helper()
	ctx := context.Background()
	titles := map[string]int{}
	pg := ssmincidents.NewListIncidentRecordsPaginator(c, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(100)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.IncidentRecordSummaries {
			titles[aws.ToString(s.Title)]++
		}
	}
	for title, n := range titles {
		if n > 1 {
			t.Errorf("incident %q is stored %d times: a retried StartIncident started it again", title, n)
		}
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		wrong []string
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(load.incidents) {
					return
				}
				inc := load.incidents[i]
				got, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(inc.arn)})
				var problem string
				switch {
				case err != nil:
					problem = fmt.Sprintf("acknowledged incident %s (%s): %v", inc.arn, inc.title, err)
				case aws.ToString(got.IncidentRecord.Title) != inc.title:
					problem = fmt.Sprintf("incident %s has title %q, want %q", inc.arn, aws.ToString(got.IncidentRecord.Title), inc.title)
				case inc.updated > 0 && pgrUpdateOf(aws.ToString(got.IncidentRecord.Summary)) < inc.updated:
					problem = fmt.Sprintf("incident %s has summary %q, but update %d was acknowledged", inc.arn, aws.ToString(got.IncidentRecord.Summary), inc.updated)
				}
				if problem != "" {
					mu.Lock()
					wrong = append(wrong, problem)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, w := range wrong {
		t.Error(w)
	}
	t.Logf("stored: %d incidents of the load listed, %d acknowledged ones checked, %d wrong", len(titles), len(load.incidents), len(wrong))
}

// pgrUpdateOf is n of a summary "update n", 0 for another.
func pgrUpdateOf(summary string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(summary, "update "))
	if err != nil {
		return 0
	}
	return n
}
