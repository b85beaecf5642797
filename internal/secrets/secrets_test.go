package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/secrets"
)

func TestSealOpen(t *testing.T) {
	k, _, err := secrets.Load("", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	sealed := k.Seal(secret, []byte("AKIDEXAMPLE"))
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte("EXAMPLEKEY")) {
		t.Fatalf("the sealed secret shows it: %q", sealed)
	}
	if again := k.Seal(secret, []byte("AKIDEXAMPLE")); bytes.Equal(again, sealed) {
		t.Error("two seals of one secret are alike: the nonce is not random")
	}
	got, err := k.Open(sealed, []byte("AKIDEXAMPLE"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	// Another context, another key, a changed byte, a short input: refused.
	if _, err := k.Open(sealed, []byte("AKIDOTHER")); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Open for another context: %v", err)
	}
	other, _, err := secrets.Load("", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, []byte("AKIDEXAMPLE")); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Open with another key: %v", err)
	}
	changed := bytes.Clone(sealed)
	changed[len(changed)-1] ^= 1
	if _, err := k.Open(changed, []byte("AKIDEXAMPLE")); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Open of a changed seal: %v", err)
	}
	if _, err := k.Open(sealed[:5], []byte("AKIDEXAMPLE")); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Open of a short seal: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	k1, src, err := secrets.Load("", "", dir)
	if err != nil || src != secrets.Generated {
		t.Fatalf("first Load: %v, %v", src, err)
	}
	path := filepath.Join(dir, secrets.FileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the generated key file: %v, %v", fi, err)
	}
	k2, src, err := secrets.Load("", "", dir)
	if err != nil || src != secrets.FromDataDir {
		t.Fatalf("second Load: %v, %v", src, err)
	}
	sealed := k1.Seal([]byte("s"), nil)
	if _, err := k2.Open(sealed, nil); err != nil {
		t.Fatalf("the key read back does not open what the generated one sealed: %v", err)
	}

	// The environment comes first, then a key file given.
	raw := bytes.Repeat([]byte{7}, secrets.KeySize)
	env := base64.StdEncoding.EncodeToString(raw)
	ke, src, err := secrets.Load(env, path, dir)
	if err != nil || src != secrets.FromEnvironment {
		t.Fatalf("Load with the environment: %v, %v", src, err)
	}
	if _, err := ke.Open(sealed, nil); err == nil {
		t.Error("the environment's key opened the data directory key's seal")
	}
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(env+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kf, src, err := secrets.Load("", file, dir)
	if err != nil || src != secrets.FromFile {
		t.Fatalf("Load with a key file: %v, %v", src, err)
	}
	if _, err := kf.Open(ke.Seal([]byte("s"), nil), nil); err != nil {
		t.Errorf("the key file's key and the environment's differ: %v", err)
	}

	// Refused: a key file others can read, a key of the wrong size, a
	// missing key file given by name.
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secrets.Load("", file, dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key file readable by others: %v", err)
	}
	if _, _, err := secrets.Load(base64.StdEncoding.EncodeToString([]byte("short")), "", dir); err == nil || !strings.Contains(err.Error(), "INCIDENTD_SECRETS_KEY") {
		t.Errorf("a short key in the environment: %v", err)
	}
	if _, _, err := secrets.Load("", filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("a missing key file was accepted")
	}
}

// TestLoadAtOnce: processes that start at once on one data directory all
// end with the one key the first of them wrote.
func TestLoadAtOnce(t *testing.T) {
	dir := t.TempDir()
	keys := make([]*secrets.Key, 8)
	errs := make([]error, len(keys))
	done := make(chan int)
	for i := range keys {
		go func() {
			keys[i], _, errs[i] = secrets.Load("", "", dir)
			done <- i
		}()
	}
	for range keys {
		<-done
	}
	sealed := keys[0].Seal([]byte("s"), nil)
	for i, k := range keys {
		if errs[i] != nil {
			t.Fatalf("Load %d: %v", i, errs[i])
		}
		if _, err := k.Open(sealed, nil); err != nil {
			t.Errorf("Load %d has another key", i)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != secrets.FileName {
		t.Errorf("the data directory holds %v (%v), want the key file alone", entries, err)
	}
}
