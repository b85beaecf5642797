package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
)

// rssBytes is the resident set size of process pid.
func rssBytes(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// forgedAuthorization is an Authorization header of the known key testKey
// with a region of regionBytes bytes, different for each i, and a signature
// made without its secret.
func forgedAuthorization(now time.Time, regionBytes, i int) string {
	prefix := fmt.Sprintf("us-%08d", i)
	region := prefix + strings.Repeat("x", regionBytes-len(prefix)-2) + "-1"
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/ssm-incidents/aws4_request, SignedHeaders=host;x-amz-date, Signature=%064x",
		testKey, now.UTC().Format("20060102"), region, i)
}

// TestForgedRegionsKeepNoMemory sends 20,000 requests of a known access key
// with 60 KiB credential-scope regions and forged signatures through the
// real listener: the server's memory grows by less than 20 MiB.
func TestForgedRegionsKeepNoMemory(t *testing.T) {
	p := startServer(t, dataDir(t), freeAddr(t), rootEnv()...)
	pid := p.cmd.Process.Pid
	const n, workers = 20000, 8
	send := func(c *http.Client, i int) {
		req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listResponsePlans", strings.NewReader("{}"))
		now := time.Now()
		req.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
		req.Header.Set("Authorization", forgedAuthorization(now, 60<<10, i))
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("request %d: %v", i, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "InvalidSignatureException" {
			t.Errorf("request %d answered %d %s", i, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
		}
	}
	run := func(count int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				defer c.CloseIdleConnections()
				for i := int(next.Add(1)); i <= count && !t.Failed(); i = int(next.Add(1)) {
					send(c, i)
				}
			})
		}
		wg.Wait()
	}
	run(500) // warm up the server's buffers
	before := rssBytes(t, pid)
	run(n)
	after := rssBytes(t, pid)
	t.Logf("server RSS %d MiB before, %d MiB after %d forged requests", before>>20, after>>20, n)
	if growth := after - before; growth > 20<<20 {
		t.Fatalf("RSS grew by %d MiB over %d forged requests, want under 20 MiB", growth>>20, n)
	}
}

// abuseDuration is how long the abuse run lasts.
const abuseDuration = 20 * time.Second

