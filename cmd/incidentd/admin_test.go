package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

// adminTarget is where the admin commands of a test act: a data directory,
// or a PostgreSQL database.
type adminTarget struct {
	data, url string
	env       []string
}

func (a adminTarget) flags() []string {
	if a.url != "" {
		return []string{"--database-url", a.url, "--data", a.data}
	}
	return []string{"--data", a.data}
}

// admin runs incidentd admin args on the target and returns its stdout.
func (a adminTarget) admin(t *testing.T, args ...string) string {
	t.Helper()
	out, err := a.try(args...)
	if err != nil {
		t.Fatalf("incidentd admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (a adminTarget) try(args ...string) (string, error) {
	cmd := exec.Command(binary, append(append([]string{"admin"}, args...), a.flags()...)...)
	cmd.Env = append(os.Environ(), a.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// secretsKeyEnv is an INCIDENTD_SECRETS_KEY, shared by the processes of a test.
func secretsKeyEnv(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return "INCIDENTD_SECRETS_KEY=" + base64.StdEncoding.EncodeToString(b)
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	if err == nil {
		return "success"
	}
	return err.Error()
}

// eventually retries fn for up to 3 seconds (the nodes cache what they read
// of keys and policies for 1 second) until it returns true.
func eventually(t *testing.T, what string, fn func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = fn(); ok {
			return
		}
	}
	t.Fatalf("%s: not within 3s; last: %s", what, last)
}

const accountOther = "444455556666"

// TestAdminCommandsAuthorizeRequests drives the admin commands, in the
// forms tools outside the repository use, on the database of running
// servers, and checks what the servers then allow and refuse: on the
// embedded database with one server, and on PostgreSQL with two nodes.
func TestAdminCommandsAuthorizeRequests(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			target := adminTarget{data: dataDir(t), env: []string{secretsKeyEnv(t)}}
			var args []string
			if engine == "postgres" {
				target.url = testserver.PostgresDatabase(t)
				args = []string{"--database-url", target.url}
			}
			env := append(rootEnv(), target.env...)
			first := startServerArgs(t, target.data, freeAddr(t), args, env...)
			second := first
			if engine == "postgres" {
				second = startServerArgs(t, dataDir(t), freeAddr(t), args, env...)
			}
			testAdminCommands(t, target, first, second)
		})
	}
}

