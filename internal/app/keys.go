package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/incidentd/incidentd/internal/iam"
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

// accessKeyIDRE is the form of an access key id: letters and digits, as
// AWS's own (20 capital letters and digits) and the short ones of local
// emulators ("test") are.
var accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// checkAccessKeyID says what is wrong with an access key id, if anything.
func checkAccessKeyID(id string) error {
	if !accessKeyIDRE.MatchString(id) {
		return fmt.Errorf("access key id %q is not 1 to 128 letters and digits", id)
	}
	return nil
}

// RootPrincipal is the principal ARN of an account's root key.
func RootPrincipal(account string) string { return "arn:aws:iam::" + account + ":root" }

// loadKeys returns the keys of the credentials file and the root key (from
// the config, or generated once into the data directory), the root key's
// credentials, and, when it
// generated the root key, the lines that tell how to use it with a client of
// the server at addr. First it checks the permissions of the data directory
// and the credentials files (see checkPermissions), writing warnings to
// out. It logs, whatever the log level, which root key and account are in
// use and where they come from (never a secret), and warns when a key kept
// in the data directory is ignored.
func loadKeys(cfg Config, out io.Writer, log *slog.Logger, addr string) (keys map[string]restjson.Key, root storedCredentials, generated string, err error) {
	if err := checkPermissions(cfg, out); err != nil {
		return nil, root, "", err
	}
	// The credentials file is read first: a start that cannot read it
	// generates no key.
	keys = map[string]restjson.Key{}
	if cfg.CredentialsFile != "" {
		if err := readCredentialsFile(cfg.CredentialsFile, keys); err != nil {
			return nil, root, "", err
		}
	}
	root = storedCredentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, AccountID: cfg.AccountID}
	var source string
	switch {
	case root == storedCredentials{}:
		if root, source, generated, err = generatedCredentials(cfg, addr); err != nil {
			return nil, root, "", err
		}
	case root.AccessKeyID == "" || root.SecretAccessKey == "" || root.AccountID == "":
		return nil, root, "", errors.New("set all of INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY and INCIDENTD_ACCOUNT_ID, or none of them to use generated credentials")
	default:
		source = "environment (INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY, INCIDENTD_ACCOUNT_ID)"
	}
	if !accountRE.MatchString(root.AccountID) {
		return nil, root, "", fmt.Errorf("account id %q is not 12 digits", root.AccountID)
	}
	if err := checkAccessKeyID(root.AccessKeyID); err != nil {
		return nil, root, "", err
	}
	if _, dup := keys[root.AccessKeyID]; dup {
		return nil, root, "", fmt.Errorf("%s: access key %s is also the root key", cfg.CredentialsFile, root.AccessKeyID)
	}
	further := len(keys)
	accounts := map[string]bool{}
	for _, k := range keys {
		accounts[k.Account] = true
	}
	keys[root.AccessKeyID] = restjson.Key{SecretAccessKey: root.SecretAccessKey, Account: root.AccountID, Principal: RootPrincipal(root.AccountID)}
	notice(log, slog.LevelInfo, "root access key", "access_key_id", root.AccessKeyID, "account", root.AccountID, "source", source)
	if cfg.CredentialsFile != "" {
		notice(log, slog.LevelInfo, "further access keys", "file", cfg.CredentialsFile, "keys", further, "accounts", len(accounts))
	}
	if cfg.AccessKeyID != "" {
		warnIgnoredStoredKey(cfg, keys, log)
	}
	return keys, root, generated, nil
}

