package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/testserver"
	"github.com/jackc/pgx/v5"
)

// TestREADMETwoNodesOnPostgreSQL runs the README's two-node block as it is
// written, with the built binary for go run, two free addresses and a
// database of its own: both nodes serve, and the replication set created
// through one is listed by the other.
func TestREADMETwoNodesOnPostgreSQL(t *testing.T) {
	for _, tool := range []string{"createdb", "curl", "aws"} {
		testserver.RequireTool(t, tool, "apt-get install -y postgresql-client curl; pip install awscli")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## PostgreSQL and several nodes\n")
	if !ok {
		t.Fatal("README has no section on PostgreSQL and several nodes")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("that section has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")

	// The machine's PostgreSQL, as the README's commands assume.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testserver.DefaultPostgresURL)
	if err != nil {
		testserver.MissingTool(t, "PostgreSQL is not reachable at "+testserver.DefaultPostgresURL+": "+err.Error())
	}
	admin.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	db := "incidentd_readme_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, testserver.DefaultPostgresURL)
		if err != nil {
			t.Errorf("drop %s: %v", db, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
	addr1, addr2 := freeAddr(t), freeAddr(t)
	script := strings.NewReplacer(
		"go run ./cmd/incidentd", binary,
		"127.0.0.1:4747", addr1,
		"127.0.0.1:4748", addr2,
		"-U postgres incidentd\n", "-U postgres "+db+"\n",
		"/incidentd?sslmode", "/"+db+"?sslmode",
	).Replace(block)
	if strings.Contains(script, "incidentd?") || !strings.Contains(script, db) || !strings.Contains(script, binary) {
		t.Fatalf("the README block did not take the test's database and binary:\n%s", script)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n"+script)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "INCIDENTD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's two-node block failed: %v\n%s", err, out)
	}
	arns := regexp.MustCompile(`arn:aws:ssm-incidents::111122223333:replication-set/[0-9a-f-]+`).FindAllString(string(out), -1)
	if len(arns) != 2 || arns[0] != arns[1] {
		t.Fatalf("the set created through one node is not the one the other lists: %v\n%s", arns, out)
	}
}
