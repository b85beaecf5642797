package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the model package from the committed
// service model and fails when zz_generated.go differs: run
// `go generate ./internal/model` after changing the generator or the model.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	f, err := os.Open("../service-2.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := Generate(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/model/zz_generated.go is stale: run go generate ./internal/model")
	}
}