// warnIgnoredStoredKey warns when the data directory keeps generated
// credentials whose key the environment's root key replaces: requests
// signed with that key are refused, and the data of its account is not the
// data of the account in use.
func warnIgnoredStoredKey(cfg Config, keys map[string]restjson.Key, log *slog.Logger) {
	path := filepath.Join(cfg.DataDir, CredentialsFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var c storedCredentials
	if json.Unmarshal(b, &c) != nil || c.AccessKeyID == "" {
		notice(log, slog.LevelWarn, "ignoring the credentials file of the data directory: it does not hold a key", "file", path)
		return
	}
	if k, ok := keys[c.AccessKeyID]; ok && k.SecretAccessKey == c.SecretAccessKey && k.Account == c.AccountID {
		return
	}
	notice(log, slog.LevelWarn, "IGNORING the root key kept in the data directory, because INCIDENTD_ACCESS_KEY_ID is set: requests signed with it are refused, and its account's data is not shown to the key in use; unset INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY and INCIDENTD_ACCOUNT_ID to use it",
		"file", path, "ignored_access_key_id", c.AccessKeyID, "ignored_account", c.AccountID,
		"access_key_id", cfg.AccessKeyID, "account", cfg.AccountID)
}

// generatedCredentials returns the root credentials kept in the data
// directory and where they come from, generating and keeping them (see
// writeFileAtomic) on the first start; then it also returns the lines that
// tell how to use them with a client of the server at addr.
func generatedCredentials(cfg Config, addr string) (c storedCredentials, source, generated string, err error) {
	path := filepath.Join(cfg.DataDir, CredentialsFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, "", "", fmt.Errorf("%s: %w", path, err)
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.AccountID == "" {
			return c, "", "", fmt.Errorf("%s: want all of accessKeyId, secretAccessKey and accountId", path)
		}
		return c, path, "", nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return c, "", "", err
	}
	c = storedCredentials{
		AccessKeyID:     "AKID" + iam.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
		SecretAccessKey: iam.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40),
		AccountID:       iam.RandomString("0123456789", 12),
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return c, "", "", err
	}
	b, _ = json.MarshalIndent(c, "", "  ")
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return c, "", "", err
	}
	generated = fmt.Sprintf(`incidentd: generated root credentials for account %s (kept in %s).
Use them with any AWS client:
  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  aws --endpoint-url http://%s ssm-incidents list-replication-sets
`, c.AccountID, path, c.AccessKeyID, c.SecretAccessKey, addr)
	return c, "generated, kept in " + path, generated, nil
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
		if len(fields) < 3 || len(fields) > 4 {
			return fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN], not %d fields", path, n, len(fields))
		}
		if err := checkAccessKeyID(fields[0]); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if !accountRE.MatchString(fields[2]) {
			return fmt.Errorf("%s:%d: account id %q is not 12 digits", path, n, fields[2])
		}
		k := restjson.Key{SecretAccessKey: fields[1], Account: fields[2], Principal: RootPrincipal(fields[2])}
		if len(fields) == 4 {
			if err := checkPrincipal(fields[3], fields[2]); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			k.Principal = fields[3]
		}
		if _, dup := keys[fields[0]]; dup {
			return fmt.Errorf("%s:%d: access key %s is defined twice", path, n, fields[0])
		}
		keys[fields[0]] = k
	}
	return sc.Err()
}

// iamNameRE is the form of a segment of an IAM path or name.
var iamNameRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]+$`)

// maxIAMName is the length limit of IAM user and role names.
const maxIAMName = 64

// checkPrincipal says what is wrong, if anything, with principal as the
// identity of a key of account. A principal is the account's root,
// arn:aws:iam::ACCOUNT:root, or one of its users or roles,
// arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/NAME, whose
// name may follow a path (role/ops/oncall).
func checkPrincipal(principal, account string) error {
	parts := strings.SplitN(principal, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return fmt.Errorf("principal %q is not an ARN: want arn:aws:iam::%s:root, arn:aws:iam::%s:user/NAME or arn:aws:iam::%s:role/NAME", principal, account, account, account)
	}
	partition, service, region, arnAccount, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case partition != "aws":
		return fmt.Errorf("principal %q is in partition %q: incidentd knows only the aws partition", principal, partition)
	case service != "iam":
		return fmt.Errorf("principal %q is of service %q, not iam", principal, service)
	case region != "":
		return fmt.Errorf("principal %q names region %q: IAM ARNs name none", principal, region)
	case arnAccount != account:
		return fmt.Errorf("principal %q is in account %q, not in the line's account %s", principal, arnAccount, account)
	}
	kind, name, named := strings.Cut(resource, "/")
	if kind == "root" && !named {
		return nil
	}
	if kind != "user" && kind != "role" || !named {
		return fmt.Errorf("principal %q names %q: want root, user/NAME or role/NAME", principal, resource)
	}
	segments := strings.Split(name, "/")
	for _, seg := range segments {
		if seg == "" {
			return fmt.Errorf("principal %q has an empty path segment or name", principal)
		}
		if !iamNameRE.MatchString(seg) {
			return fmt.Errorf("principal %q: %q may hold only letters, digits and + = , . @ _ - (and / between path segments)", principal, seg)
		}
	}
	if last := segments[len(segments)-1]; len(last) > maxIAMName {
		return fmt.Errorf("principal %q: %s name %s is longer than %d characters", principal, kind, last, maxIAMName)
	}
	return nil
}