func testAdminCommands(t *testing.T, target adminTarget, first, second *proc) {
	ctx := context.Background()
	root := client(first.endpoint, testKey, testSecret)
	if _, err := root.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := root.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("checkout"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout is down"), Impact: aws.Int32(2)}})
	if err != nil {
		t.Fatal(err)
	}

	// The exact forms of the issue.
	var acct struct{ AccountId string }
	json.Unmarshal([]byte(target.admin(t, "accounts", "create", "--account-id", accountOther)), &acct)
	if acct.AccountId != accountOther {
		t.Fatalf("accounts create printed account %q", acct.AccountId)
	}
	target.admin(t, "users", "create", "--account-id", testAccount, "--name", "alice")
	var key struct{ AccessKeyId, SecretAccessKey string }
	out := target.admin(t, "keys", "create", "--account-id", testAccount, "--user", "alice")
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.AccessKeyId == "" || len(key.SecretAccessKey) != 40 {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}
	alice := [2]*ssmincidents.Client{client(first.endpoint, key.AccessKeyId, key.SecretAccessKey), client(second.endpoint, key.AccessKeyId, key.SecretAccessKey)}
	principal := "arn:aws:iam::" + testAccount + ":user/alice"
	for i, c := range alice {
		_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
		want := "AccessDeniedException: User: " + principal + " is not authorized to perform: ssm-incidents:ListResponsePlans on resource: * because no identity-based policy allows the ssm-incidents:ListResponsePlans action"
		if got := apiCode(err); got != want {
			t.Errorf("node %d, alice without a policy:\n got %s\nwant %s", i, got, want)
		}
	}
	target.admin(t, "policies", "put", "--account-id", testAccount, "--user", "alice", "--policy-name", "responder", "--document",
		`{"Version": "2012-10-17", "Statement": [{"Sid": "Respond", "Effect": "Allow", "Action": ["ssm-incidents:List*", "ssm-incidents:Get*", "ssm-incidents:StartIncident", "ssm-incidents:UpdateIncidentRecord"], "Resource": "*"}]}`)
	for i, c := range alice {
		eventually(t, "alice allowed on node "+nodeName(i), func() (bool, string) {
			_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
			return err == nil, apiCode(err)
		})
	}
	started, err := alice[1].StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice[0].DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: started.IncidentRecordArn}); !strings.Contains(apiCode(err), "AccessDeniedException") {
		t.Errorf("alice deletes: want AccessDeniedException, got %s", apiCode(err))
	}

	explained := target.admin(t, "explain", "--principal", principal, "--action", "ssm-incidents:DeleteIncidentRecord", "--resource", aws.ToString(started.IncidentRecordArn))
	for _, want := range []string{"decision: DENY (implicit-deny)", "identity-based policies: user/alice/responder (1 statements)", "because no identity-based policy allows the ssm-incidents:DeleteIncidentRecord action"} {
		if !strings.Contains(explained, want) {
			t.Errorf("explain of a refusal lacks %q:\n%s", want, explained)
		}
	}
	explained = target.admin(t, "explain", "--principal", principal, "--action", "ssm-incidents:UpdateIncidentRecord", "--resource", aws.ToString(started.IncidentRecordArn))
	if !strings.Contains(explained, "decision: ALLOW (identity-policy)") || !strings.Contains(explained, "deciding statement: user/alice/responder Respond: Allow Action") {
		t.Errorf("explain of an allowed request:\n%s", explained)
	}

	// A root key of the other account, made by admin, works for its account.
	var rootKey struct{ AccessKeyId, SecretAccessKey, Principal string }
	json.Unmarshal([]byte(target.admin(t, "keys", "create", "--account-id", accountOther)), &rootKey)
	if rootKey.Principal != "arn:aws:iam::"+accountOther+":root" {
		t.Errorf("a key without --user is of %q, want the root", rootKey.Principal)
	}
	other := client(second.endpoint, rootKey.AccessKeyId, rootKey.SecretAccessKey)
	eventually(t, "a new root key works", func() (bool, string) {
		_, err := other.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
		return err == nil, apiCode(err)
	})

	// Sharing across accounts through a resource policy put on one node
	// works on the other, and ends there at once when the policy goes.
	share := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + accountOther + `"},
		"Action": ["ssm-incidents:StartIncident", "ssm-incidents:GetIncidentRecord", "ssm-incidents:UpdateIncidentRecord"],
		"Resource": ["` + aws.ToString(plan.Arn) + `", "arn:aws:ssm-incidents::` + testAccount + `:incident-record/checkout/*"]}]}`
	put, err := root.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: plan.Arn, Policy: &share})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := other.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn, Title: aws.String("seen from the other account")})
	if err != nil {
		t.Fatalf("StartIncident from a shared plan: %v", err)
	}
	if _, err := other.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: shared.IncidentRecordArn, Status: types.IncidentRecordStatusResolved}); err != nil {
		t.Fatalf("resolve a shared incident: %v", err)
	}
	if got, err := root.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: shared.IncidentRecordArn}); err != nil || got.IncidentRecord.Status != types.IncidentRecordStatusResolved {
		t.Fatalf("the owner reads the shared incident: %v", err)
	}
	if _, err := root.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: plan.Arn, PolicyId: put.PolicyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: shared.IncidentRecordArn}); !strings.Contains(apiCode(err), "because no resource-based policy allows") {
		t.Errorf("the other account once the policy is deleted: %s", apiCode(err))
	}

	// The secrets are nowhere in the database.
	checkNoSecretStored(t, target, key.SecretAccessKey, rootKey.SecretAccessKey)

	// Deactivation stops the key on both nodes; delete too.
	target.admin(t, "keys", "deactivate", "--account-id", testAccount, "--access-key-id", key.AccessKeyId)
	for i, c := range alice {
		eventually(t, "a deactivated key refused on node "+nodeName(i), func() (bool, string) {
			_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
			return strings.HasPrefix(apiCode(err), "UnrecognizedClientException"), apiCode(err)
		})
	}
	listed := target.admin(t, "keys", "list", "--account-id", testAccount)
	if !strings.Contains(listed, `"Status": "Inactive"`) || strings.Contains(listed, key.SecretAccessKey) {
		t.Errorf("keys list after deactivate:\n%s", listed)
	}
	target.admin(t, "keys", "delete", "--account-id", accountOther, "--access-key-id", rootKey.AccessKeyId)
	eventually(t, "a deleted key refused", func() (bool, string) {
		_, err := other.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
		return strings.HasPrefix(apiCode(err), "UnrecognizedClientException"), apiCode(err)
	})

	// Mistakes are clear and change nothing.
	if out, err := target.try("users", "create", "--account-id", "999988887777", "--name", "bob"); err == nil || !strings.Contains(out, "Account 999988887777 does not exist") {
		t.Errorf("a user of a missing account: %v\n%s", err, out)
	}
	if out, err := target.try("policies", "put", "--account-id", testAccount, "--user", "alice", "--policy-name", "bad", "--document", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualsSometimes": {"aws:SourceIp": "x"}}}}`); err == nil || !strings.Contains(out, "Invalid policy document: unknown condition operators: StringEqualsSometimes") {
		t.Errorf("a policy with an unknown operator: %v\n%s", err, out)
	}
	if out := target.admin(t, "policies", "list", "--account-id", testAccount, "--user", "alice"); strings.Contains(out, `"bad"`) {
		t.Errorf("a refused policy was stored:\n%s", out)
	}
	// A console password is read from the standard input, and checked.
	setPassword := func(password string) (string, error) {
		cmd := exec.Command(binary, append([]string{"admin", "users", "set-password", "--account-id", testAccount, "--name", "alice"}, target.flags()...)...)
		cmd.Env = append(os.Environ(), target.env...)
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := setPassword("short"); err == nil || !strings.Contains(out, "A console password has 12 to 72 characters") {
		t.Errorf("a short console password: %v\n%s", err, out)
	}
	if out, err := setPassword("a long enough console password"); err != nil {
		t.Errorf("users set-password: %v\n%s", err, out)
	}
	if out := target.admin(t, "users", "list", "--account-id", testAccount); !strings.Contains(out, `"Arn": "`+principal+`"`) {
		t.Errorf("users list:\n%s", out)
	}

	if out, err := target.try("accounts", "set-org", "--account-id", accountOther); err == nil || !strings.Contains(out, "needs --org-id") {
		t.Errorf("set-org without --org-id: %v\n%s", err, out)
	}
	if target.url != "" {
		// On PostgreSQL the admin commands never make a secrets key of
		// their own: the servers would not open what it sealed.
		bare := adminTarget{data: dataDir(t), url: target.url}
		if out, err := bare.try("keys", "create", "--account-id", testAccount); err == nil || !strings.Contains(out, "no secrets key") {
			t.Errorf("admin on PostgreSQL without the secrets key: %v\n%s", err, out)
		}
	}

	// The admin API: the operator's root may, a user may not.
	resp := signedPost(t, first.endpoint, "/x/admin/users/create", `{"accountId": "`+accountOther+`", "name": "carol"}`, testKey, testSecret)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), `"UserName":"carol"`) {
		t.Errorf("admin API users create as the operator's root: %d %s", resp.Status, resp.Body)
	}
	target.admin(t, "keys", "activate", "--account-id", testAccount, "--access-key-id", key.AccessKeyId)
	eventually(t, "an activated key works again", func() (bool, string) {
		resp = signedPost(t, first.endpoint, "/x/admin/users/create", `{"accountId": "`+testAccount+`", "name": "mallory"}`, key.AccessKeyId, key.SecretAccessKey)
		return resp.Status == 403 && resp.ErrorType == "AccessDeniedException", resp.ErrorType + " " + string(resp.Body)
	})
	if out := target.admin(t, "users", "list", "--account-id", testAccount); strings.Contains(out, "mallory") {
		t.Errorf("a user's admin API call created a user:\n%s", out)
	}
}

