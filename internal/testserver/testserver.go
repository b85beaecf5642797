// Package testserver starts a real incidentd server in-process on
// 127.0.0.1:0 with its own data directory, and hands out AWS SDK for Go v2
// clients signed for its accounts. Tests of every tier use it.
package testserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
)

// Accounts and keys every test server knows.
const (
	AccountA = "111122223333"
	KeyA     = "AKIDACCOUNTA"
	SecretA  = "secret-of-account-a"

	AccountB = "444455556666"
	KeyB     = "AKIDACCOUNTB"
	SecretB  = "secret-of-account-b"

	Region = "us-east-1"
)

// Server is a running incidentd.
type Server struct {
	t        testing.TB
	Main     *app.Main
	Endpoint string
	DataDir  string
	Log      *SyncBuffer
	// Metrics is the URL of the metrics listener, "" when the server has
	// none (Config.MetricsAddr is empty).
	Metrics string
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs a server for the duration of the test, on its own embedded
// database, or on a fresh PostgreSQL database when OnPostgres. configure,
// if given, adjusts the configuration before the server opens: WithMetrics,
// OnSQLite, or any func setting Config fields.
func Start(t testing.TB, configure ...func(*app.Config)) *Server {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "keys")
	if err := os.WriteFile(creds, []byte(KeyB+" "+SecretB+" "+AccountB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{
		Addr:            "127.0.0.1:0",
		DataDir:         filepath.Join(dir, "data"),
		AccessKeyID:     KeyA,
		SecretAccessKey: SecretA,
		AccountID:       AccountA,
		CredentialsFile: creds,
	}
	if OnPostgres() {
		cfg.DatabaseURL = PostgresDatabase(t)
	}
	for _, f := range configure {
		f(&cfg)
	}
	return StartWith(t, cfg)
}

// OnSQLite keeps a test server on the embedded database also when
// OnPostgres: for tests of what only that engine has (its files, its
// metrics, backups).
func OnSQLite(cfg *app.Config) { cfg.DatabaseURL = "" }

// WithMetrics gives the server a metrics listener on 127.0.0.1:0.
func WithMetrics(cfg *app.Config) { cfg.MetricsAddr = "127.0.0.1:0" }

// StartWith runs a server with exactly cfg. The test fails if the server
// logged an error, in either log format.
func StartWith(t testing.TB, cfg app.Config) *Server {
	t.Helper()
	log := &SyncBuffer{}
	m := &app.Main{Config: cfg, Out: log}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start incidentd: %v", err)
	}
	s := &Server{t: t, Main: m, Endpoint: m.Endpoint(), DataDir: cfg.DataDir, Log: log}
	if addr := m.MetricsAddr(); addr != "" {
		s.Metrics = "http://" + addr
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("stop incidentd: %v", err)
		}
		if out := log.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, `"level":"ERROR"`) {
			t.Errorf("server logged an error:\n%s", log.String())
		}
	})
	return s
}

// Client returns an SDK client signing with the given key.
func (s *Server) Client(key, secret string, opts ...func(*ssmincidents.Options)) *ssmincidents.Client {
	return ssmincidents.New(ssmincidents.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	}, opts...)
}

// A is a client of account A.
func (s *Server) A(opts ...func(*ssmincidents.Options)) *ssmincidents.Client {
	return s.Client(KeyA, SecretA, opts...)
}

// B is a client of account B.
func (s *Server) B(opts ...func(*ssmincidents.Options)) *ssmincidents.Client {
	return s.Client(KeyB, SecretB, opts...)
}

// User creates the user name of account, with the identity-based policies
// docs attached (named policy-1, policy-2, …), and returns a new access key
// of it.
func (s *Server) User(account, name string, docs ...string) (key, secret string) {
	s.t.Helper()
	d := s.Main.Directory
	ctx := context.Background()
	if err := d.EnsureAccount(ctx, account); err != nil {
		s.t.Fatal(err)
	}
	if _, err := d.CreateUser(ctx, account, name); err != nil {
		s.t.Fatalf("create user %s: %v", name, err)
	}
	for i, doc := range docs {
		if err := d.PutPolicy(ctx, account, domain.HolderUser, name, fmt.Sprintf("policy-%d", i+1), doc); err != nil {
			s.t.Fatalf("put a policy of %s: %v", name, err)
		}
	}
	k, err := d.CreateKey(ctx, account, name)
	if err != nil {
		s.t.Fatalf("create a key of %s: %v", name, err)
	}
	return k.ID, k.SecretAccessKey
}

// UserClient is User's key in a client.
func (s *Server) UserClient(account, name string, docs ...string) *ssmincidents.Client {
	s.t.Helper()
	return s.Client(s.User(account, name, docs...))
}

// Response is a raw HTTP answer.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	ErrorType string
}

// Do sends a request signed by account A with the official SigV4 signer.
// path may include a query string and must be escaped as it goes on the wire.
func (s *Server) Do(method, path string, body []byte) Response {
	return s.DoSigned(method, path, body, KeyA, SecretA, time.Now())
}

// DoSigned sends a request signed with key/secret at signing time t.
func (s *Server) DoSigned(method, path string, body []byte, key, secret string, t time.Time) Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	s.Sign(req, body, key, secret, t)
	return s.Send(req)
}

// Sign signs req, whose body is body, with the official SigV4 signer.
func (s *Server) Sign(req *http.Request, body []byte, key, secret string, t time.Time) {
	s.t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "ssm-incidents", Region, t)
	if err != nil {
		s.t.Fatal(err)
	}
}

// Send sends req as it is.
func (s *Server) Send(req *http.Request) Response {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b, ErrorType: resp.Header.Get("x-amzn-ErrorType")}
}

// MissingTool stops a test that cannot run because a tool it needs is not
// installed; reason names the tool and how to install it. Where the
// environment variable CI is set (to anything but the empty string), the
// test fails, so that a CI run cannot pass without it; elsewhere it is
// skipped.
func MissingTool(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so a missing tool fails the test instead of skipping it)", reason)
	}
	t.Skip(reason)
}

// RequireTool returns the path of the executable name, or stops the test
// with MissingTool when it is not on PATH; hint says how to install it.
func RequireTool(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		MissingTool(t, name+" is not installed: "+hint)
	}
	return path
}
