package app

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/incidentd/incidentd/internal/restjson"
)

// CredentialsFileName is where generated root credentials are kept in the data directory.
const CredentialsFileName = "credentials.json"

type storedCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	AccountID       string `json:"accountId"`
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// RootPrincipal is the principal ARN of an account's root key.
func RootPrincipal(account string) string { return "arn:aws:iam::" + account + ":root" }

// loadKeys returns the root key (from the config, or generated once into the
// data directory) and the keys of the credentials file.
func loadKeys(cfg Config, out io.Writer) (map[string]restjson.Key, error) {
	root := storedCredentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, AccountID: cfg.AccountID}
	switch {
	case root == storedCredentials{}:
		var err error
		if root, err = generatedCredentials(cfg, out); err != nil {
			return nil, err
		}
	case root.AccessKeyID == "" || root.SecretAccessKey == "" || root.AccountID == "":
		return nil, errors.New("set all of INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY and INCIDENTD_ACCOUNT_ID, or none of them to use generated credentials")
	}
	if !accountRE.MatchString(root.AccountID) {
		return nil, fmt.Errorf("account id %q is not 12 digits", root.AccountID)
	}
	keys := map[string]restjson.Key{root.AccessKeyID: {
		SecretAccessKey: root.SecretAccessKey, Account: root.AccountID, Principal: RootPrincipal(root.AccountID),
	}}
	if cfg.CredentialsFile != "" {
		if err := readCredentialsFile(cfg.CredentialsFile, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func generatedCredentials(cfg Config, out io.Writer) (storedCredentials, error) {
	path := filepath.Join(cfg.DataDir, CredentialsFileName)
	var c storedCredentials
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(out, "incidentd: using the credentials in %s\n", path)
		return c, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	c = storedCredentials{
		AccessKeyID:     "AKID" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
		SecretAccessKey: randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40),
		AccountID:       randomString("0123456789", 12),
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return c, err
	}
	b, _ = json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return c, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	fmt.Fprintf(out, `incidentd: generated root credentials for account %s (kept in %s).
Use them with any AWS client:
  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=us-east-1
  aws --endpoint-url http://%s ssm-incidents list-replication-sets
`, c.AccountID, path, c.AccessKeyID, c.SecretAccessKey, addr)
	return c, nil
}

func randomString(alphabet string, n int) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// readCredentialsFile adds the keys of a file with one key per line:
// ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN]; # starts a comment.
func readCredentialsFile(path string, keys map[string]restjson.Key) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 3 || len(fields) > 4 || !accountRE.MatchString(fields[2]) {
			return fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN]", path, n)
		}
		k := restjson.Key{SecretAccessKey: fields[1], Account: fields[2], Principal: RootPrincipal(fields[2])}
		if len(fields) == 4 {
			k.Principal = fields[3]
		}
		if _, dup := keys[fields[0]]; dup {
			return fmt.Errorf("%s:%d: access key %s is defined twice", path, n, fields[0])
		}
		keys[fields[0]] = k
	}
	return sc.Err()
}