// TestAbuseRun drives the real binary for abuseDuration with valid SDK
// traffic of account A from several goroutines, mixed with abuse from
// others: malformed JSON and wrong types (signed by account B), oversized
// bodies and headers, wrong and forged signatures, slow clients and abrupt
// disconnects. Every valid request succeeds, every bad one gets an
// AWS-shaped 4xx, nothing gets a 5xx, the server neither crashes nor logs
// an error, its memory stays bounded, and a final read finds every
// acknowledged write.
func TestAbuseRun(t *testing.T) {
	const (
		keyB, secretB, accountB = "AKIDE2EABUSER", "abuser-secret", "210987654321"
		maxRSS                  = 256 << 20
	)
	dir := dataDir(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte(keyB+" "+secretB+" "+accountB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every client here has the address 127.0.0.1: the bound per client
	// address (tested on its own) is lifted, or the abusers' connections
	// would have the valid clients refused with them.
	p := startServerArgs(t, dir, freeAddr(t), []string{"--credentials-file", keys,
		"--read-header-timeout", "1s", "--read-timeout", "2s", "--max-in-flight", "64", "--max-connections-per-client", "100000"}, rootEnv()...)
	pid := p.cmd.Process.Pid
	ctx := context.Background()
	c := client(p.endpoint, testKey, testSecret)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("abuse"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Abuse run"), Impact: aws.Int32(3)},
	})
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(abuseDuration)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		valid    atomic.Int64
		bad      atomic.Int64
		peakRSS  atomic.Int64
		forged   atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}

	// Valid traffic: each worker starts incidents, updates them and adds
	// events, and remembers what was acknowledged.
	type ackedEvent struct{ incident, event, data string }
	type ackedTitle struct{ incident, title string }
	var (
		events []ackedEvent
		titles []ackedTitle
	)
	const validWorkers = 4
	for g := range validWorkers {
		wg.Go(func() {
			wc := client(p.endpoint, testKey, testSecret)
			for n := 0; time.Now().Before(deadline); n++ {
				start, err := wc.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn, Title: aws.String(fmt.Sprintf("w%d-%d", g, n))})
				if err != nil {
					fail("StartIncident: %v", err)
					return
				}
				arn := aws.ToString(start.IncidentRecordArn)
				title := fmt.Sprintf("w%d-%d updated", g, n)
				if _, err := wc.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: start.IncidentRecordArn, Title: aws.String(title)}); err != nil {
					fail("UpdateIncidentRecord: %v", err)
					return
				}
				data := fmt.Sprintf("%q", fmt.Sprintf("event of w%d-%d", g, n))
				ev, err := wc.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
					IncidentRecordArn: start.IncidentRecordArn, EventTime: aws.Time(time.Now()),
					EventType: aws.String("Custom Event"), EventData: aws.String(data),
				})
				if err != nil {
					fail("CreateTimelineEvent: %v", err)
					return
				}
				if _, err := wc.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: start.IncidentRecordArn}); err != nil {
					fail("GetIncidentRecord: %v", err)
					return
				}
				mu.Lock()
				titles = append(titles, ackedTitle{arn, title})
				events = append(events, ackedEvent{arn, aws.ToString(ev.EventId), data})
				mu.Unlock()
				valid.Add(4)
				// 3 writes every 400 ms from each of 4 workers: 30 a
				// second, under the account's default write rate.
				time.Sleep(400 * time.Millisecond)
			}
		})
	}

	// wantAWS4xx checks a raw answer: a 4xx in the AWS error model.
	wantAWS4xx := func(kind string, resp *http.Response, body []byte) {
		bad.Add(1)
		if resp.StatusCode < 400 || resp.StatusCode > 499 || resp.Header.Get("x-amzn-ErrorType") == "" || resp.Header.Get("x-amzn-RequestId") == "" ||
			!bytes.Contains(body, []byte(`"message"`)) {
			fail("%s answered %d %q %q", kind, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
	}
	signB := func(req *http.Request, body []byte) {
		sum := sha256.Sum256(body)
		v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: keyB, SecretAccessKey: secretB}, req, hex.EncodeToString(sum[:]), "ssm-incidents", "us-east-1", time.Now())
	}
	rawClient := &http.Client{Timeout: 10 * time.Second}
	abuses := []struct {
		name string
		do   func()
	}{
		{"malformed JSON", func() {
			body := []byte(`{"title": "unterminated`)
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listResponsePlans", bytes.NewReader(body))
			signB(req, body)
			if resp, b, err := roundTrip(rawClient, req); err == nil {
				wantAWS4xx("malformed JSON", resp, b)
			} else {
				fail("malformed JSON: %v", err)
			}
		}},
		{"wrong types", func() {
			body := []byte(`{"maxResults": "many", "nextToken": 7}`)
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listIncidentRecords", bytes.NewReader(body))
			signB(req, body)
			if resp, b, err := roundTrip(rawClient, req); err == nil {
				wantAWS4xx("wrong types", resp, b)
			} else {
				fail("wrong types: %v", err)
			}
		}},
		{"oversized body", func() {
			body := bytes.Repeat([]byte("a"), 2<<20)
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/createTimelineEvent", bytes.NewReader(body))
			if resp, b, err := roundTrip(rawClient, req); err == nil {
				wantAWS4xx("oversized body", resp, b)
			}
			// The server may close before the client finished sending:
			// a write error is the refusal, not a failure.
		}},
		{"oversized header", func() {
			resp, b, err := rawRequest(p.addr, "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 200<<10)+"\r\n\r\n")
			if err == nil {
				wantAWS4xx("oversized header", resp, b)
			}
		}},
		{"wrong secret", func() {
			body := []byte(`{}`)
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listResponsePlans", bytes.NewReader(body))
			sum := sha256.Sum256(body)
			v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: testKey, SecretAccessKey: "guessed"}, req, hex.EncodeToString(sum[:]), "ssm-incidents", "us-east-1", time.Now())
			if resp, b, err := roundTrip(rawClient, req); err == nil {
				wantAWS4xx("wrong secret", resp, b)
			} else {
				fail("wrong secret: %v", err)
			}
		}},
		{"forged region", func() {
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listResponsePlans", strings.NewReader("{}"))
			now := time.Now()
			req.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
			req.Header.Set("Authorization", forgedAuthorization(now, 50<<10, int(forged.Add(1))))
			if resp, b, err := roundTrip(rawClient, req); err == nil {
				wantAWS4xx("forged region", resp, b)
			} else {
				fail("forged region: %v", err)
			}
		}},
		{"slow client", func() {
			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				fail("slow client: %v", err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			for _, b := range []byte("POST /listResponsePlans HTTP/1.1\r\nHost: x\r\n") {
				if _, err := conn.Write([]byte{b}); err != nil {
					return // cut by the server, as it should
				}
				time.Sleep(100 * time.Millisecond)
			}
			fail("a slow client was served its headers for %v", 4*time.Second)
		}},
		{"stalled large body", func() {
			// Signed headers of a 1 MiB body, half of it sent, then
			// nothing: the server holds it until --read-timeout at most.
			body := bytes.Repeat([]byte(" "), 1<<20)
			req, _ := http.NewRequest(http.MethodPost, p.endpoint+"/listResponsePlans", bytes.NewReader(body))
			signB(req, body)
			var wire bytes.Buffer
			req.Write(&wire)
			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				fail("stalled large body: %v", err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			conn.Write(wire.Bytes()[:wire.Len()-len(body)/2])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return // cut without an answer
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantAWS4xx("stalled large body", resp, b)
		}},
		{"abrupt disconnect", func() {
			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				fail("abrupt disconnect: %v", err)
				return
			}
			io.WriteString(conn, "POST /updateIncidentRecord HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"arn\":")
			conn.Close()
		}},
	}
	for _, a := range abuses {
		workers := 1
		switch a.name {
		case "slow client":
			workers = 4
		case "stalled large body":
			workers = 16
		}
		for range workers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					a.do()
				}
			})
		}
	}
	wg.Go(func() {
		for time.Now().Before(deadline) {
			peakRSS.Store(max(peakRSS.Load(), rssBytes(t, pid)))
			time.Sleep(250 * time.Millisecond)
		}
	})
	wg.Wait()

	for _, f := range failures {
		t.Error(f)
	}
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server died: %v\n%s", err, p.stderr.String())
	}
	t.Logf("%d valid requests, %d bad ones answered; server peak RSS %d MiB", valid.Load(), bad.Load(), peakRSS.Load()>>20)
	if peakRSS.Load() > maxRSS {
		t.Errorf("server RSS reached %d MiB, want at most %d MiB", peakRSS.Load()>>20, maxRSS>>20)
	}
	if valid.Load() < 100 || bad.Load() < 100 {
		t.Errorf("too little traffic to prove anything: %d valid, %d bad", valid.Load(), bad.Load())
	}

	// Every acknowledged write is there.
	for _, a := range titles {
		out, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(a.incident)})
		if err != nil || aws.ToString(out.IncidentRecord.Title) != a.title {
			t.Fatalf("acknowledged title %q of %s lost: %v", a.title, a.incident, err)
		}
	}
	for _, e := range events {
		out, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: aws.String(e.incident), EventId: aws.String(e.event)})
		if err != nil || aws.ToString(out.Event.EventData) != e.data {
			t.Fatalf("acknowledged event %s of %s lost: %v", e.event, e.incident, err)
		}
	}
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "panic") {
			t.Errorf("the server logged: %s", line)
		}
	}
	var api smithy.APIError
	if _, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{}); errors.As(err, &api) {
		t.Fatalf("after the run: %v", err)
	}
}

// roundTrip sends req and reads the whole answer.
func roundTrip(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// rawRequest writes request on a new connection and reads one answer.
func rawRequest(addr, request string) (*http.Response, []byte, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}
