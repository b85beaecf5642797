package conformance

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/testserver"
)

var regen = flag.Bool("regen", false, "re-create testdata/cli from the installed aws CLI's rst examples (keeping each example's knownDifferences)")

const cliReferenceURL = "https://docs.aws.amazon.com/cli/latest/reference/ssm-incidents/%s.html"

// awscliExamples returns the directory of the installed aws CLI v1's
// ssm-incidents examples and the aws CLI's version, or "" when python3 or
// awscli is not there.
func awscliExamples() (dir, version string) {
	out, err := exec.Command("python3", "-c", "import awscli,os;print(os.path.dirname(awscli.__file__));print(awscli.__version__)").Output()
	if err != nil {
		return "", ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", ""
	}
	dir = filepath.Join(lines[0], "examples", "ssm-incidents")
	if _, err := os.Stat(dir); err != nil {
		return "", ""
	}
	return dir, lines[1]
}

var rstTitle = regexp.MustCompile(`^\*\*(.+)\*\*\s*$`)

// parseRST cuts an rst file of the aws CLI's examples into its examples:
// each starts with a bold title line, has its command in the first literal
// block (the indented lines after a paragraph ending in "::") and its output
// in the literal block after "Output::", or says "This command produces no
// output."
func parseRST(text string) ([]CLIExample, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out []CLIExample
	var cur *CLIExample
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := rstTitle.FindStringSubmatch(line); m != nil {
			out = append(out, CLIExample{Title: m[1], Args: []string{}, KnownDifferences: []KnownDifference{}})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil || !strings.HasSuffix(strings.TrimSpace(line), "::") || strings.HasPrefix(line, " ") {
			if cur != nil && strings.TrimSpace(line) == "This command produces no output." {
				cur.Output = nil
			}
			continue
		}
		block, next := literalBlock(lines, i+1)
		i = next - 1
		if strings.TrimSpace(line) == "Output::" {
			if cur.Output != nil {
				return nil, fmt.Errorf("example %q has two outputs", cur.Title)
			}
			cur.Output = block
			continue
		}
		if cur.Shell != nil {
			return nil, fmt.Errorf("example %q has two commands", cur.Title)
		}
		cur.Shell = block
		words, err := shellWords(strings.Join(block, "\n"))
		if err != nil {
			return nil, fmt.Errorf("example %q: %v", cur.Title, err)
		}
		if len(words) < 3 || words[0] != "aws" || words[1] != "ssm-incidents" {
			return nil, fmt.Errorf("example %q: the command does not start with aws ssm-incidents: %q", cur.Title, words)
		}
		cur.Args = words[2:]
	}
	for _, ex := range out {
		if ex.Shell == nil {
			return nil, fmt.Errorf("example %q has no command", ex.Title)
		}
	}
	return out, nil
}

// literalBlock returns the indented lines from lines[i] on (leading blank
// lines skipped, trailing ones dropped), dedented by their common
// indentation, and the index of the first line after the block.
func literalBlock(lines []string, i int) ([]string, int) {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	start := i
	for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(lines[i], " ") || strings.HasPrefix(lines[i], "\t")) {
		i++
	}
	block := lines[start:i]
	for len(block) > 0 && strings.TrimSpace(block[len(block)-1]) == "" {
		block = block[:len(block)-1]
	}
	indent := -1
	for _, l := range block {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	out := make([]string, len(block))
	for j, l := range block {
		if len(l) >= indent {
			out[j] = l[indent:]
		} else {
			out[j] = ""
		}
	}
	return out, i
}

