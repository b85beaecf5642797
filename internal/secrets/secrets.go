// Package secrets seals the secrets incidentd keeps in its database (the
// secret access keys that SigV4 needs to verify a signature) with a key
// that is not in the database: whoever holds a copy of the database alone,
// a stolen backup say, reads no secret from it.
//
// The key is 32 bytes, for AES-256-GCM. It comes from INCIDENTD_SECRETS_KEY
// (base64), else from a key file (--secrets-key-file), else from the file
// secrets.key in the data directory, which the first start creates, mode
// 0600. Every node on one PostgreSQL database is given the same key.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size of a key, in bytes.
const KeySize = 32

// FileName is the name of the key file a data directory keeps.
const FileName = "secrets.key"

// version is the first byte of what Seal writes, for the format to change.
const version = 1

// Key seals and opens secrets.
type Key struct {
	aead cipher.AEAD
}

// NewKey makes a Key of 32 bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("a secrets key is %d bytes, not %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Source tells where Load found the key.
type Source string

// The sources of a key.
const (
	FromEnvironment Source = "environment" // INCIDENTD_SECRETS_KEY
	FromFile        Source = "file"        // the key file given
	FromDataDir     Source = "data directory"
	Generated       Source = "generated" // a new key file in the data directory
)

// Load finds the key: env (the value of INCIDENTD_SECRETS_KEY, base64),
// else the file keyFile, else dataDir's key file, which it creates with a
// new random key when it is missing (and reports Generated). A key file
// holds the key in base64, and must be readable by its owner only.
func Load(env, keyFile, dataDir string) (*Key, Source, error) {
	k, source, err := Find(env, keyFile, dataDir)
	if !errors.Is(err, fs.ErrNotExist) || env != "" || keyFile != "" {
		return k, source, err
	}
	path := filepath.Join(dataDir, FileName)
	raw := make([]byte, KeySize)
	rand.Read(raw)
	created, err := create(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"))
	if err != nil {
		return nil, "", err
	}
	if !created {
		// Another process created it first: its key is the key.
		k, err := readFile(path)
		return k, FromDataDir, err
	}
	k, err = NewKey(raw)
	return k, Generated, err
}

// Find is Load without the creation: a missing key file of the data
// directory is an error that wraps fs.ErrNotExist.
func Find(env, keyFile, dataDir string) (*Key, Source, error) {
	switch {
	case env != "":
		k, err := decode([]byte(env))
		if err != nil {
			return nil, "", fmt.Errorf("INCIDENTD_SECRETS_KEY: %w", err)
		}
		return k, FromEnvironment, nil
	case keyFile != "":
		k, err := readFile(keyFile)
		return k, FromFile, err
	}
	k, err := readFile(filepath.Join(dataDir, FileName))
	if err != nil {
		return nil, "", err
	}
	return k, FromDataDir, nil
}

// create writes a new file path holding content, whole or not at all: it
// writes a temporary file, syncs it, links it to path, which fails when
// path exists (created is then false), and syncs the directory, so that
// the key outlives a crash as the secrets it seals do.
func create(path string, content []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+FileName+"-*")
	if err != nil {
		return false, fmt.Errorf("create the secrets key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(content)
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return false, fmt.Errorf("write the secrets key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("create the secrets key %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return true, err
	}
	return true, errors.Join(d.Sync(), d.Close())
}

func readFile(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the secrets key %s can be read by others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("the secrets key %s: %w", path, err)
	}
	return k, nil
}

func decode(b []byte) (*Key, error) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(raw) != KeySize {
		return nil, fmt.Errorf("a secrets key is %d random bytes in base64 (openssl rand -base64 %d)", KeySize, KeySize)
	}
	return NewKey(raw)
}

// Seal encrypts secret, bound to context (the access key id it belongs
// to, say): Open needs the same context, so that a sealed secret copied to
// another row does not open there.
func (k *Key) Seal(secret, context []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), 1+k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	rand.Read(nonce)
	out := append([]byte{version}, nonce...)
	return k.aead.Seal(out, nonce, secret, context)
}

// ErrOpen is Open's answer to what this key did not seal for this context.
var ErrOpen = errors.New("the sealed secret does not open with this secrets key: it was sealed with another key, for another context, or changed")

// Open decrypts what Seal sealed with this key and context.
func (k *Key) Open(sealed, context []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	secret, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return secret, nil
}
