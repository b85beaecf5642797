package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// KnownDifference is a place where incidentd still answers otherwise than
// AWS's documentation shows. The tests assert that each listed difference
// still shows (so that a fix has to remove its entry) and that no other does.
type KnownDifference struct {
	// In names the check of an API reference fixture the difference belongs
	// to: "request syntax", "response syntax" or "example 1"; empty for a
	// CLI example.
	In string `json:"in,omitempty"`
	// Path is the JSON path of the member, list elements written [] (for
	// example eventSummaries[].eventTime); "" is the command or request as a
	// whole.
	Path string `json:"path"`
	// Kind is what differs: see the diff kinds in compare_test.go.
	Kind string `json:"kind"`
	// AWS and Incidentd say what each shows; informational.
	AWS       string `json:"aws,omitempty"`
	Incidentd string `json:"incidentd,omitempty"`
	Why       string `json:"why"`
}

func (k KnownDifference) key() string { return k.In + "|" + k.Path + "|" + k.Kind }

// CLIFixture is one rst file of the aws CLI v1's examples.
type CLIFixture struct {
	Command       string       `json:"command"`
	Source        string       `json:"source"`
	RST           string       `json:"rst"`
	AWSCLIVersion string       `json:"awscliVersion"`
	Examples      []CLIExample `json:"examples"`

	file string
}

// CLIExample is one example of an rst file, as AWS wrote it.
type CLIExample struct {
	Title string `json:"title"`
	// Shell is the command as printed in the rst file, one line a line.
	Shell []string `json:"shell"`
	// Args are the shell words after "aws ssm-incidents".
	Args []string `json:"args"`
	// Output is what AWS shows the command printing, one line a line; nil
	// where the example says "This command produces no output."
	Output           []string          `json:"output"`
	KnownDifferences []KnownDifference `json:"knownDifferences"`
}

// APIRefFixture is the Request Syntax, Response Syntax and Examples of one
// operation of the API reference.
type APIRefFixture struct {
	Operation string `json:"operation"`
	Source    string `json:"source"`
	Note      string `json:"note,omitempty"`
	// FilterKeys are the filter keys the page's Request Body documents for
	// the filters member, where it has one.
	FilterKeys       []string          `json:"filterKeys,omitempty"`
	RequestSyntax    []string          `json:"requestSyntax"`
	ResponseSyntax   []string          `json:"responseSyntax"`
	Examples         []APIExample      `json:"examples"`
	KnownDifferences []KnownDifference `json:"knownDifferences"`

	file string
}

// APIExample is a Sample Request and its Sample Response, as AWS wrote them.
type APIExample struct {
	Request  []string `json:"request"`
	Response []string `json:"response"`
	// Note says what is odd about the example.
	Note string `json:"note,omitempty"`
	// Corrections are applied to the Sample Request before it is sent,
	// where AWS's text has an evident slip that would make it ask for
	// something else; the fixture keeps AWS's text as written.
	Corrections []Correction `json:"corrections,omitempty"`
	// Refusal, when set, is how incidentd answers the Sample Request, which
	// cannot succeed on it as written (and is not compared).
	Refusal *Refusal `json:"refusal,omitempty"`
}

// Correction replaces From by To in the Sample Request.
type Correction struct {
	From string `json:"from"`
	To   string `json:"to"`
	Why  string `json:"why"`
}

// Refusal is an error answer.
type Refusal struct {
	Status    int    `json:"status"`
	ErrorType string `json:"errorType"`
	Why       string `json:"why"`
}

func loadJSONFiles[T any](t testing.TB, dir string, set func(*T, string)) []*T {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []*T
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		v := new(T)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		set(v, name)
		out = append(out, v)
	}
	return out
}

func loadCLIFixtures(t testing.TB) []*CLIFixture {
	return loadJSONFiles(t, "cli", func(f *CLIFixture, name string) { f.file = name })
}

func loadAPIRefFixtures(t testing.TB) []*APIRefFixture {
	return loadJSONFiles(t, "apiref", func(f *APIRefFixture, name string) { f.file = name })
}

// writeJSON writes v as indented JSON, the way the fixtures are kept.
func writeJSON(path string, v any) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