// shellWords splits a POSIX shell command line into words: single quotes
// keep everything, double quotes keep everything but \" \\ \$ \` and a
// backslash-newline, a backslash outside quotes escapes the next character
// (a backslash-newline continues the line).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				if s[i] == '\n' {
					continue
				}
				cur.WriteByte(s[i])
				inWord = true
			}
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// cliFixturesFromRST makes the CLI fixtures from the rst files in dir.
func cliFixturesFromRST(dir, version string) ([]*CLIFixture, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.rst"))
	if err != nil {
		return nil, err
	}
	var out []*CLIFixture
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		exs, err := parseRST(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		base := filepath.Base(name)
		command := strings.TrimSuffix(base, ".rst")
		out = append(out, &CLIFixture{
			Command:       command,
			Source:        fmt.Sprintf(cliReferenceURL, command),
			RST:           base,
			AWSCLIVersion: version,
			Examples:      exs,
			file:          filepath.Join("testdata", "cli", command+".json"),
		})
	}
	return out, nil
}

// TestCLIFixturesMatchTheAWSCLI re-reads the installed aws CLI's rst
// examples: with -regen it rewrites testdata/cli from them (keeping the
// knownDifferences of each example, matched by title); otherwise, where the
// installed aws CLI is the version the fixtures were made from, it checks
// that the committed fixtures are what the rst files say.
func TestCLIFixturesMatchTheAWSCLI(t *testing.T) {
	dir, version := awscliExamples()
	if dir == "" {
		if *regen {
			t.Fatal("-regen needs python3 with the awscli module (pip install awscli)")
		}
		testserver.MissingTool(t, "python3 with the awscli module is not installed (pip install awscli): the committed fixtures cannot be checked against the aws CLI's examples")
	}
	fresh, err := cliFixturesFromRST(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) == 0 {
		t.Fatalf("no rst files in %s", dir)
	}
	committed := map[string]*CLIFixture{}
	for _, f := range loadCLIFixtures(t) {
		committed[f.Command] = f
	}
	if *regen {
		if err := os.MkdirAll(filepath.Join("testdata", "cli"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range fresh {
			if old := committed[f.Command]; old != nil {
				for i := range f.Examples {
					for _, o := range old.Examples {
						if o.Title == f.Examples[i].Title {
							f.Examples[i].KnownDifferences = o.KnownDifferences
						}
					}
				}
			}
			if err := writeJSON(f.file, f); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %d fixtures from %s (aws CLI %s)", len(fresh), dir, version)
		return
	}
	for _, f := range fresh {
		old := committed[f.Command]
		if old == nil {
			t.Errorf("%s has no fixture %s: run go test ./internal/conformance -run %s -regen", f.RST, f.file, t.Name())
			continue
		}
		if old.AWSCLIVersion != version {
			t.Logf("%s: fixtures are from aws CLI %s, %s is installed: not compared", f.file, old.AWSCLIVersion, version)
			continue
		}
		if len(old.Examples) != len(f.Examples) {
			t.Errorf("%s: %d examples, %s has %d", f.file, len(old.Examples), f.RST, len(f.Examples))
			continue
		}
		for i, ex := range f.Examples {
			o := old.Examples[i]
			if o.Title != ex.Title || !reflect.DeepEqual(o.Shell, ex.Shell) || !reflect.DeepEqual(o.Args, ex.Args) || !reflect.DeepEqual(o.Output, ex.Output) {
				t.Errorf("%s example %d differs from %s: run with -regen", f.file, i+1, f.RST)
			}
		}
		delete(committed, f.Command)
	}
	for name := range committed {
		t.Errorf("fixture of %s has no rst file in %s", name, dir)
	}
}

func TestShellWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`aws ssm-incidents x \` + "\n" + `    --a '{"b": "c d"}'`, []string{"aws", "ssm-incidents", "x", "--a", `{"b": "c d"}`}},
		{`--event-data "\"example timeline event\""`, []string{"--event-data", `"example timeline event"`}},
		{`--d "Example response plan" --flag`, []string{"--d", "Example response plan", "--flag"}},
		{`--p "{\"V\":\"2012\"}"`, []string{"--p", `{"V":"2012"}`}},
	} {
		got, err := shellWords(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