// signedPost sends a POST of body to path on the server at endpoint,
// signed with the official SigV4 signer, and returns the status, the error
// type and the body.
func signedPost(t *testing.T, endpoint, path, body, key, secret string) testserver.Response {
	t.Helper()
	req, err := http.NewRequest("POST", endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "ssm-incidents", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return testserver.Response{Status: resp.StatusCode, Header: resp.Header, Body: b, ErrorType: resp.Header.Get("x-amzn-ErrorType")}
}

// checkNoSecretStored fails when a secret appears in the target's
// database: every file of an embedded one, or every row of PostgreSQL.
func checkNoSecretStored(t *testing.T, target adminTarget, secretList ...string) {
	t.Helper()
	var dump []byte
	if target.url == "" {
		files, _ := filepath.Glob(filepath.Join(target.data, sqlite.FileName+"*"))
		if len(files) == 0 {
			t.Fatal("no database file in the data directory")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dump = append(dump, b...)
		}
	} else {
		conn, err := pgx.Connect(context.Background(), target.url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), `SELECT row_to_json(k)::text FROM access_keys k`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			dump = append(dump, s...)
		}
		if len(dump) == 0 {
			t.Fatal("no access key rows in PostgreSQL")
		}
	}
	for _, s := range secretList {
		if bytes.Contains(dump, []byte(s)) || bytes.Contains(dump, []byte(base64.StdEncoding.EncodeToString([]byte(s)))) {
			t.Errorf("a secret access key is stored in the database as it is")
		}
	}
}
