package restjson_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

// These tests hold the server to the official model as botocore ships it,
// not to incidentd's committed copy, so that a change in either is noticed.

// sampleARN is a well-formed ARN of account A used wherever a string must be
// an ARN (URI labels, Arn-patterned members).
const sampleARN = "arn:aws:ssm-incidents::111122223333:response-plan/x"

// ---------------------------------------------------------------------------
// The official model.

var botocore struct {
	once    sync.Once
	path    string
	missing string // why the model cannot be read, and how to install it
}

// botocoreModelPath returns the path of the ssm-incidents model inside the
// installed botocore; when python3 or botocore is absent, the test skips, or
// fails where CI is set (testserver.MissingTool).
func botocoreModelPath(t testing.TB) string {
	t.Helper()
	botocore.once.Do(func() {
		py, err := exec.LookPath("python3")
		if err != nil {
			botocore.missing = "python3 is not installed; the official ssm-incidents model is read from botocore (pip install botocore)"
			return
		}
		out, err := exec.Command(py, "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			botocore.missing = fmt.Sprintf("python3 cannot import botocore (%v); the official ssm-incidents model is read from botocore (pip install botocore)", err)
			return
		}
		p := filepath.Join(strings.TrimSpace(string(out)), "data", "ssm-incidents", "2018-05-10", "service-2.json.gz")
		if _, err := os.Stat(p); err != nil {
			botocore.missing = fmt.Sprintf("the installed botocore has no ssm-incidents 2018-05-10 model (pip install --upgrade botocore): %v", err)
			return
		}
		botocore.path = p
	})
	if botocore.missing != "" {
		testserver.MissingTool(t, botocore.missing)
	}
	return botocore.path
}

func readGzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

type svcModel struct {
	Operations map[string]*opModel    `json:"operations"`
	Shapes     map[string]*shapeModel `json:"shapes"`
}

type opModel struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *shapeRef   `json:"input"`
	Errors []*shapeRef `json:"errors"`
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type shapeModel struct {
	Type     string         `json:"type"`
	Required []string       `json:"required"`
	Members  orderedMembers `json:"members"`
	Member   *shapeRef      `json:"member"`
	Key      *shapeRef      `json:"key"`
	Value    *shapeRef      `json:"value"`
	Min      *int64         `json:"min"`
	Max      *int64         `json:"max"`
	Pattern  string         `json:"pattern"`
	Enum     []string       `json:"enum"`
	Union    bool           `json:"union"`
}

type memberModel struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

// orderedMembers keeps the members of a structure in model order.
type orderedMembers struct {
	names  []string
	byName map[string]memberModel
}

func (o *orderedMembers) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("members: not an object")
	}
	o.byName = map[string]memberModel{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		var m memberModel
		if err := dec.Decode(&m); err != nil {
			return err
		}
		o.names = append(o.names, name)
		o.byName[name] = m
	}
	_, err := dec.Token()
	return err
}

func loadBotocoreModel(t testing.TB) *svcModel {
	t.Helper()
	var m svcModel
	if err := json.Unmarshal(readGzip(t, botocoreModelPath(t)), &m); err != nil {
		t.Fatalf("decode botocore's model: %v", err)
	}
	if len(m.Operations) == 0 {
		t.Fatal("botocore's model has no operations")
	}
	return &m
}

func (m *svcModel) operationNames() []string {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (m *svcModel) inputShape(t testing.TB, op *opModel) *shapeModel {
	if op.Input == nil {
		return &shapeModel{Type: "structure"}
	}
	return m.shape(t, op.Input.Shape)
}

func (m *svcModel) shape(t testing.TB, name string) *shapeModel {
	t.Helper()
	s, ok := m.Shapes[name]
	if !ok {
		t.Fatalf("the model references shape %s, which it does not define", name)
	}
	return s
}

// hasBodyMembers reports whether some input member travels in the JSON body.
func (m *svcModel) hasBodyMembers(t testing.TB, op *opModel) bool {
	in := m.inputShape(t, op)
	for _, n := range in.Members.names {
		if in.Members.byName[n].Location == "" {
			return true
		}
	}
	return false
}

func TestCommittedModelMatchesBotocore(t *testing.T) {
	official := readGzip(t, botocoreModelPath(t))
	committed := readGzip(t, filepath.Join("..", "model", "service-2.json.gz"))
	var a, b any
	if err := json.Unmarshal(official, &a); err != nil {
		t.Fatalf("botocore's model: %v", err)
	}
	if err := json.Unmarshal(committed, &b); err != nil {
		t.Fatalf("internal/model/service-2.json.gz: %v", err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("internal/model/service-2.json.gz differs from botocore's %s: copy botocore's file and run go generate ./internal/model", botocoreModelPath(t))
	}
}

// ---------------------------------------------------------------------------
// Routing.

func TestEveryOperationIsRouted(t *testing.T) {
	m := loadBotocoreModel(t)
	srv := testserver.Start(t)
	for _, name := range m.operationNames() {
		op := m.Operations[name]
		t.Run(name, func(t *testing.T) {
			path := op.HTTP.RequestURI
			for _, label := range regexp.MustCompile(`\{[^}]+\}`).FindAllString(path, -1) {
				path = strings.Replace(path, label, url.PathEscape(sampleARN), 1)
			}
			var body []byte
			if m.hasBodyMembers(t, op) {
				body = []byte("{}")
			}
			resp := srv.Do(op.HTTP.Method, path, body)
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("%s %s: no x-amzn-RequestId header", op.HTTP.Method, path)
			}
			if resp.ErrorType == "UnknownOperationException" {
				t.Fatalf("%s %s is not routed: %d %s", op.HTTP.Method, path, resp.Status, resp.Body)
			}
			if resp.Status < 300 {
				if resp.Status != op.HTTP.ResponseCode {
					t.Errorf("%s %s: success status %d, the model says %d", op.HTTP.Method, path, resp.Status, op.HTTP.ResponseCode)
				}
				return
			}
			var allowed []string
			for _, e := range op.Errors {
				allowed = append(allowed, e.Shape)
			}
			if !slices.Contains(allowed, resp.ErrorType) {
				t.Fatalf("%s %s: error %q (%d %s) is not among the operation's errors %v", op.HTTP.Method, path, resp.ErrorType, resp.Status, resp.Body, allowed)
			}
			errorMessage(t, resp)
		})
	}

	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{"POST", "/noSuchOperation", []byte("{}")},
		{"GET", "/updateIncidentRecord", nil},
		{"GET", "/", nil},
		{"PUT", "/tags/" + url.PathEscape(sampleARN), []byte("{}")},
	} {
		t.Run("unknown "+tc.method+" "+tc.path, func(t *testing.T) {
			resp := srv.Do(tc.method, tc.path, tc.body)
			if resp.Status != http.StatusNotFound || resp.ErrorType != "UnknownOperationException" {
				t.Fatalf("%s %s: got %d %q %s, want 404 UnknownOperationException", tc.method, tc.path, resp.Status, resp.ErrorType, resp.Body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			if errorMessage(t, resp) == "" {
				t.Error("empty message")
			}
		})
	}
}

// errorMessage returns the message member of an error answer, failing the
// test when the body is not a JSON object with a string message.
func errorMessage(t testing.TB, resp testserver.Response) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("error body %q is not a JSON object: %v", resp.Body, err)
	}
	msg, ok := body["message"].(string)
	if !ok {
		t.Fatalf("error body %s has no string message", resp.Body)
	}
	return msg
}

// ---------------------------------------------------------------------------
// Constraints.

// patternSample gives, for one pattern of the model, a value that satisfies
// it and one that does not. goRE is an equivalent Go expression where the
// pattern uses syntax Go's regexp lacks (a leading negative look-ahead, which
// notPrefix then expresses).
type patternSample struct {
	valid, invalid string
	goRE           string
	notPrefix      string
}

var patternSamples = map[string]patternSample{
	`^arn:aws(-cn|-us-gov)?:[a-z0-9-]*:[a-z0-9-]*:([0-9]{12})?:.+$`: {
		valid: sampleARN, invalid: "not-an-arn",
	},
	`^related-item/(ANALYSIS|INCIDENT|METRIC|PARENT|ATTACHMENT|OTHER|AUTOMATION|INVOLVED_RESOURCE|TASK)/([0-9]|[A-F]){32}$`: {
		valid: "related-item/ANALYSIS/0123456789ABCDEF0123456789ABCDEF", invalid: "related-item/ANALYSIS/0123456789abcdef",
	},
	`^[a-zA-Z0-9-_]*$`: {
		valid: "plan-1", invalid: "bad name!",
	},
	`^arn:aws(-cn|-us-gov)?:iam::([0-9]{12})?:role/.+$`: {
		valid: "arn:aws:iam::111122223333:role/responder", invalid: "arn:aws:iam::111122223333:user/responder",
	},
	`^[a-zA-Z0-9_\-.:/]{3,128}$`: {
		valid: "AWSIncidents-CriticalIncidentRunbookTemplate", invalid: "bad name",
	},
	`^arn:aws(-cn|-us-gov)?:ssm-contacts:[a-z0-9-]*:([0-9]{12}):contact/[a-z0-9_-]+$`: {
		valid: "arn:aws:ssm-contacts:us-east-1:111122223333:contact/oncall", invalid: "arn:aws:ssm-contacts:us-east-1:111122223333:rotation/oncall",
	},
	`^(?!aws:)[A-Za-z0-9 _=@:.+-/]+$`: {
		valid: "team", invalid: "aws:reserved",
		goRE: `^[A-Za-z0-9 _=@:.+-/]+$`, notPrefix: "aws:",
	},
	`^[A-Za-z0-9 _=@:.+-/]*$`: {
		valid: "sre", invalid: "bad#value",
	},
}

// absent marks a member that the input leaves out.
var absent = &struct{ absent bool }{true}

// input is an operation's input by member name, before it is split between
// the URI, the query string and the JSON body.
type input map[string]any

type constraintCase struct {
	path       string // AWS path of the member
	constraint string
	in         input
	want       []string // message entries, in the server's order
}

type generator struct {
	t        testing.TB
	m        *svcModel
	patterns map[string]*regexp.Regexp
	cases    []constraintCase
}

func newGenerator(t testing.TB, m *svcModel) *generator {
	g := &generator{t: t, m: m, patterns: map[string]*regexp.Regexp{}}
	names := make([]string, 0, len(m.Shapes))
	for n := range m.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := m.Shapes[n].Pattern
		if p == "" || g.patterns[p] != nil {
			continue
		}
		s, ok := patternSamples[p]
		if !ok {
			t.Fatalf("shape %s has pattern %s, which the sample table does not cover: add a valid and an invalid sample", n, p)
		}
		expr := p
		if s.goRE != "" {
			expr = s.goRE
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("pattern %s of shape %s: %v (give an equivalent goRE in the sample table)", p, n, err)
		}
		g.patterns[p] = re
		if !g.matches(p, s.valid) || g.matches(p, s.invalid) {
			t.Fatalf("sample table: %q must match %s and %q must not", s.valid, p, s.invalid)
		}
	}
	return g
}

func (g *generator) matches(pattern, s string) bool {
	ps := patternSamples[pattern]
	if ps.notPrefix != "" && strings.HasPrefix(s, ps.notPrefix) {
		return false
	}
	return g.patterns[pattern].MatchString(s)
}

// stringWordings lists every constraint of sh that s breaks, in the order
// the server reports them: length, pattern, enum.
func (g *generator) stringWordings(sh *shapeModel, s string) []string {
	var w []string
	n := int64(utf8.RuneCountInString(s))
	if sh.Min != nil && *sh.Min > 0 && n < *sh.Min {
		w = append(w, fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))
	}
	if sh.Max != nil && n > *sh.Max {
		w = append(w, fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))
	}
	if sh.Pattern != "" && !g.matches(sh.Pattern, s) {
		w = append(w, "Member must satisfy regular expression pattern: "+sh.Pattern)
	}
	if sh.Enum != nil && !slices.Contains(sh.Enum, s) {
		w = append(w, "Member must satisfy enum value set: ["+strings.Join(sh.Enum, ", ")+"]")
	}
	return w
}

func entry(path string, mapKey bool, wording string) string {
	if mapKey {
		wording = "Map keys must satisfy constraint: [" + wording + "]"
	}
	return "at '" + path + "' failed to satisfy constraint: " + wording
}

func nullEntry(path string) string {
	return "Value null at '" + path + "' failed to satisfy constraint: Member must not be null"
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// validString is the simplest string that satisfies every constraint of sh.
func (g *generator) validString(name string, sh *shapeModel) string {
	var s string
	switch {
	case len(sh.Enum) > 0:
		s = sh.Enum[0]
	case sh.Pattern != "":
		s = patternSamples[sh.Pattern].valid
	default:
		n := int64(1)
		if sh.Min != nil && *sh.Min > n {
			n = *sh.Min
		}
		s = strings.Repeat("x", int(n))
	}
	if w := g.stringWordings(sh, s); len(w) > 0 {
		g.t.Fatalf("sample %q for shape %s breaks %v", s, name, w)
	}
	return s
}

func (g *generator) validValue(name string, depth int) any {
	if depth > 32 {
		g.t.Fatalf("shape %s: the required members recurse without end", name)
	}
	sh := g.m.shape(g.t, name)
	switch sh.Type {
	case "string":
		return g.validString(name, sh)
	case "integer", "long":
		if sh.Min != nil {
			return *sh.Min
		}
		if sh.Max != nil && *sh.Max < 1 {
			return *sh.Max
		}
		return int64(1)
	case "float", "double":
		return 1.5
	case "boolean":
		return true
	case "timestamp":
		return int64(1700000000)
	case "list":
		n := g.validCount(sh)
		l := make([]any, n)
		for i := range l {
			l[i] = g.validValue(sh.Member.Shape, depth+1)
		}
		return l
	case "map":
		mp := map[string]any{}
		for _, k := range g.distinctKeys(sh.Key.Shape, g.validCount(sh)) {
			mp[k] = g.validValue(sh.Value.Shape, depth+1)
		}
		return mp
	case "structure":
		s := map[string]any{}
		if sh.Union {
			if len(sh.Members.names) == 0 {
				g.t.Fatalf("union %s has no members", name)
			}
			first := sh.Members.names[0]
			s[first] = g.validValue(sh.Members.byName[first].Shape, depth+1)
			return s
		}
		for _, r := range sh.Required {
			s[r] = g.validValue(sh.Members.byName[r].Shape, depth+1)
		}
		return s
	}
	g.t.Fatalf("shape %s has type %s, which this test does not know how to fill", name, sh.Type)
	return nil
}

// validCount is how many elements a minimal valid list or map has.
func (g *generator) validCount(sh *shapeModel) int {
	n := int64(1)
	if sh.Min != nil && *sh.Min > n {
		n = *sh.Min
	}
	if sh.Max != nil && *sh.Max < n {
		n = *sh.Max
	}
	return int(n)
}

// distinctKeys returns n different valid keys of the string shape name.
func (g *generator) distinctKeys(name string, n int) []string {
	sh := g.m.shape(g.t, name)
	base := g.validString(name, sh)
	keys := make([]string, n)
	for i := range keys {
		k := base
		if i > 0 {
			k = base + strconv.Itoa(i)
		}
		if w := g.stringWordings(sh, k); len(w) > 0 {
			g.t.Fatalf("cannot make %d distinct valid keys of shape %s: %q breaks %v", n, name, k, w)
		}
		keys[i] = k
	}
	return keys
}

func (g *generator) add(c constraintCase) {
	g.cases = append(g.cases, c)
}

// opCases generates one violating input per constraint reachable from the
// input of op.
func (g *generator) opCases(op *opModel) []constraintCase {
	g.cases = nil
	if op.Input == nil {
		return nil
	}
	g.walkStruct(op.Input.Shape, func(s map[string]any) input { return input(s) }, "", true, nil)
	return g.cases
}

// walkStruct visits every member of the structure shape name. wrap places a
// structure value at the structure's position in a whole valid input.
func (g *generator) walkStruct(name string, wrap func(map[string]any) input, path string, top bool, stack []string) {
	sh := g.m.shape(g.t, name)
	for _, member := range sh.Members.names {
		mm := sh.Members.byName[member]
		p := joinPath(path, member)
		wrapMember := func(v any) input {
			s := map[string]any{}
			if !sh.Union {
				s = g.validValue(name, 0).(map[string]any)
			}
			if v == any(absent) {
				delete(s, member)
			} else {
				s[member] = v
			}
			return wrap(s)
		}
		if slices.Contains(sh.Required, member) {
			// A URI label cannot be left out: the path would no longer
			// match the operation's route, so "required" is only testable
			// for members in the query string or the body.
			if !(top && mm.Location == "uri") {
				g.add(constraintCase{path: p, constraint: "required", in: wrapMember(absent), want: []string{nullEntry(p)}})
			}
		}
		g.walkValue(mm.Shape, wrapMember, p, false, top && mm.Location == "querystring", stack)
	}
}

// walkValue generates the violations of the shape name at path; wrap places
// a value there in a whole valid input. mapKey means the value is a key of
// the map at path; inQuery that it travels in the query string.
func (g *generator) walkValue(name string, wrap func(any) input, path string, mapKey, inQuery bool, stack []string) {
	if slices.Contains(stack, name) {
		return
	}
	stack = append(stack, name)
	sh := g.m.shape(g.t, name)
	prefix := ""
	if mapKey {
		prefix = "key-"
	}
	str := func(constraint, v, target string) {
		w := g.stringWordings(sh, v)
		if !slices.Contains(w, target) {
			g.t.Fatalf("%s %s: generated value %q does not break %q (breaks %v)", path, constraint, v, target, w)
		}
		want := make([]string, len(w))
		for i, x := range w {
			want[i] = entry(path, mapKey, x)
		}
		g.add(constraintCase{path: path, constraint: prefix + constraint, in: wrap(v), want: want})
	}
	switch sh.Type {
	case "string":
		valid := g.validString(name, sh)
		if sh.Max != nil {
			v := valid + strings.Repeat("a", int(*sh.Max)+1-utf8.RuneCountInString(valid))
			str("max-length", v, fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))
		}
		if sh.Min != nil && *sh.Min > 0 {
			v := string([]rune(valid)[:*sh.Min-1])
			str("min-length", v, fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))
		}
		if sh.Pattern != "" {
			v := patternSamples[sh.Pattern].invalid
			if w := g.stringWordings(sh, v); len(w) != 1 {
				g.t.Fatalf("shape %s: the invalid sample %q of its pattern must break only the pattern, breaks %v", name, v, w)
			}
			str("pattern", v, "Member must satisfy regular expression pattern: "+sh.Pattern)
		}
		if len(sh.Enum) > 0 {
			str("enum", "NOT_A_MEMBER_OF_THE_ENUM", "Member must satisfy enum value set: ["+strings.Join(sh.Enum, ", ")+"]")
		}
	case "integer", "long":
		if sh.Max != nil {
			g.add(constraintCase{path: path, constraint: prefix + "max-value", in: wrap(*sh.Max + 1),
				want: []string{entry(path, mapKey, fmt.Sprintf("Member must have value less than or equal to %d", *sh.Max))}})
		}
		if sh.Min != nil {
			g.add(constraintCase{path: path, constraint: prefix + "min-value", in: wrap(*sh.Min - 1),
				want: []string{entry(path, mapKey, fmt.Sprintf("Member must have value greater than or equal to %d", *sh.Min))}})
		}
	case "list":
		if sh.Max != nil {
			l := make([]any, *sh.Max+1)
			for i := range l {
				l[i] = g.validValue(sh.Member.Shape, 0)
			}
			g.add(constraintCase{path: path, constraint: "max-size", in: wrap(l),
				want: []string{entry(path, false, fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))}})
		}
		// An empty list cannot travel in the query string (no parameter
		// at all reads as a missing member), so min-size is tested only for
		// lists in the body.
		if sh.Min != nil && *sh.Min > 0 && !inQuery {
			g.add(constraintCase{path: path, constraint: "min-size", in: wrap([]any{}),
				want: []string{entry(path, false, fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))}})
		}
		g.walkValue(sh.Member.Shape, func(e any) input {
			l := g.validValue(name, 0).([]any)
			l[0] = e
			return wrap(l)
		}, path+".1.member", false, inQuery, stack)
	case "map":
		if sh.Max != nil {
			mp := map[string]any{}
			for _, k := range g.distinctKeys(sh.Key.Shape, int(*sh.Max)+1) {
				mp[k] = g.validValue(sh.Value.Shape, 0)
			}
			g.add(constraintCase{path: path, constraint: "max-size", in: wrap(mp),
				want: []string{entry(path, false, fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))}})
		}
		if sh.Min != nil && *sh.Min > 0 {
			g.add(constraintCase{path: path, constraint: "min-size", in: wrap(map[string]any{}),
				want: []string{entry(path, false, fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))}})
		}
		keys := g.distinctKeys(sh.Key.Shape, g.validCount(sh))
		g.walkValue(sh.Key.Shape, func(k any) input {
			mp := g.validValue(name, 0).(map[string]any)
			delete(mp, keys[0])
			mp[k.(string)] = g.validValue(sh.Value.Shape, 0)
			return wrap(mp)
		}, path, true, false, stack)
		g.walkValue(sh.Value.Shape, func(v any) input {
			mp := g.validValue(name, 0).(map[string]any)
			mp[keys[0]] = v
			return wrap(mp)
		}, path+"."+keys[0], false, false, stack)
	case "structure":
		if sh.Union {
			want := []string{entry(path, false, "Member must have exactly one member set")}
			if len(sh.Members.names) >= 2 {
				a, b := sh.Members.names[0], sh.Members.names[1]
				g.add(constraintCase{path: path, constraint: "union-two-members", want: want, in: wrap(map[string]any{
					a: g.validValue(sh.Members.byName[a].Shape, 0),
					b: g.validValue(sh.Members.byName[b].Shape, 0),
				})})
			}
			g.add(constraintCase{path: path, constraint: "union-no-member", want: want, in: wrap(map[string]any{})})
		}
		g.walkStruct(name, func(s map[string]any) input { return wrap(s) }, path, false, stack)
	}
}

// request lays in out on the wire for op: URI labels, query string, body.
func (g *generator) request(op *opModel, in input) (method, path string, body []byte) {
	sh := g.m.inputShape(g.t, op)
	path = op.HTTP.RequestURI
	q := url.Values{}
	b := map[string]any{}
	hasBody := false
	for _, name := range sh.Members.names {
		mm := sh.Members.byName[name]
		wire := name
		if mm.LocationName != "" {
			wire = mm.LocationName
		}
		v, ok := in[name]
		switch mm.Location {
		case "uri":
			if !ok {
				g.t.Fatalf("%s: URI label %s left out", op.Name, wire)
			}
			path = strings.Replace(path, "{"+wire+"}", url.PathEscape(queryString(g.t, v)), 1)
		case "querystring":
			if !ok {
				continue
			}
			if l, isList := v.([]any); isList {
				for _, e := range l {
					q.Add(wire, queryString(g.t, e))
				}
			} else {
				q.Set(wire, queryString(g.t, v))
			}
		case "":
			hasBody = true
			if ok {
				b[wire] = v
			}
		default:
			g.t.Fatalf("%s: member %s has location %s, which this test does not support", op.Name, name, mm.Location)
		}
	}
	if strings.Contains(path, "{") {
		g.t.Fatalf("%s: unfilled URI label in %s", op.Name, path)
	}
	if len(q) > 0 {
		path += "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	if hasBody {
		var err error
		if body, err = json.Marshal(b); err != nil {
			g.t.Fatal(err)
		}
	}
	return op.HTTP.Method, path, body
}

func queryString(t testing.TB, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	t.Fatalf("cannot put %T in a URI or query string", v)
	return ""
}

func TestEveryConstraintIsEnforced(t *testing.T) {
	m := loadBotocoreModel(t)
	g := newGenerator(t, m)
	srv := testserver.Start(t)

	type opCases struct {
		op    *opModel
		base  input
		cases []constraintCase
	}
	var all []opCases
	total := 0
	for _, name := range m.operationNames() {
		op := m.Operations[name]
		oc := opCases{op: op, base: input{}}
		if op.Input != nil {
			oc.base = input(g.validValue(op.Input.Shape, 0).(map[string]any))
		}
		oc.cases = g.opCases(op)
		total += len(oc.cases)
		all = append(all, oc)
	}

	for _, oc := range all {
		op := oc.op
		t.Run(op.Name+"/valid", func(t *testing.T) {
			method, path, body := g.request(op, oc.base)
			resp := srv.Do(method, path, body)
			if resp.Status < 300 {
				return
			}
			msg := errorMessage(t, resp)
			if resp.ErrorType != "ValidationException" {
				return
			}
			// The service may refuse a well-formed input for what it means
			// (an unknown region, a missing replication set); the model's
			// constraints must hold, though.
			if strings.Contains(msg, "failed to satisfy constraint") || strings.Contains(msg, "validation error") {
				t.Fatalf("%s %s %s: minimal valid input refused: %s", method, path, body, msg)
			}
			t.Logf("%s %s %s: the service refuses it for what it means: %s", method, path, body, msg)
		})
		for _, c := range oc.cases {
			t.Run(op.Name+"/"+c.path+"/"+c.constraint, func(t *testing.T) {
				method, path, body := g.request(op, c.in)
				resp := srv.Do(method, path, body)
				checkValidation(t, fmt.Sprintf("%s %s %s", method, path, body), resp, c.want)
			})
		}
	}

	t.Logf("%d constraint cases over %d operations", total, len(all))
	if total < 200 {
		t.Fatalf("only %d constraint cases: the generator is missing constraints", total)
	}

	t.Run("UpdateIncidentRecord/title/length-counts-characters", func(t *testing.T) {
		arn := "arn:aws:ssm-incidents::111122223333:incident-record/plan-1/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"
		send := func(n int) testserver.Response {
			b, _ := json.Marshal(map[string]any{"arn": arn, "title": strings.Repeat("é", n)})
			return srv.Do("POST", "/updateIncidentRecord", b)
		}
		checkValidation(t, "201 × é", send(201), []string{entry("title", false, "Member must have length less than or equal to 200")})
		if resp := send(200); resp.ErrorType == "ValidationException" {
			t.Fatalf("a title of 200 characters (400 bytes) is refused: %s", resp.Body)
		}
	})
}

// checkValidation asserts a 400 ValidationException whose message holds
// exactly the entries want.
func checkValidation(t *testing.T, req string, resp testserver.Response, want []string) {
	t.Helper()
	if resp.Status != http.StatusBadRequest || resp.ErrorType != "ValidationException" {
		t.Fatalf("%s\ngot %d %q %s, want 400 ValidationException", req, resp.Status, resp.ErrorType, resp.Body)
	}
	msg := errorMessage(t, resp)
	noun := "errors"
	if len(want) == 1 {
		noun = "error"
	}
	prefix := fmt.Sprintf("%d validation %s detected: ", len(want), noun)
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("%s\nmessage %q does not start with %q", req, msg, prefix)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s\nmessage %q lacks %q", req, msg, w)
		}
	}
}

// ---------------------------------------------------------------------------
// Malformed bodies.

func TestMalformedBodies(t *testing.T) {
	srv := testserver.Start(t)
	const record = "arn:aws:ssm-incidents::111122223333:incident-record/p/1"

	for _, tc := range []struct {
		name, path, body string
		names            string // the member the message must name; "" for none
	}{
		{"truncated JSON", "/updateIncidentRecord", `{"arn":`, ""},
		{"not JSON", "/updateIncidentRecord", `arn=x`, ""},
		{"trailing data", "/updateIncidentRecord", `{"arn":"` + record + `"} {}`, ""},
		{"number for a string", "/updateIncidentRecord", `{"arn": 5}`, "arn"},
		{"boolean for a string", "/updateIncidentRecord", `{"arn": true}`, "arn"},
		{"string for an integer", "/updateIncidentRecord", `{"arn":"` + record + `","impact":"high"}`, "impact"},
		{"integer out of range", "/updateIncidentRecord", `{"arn":"` + record + `","impact":99999999999}`, "impact"},
		{"string for a list", "/updateIncidentRecord", `{"arn":"` + record + `","chatChannel":{"chatbotSns":"arn:aws:sns:us-east-1:111122223333:t"}}`, "chatbotSns"},
		{"array for a structure", "/updateIncidentRecord", `{"arn":"` + record + `","chatChannel":[]}`, "chatChannel"},
		{"array body", "/updateIncidentRecord", `[]`, ""},
		{"array body with an object", "/updateIncidentRecord", `[{"arn":"` + record + `"}]`, ""},
		{"string body", "/updateIncidentRecord", `"x"`, ""},
		{"string for a timestamp", "/createTimelineEvent",
			`{"incidentRecordArn":"` + record + `","eventTime":"2025-11-20T20:08:15Z","eventType":"Custom Event","eventData":"x"}`, "eventTime"},
		{"object for a timestamp", "/createTimelineEvent",
			`{"incidentRecordArn":"` + record + `","eventTime":{},"eventType":"Custom Event","eventData":"x"}`, "eventTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := srv.Do("POST", tc.path, []byte(tc.body))
			if resp.Status != http.StatusBadRequest || resp.ErrorType != "SerializationException" {
				t.Fatalf("POST %s %s\ngot %d %q %s, want 400 SerializationException", tc.path, tc.body, resp.Status, resp.ErrorType, resp.Body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			msg := errorMessage(t, resp)
			if msg == "" {
				t.Error("empty message")
			}
			if tc.names != "" && !strings.Contains(msg, tc.names) {
				t.Errorf("POST %s %s\nmessage %q does not name the member %s", tc.path, tc.body, msg, tc.names)
			}
		})
	}

	t.Run("unknown members are ignored", func(t *testing.T) {
		for _, tc := range []struct{ path, valid string }{
			{"/listResponsePlans", `{"maxResults":10`},
			{"/listReplicationSets", `{"maxResults":1`},
			{"/updateIncidentRecord", `{"arn":"` + record + `","title":"t"`},
			{"/getResourcePolicies", `{"resourceArn":"` + sampleARN + `"`},
		} {
			plain := srv.Do("POST", tc.path, []byte(tc.valid+"}"))
			extra := srv.Do("POST", tc.path, []byte(tc.valid+`,"noSuchMember":1,"another":{"x":[1,"y",null]}}`))
			if plain.Status != extra.Status || plain.ErrorType != extra.ErrorType {
				t.Errorf("POST %s: %d %q without unknown members, %d %q (%s) with them", tc.path, plain.Status, plain.ErrorType, extra.Status, extra.ErrorType, extra.Body)
			}
			if plain.Status < 300 && !bytes.Equal(plain.Body, extra.Body) {
				t.Errorf("POST %s: body %s without unknown members, %s with them", tc.path, plain.Body, extra.Body)
			}
		}
	})

	t.Run("body above 1 MiB", func(t *testing.T) {
		before := srv.Do("POST", "/listReplicationSets", []byte("{}"))
		if before.Status != http.StatusOK {
			t.Fatalf("ListReplicationSets: %d %s", before.Status, before.Body)
		}
		prefix := `{"regions":{"us-east-1":{}},"padding":"`
		pad := func(total int) []byte {
			return []byte(prefix + strings.Repeat("x", total-len(prefix)-2) + `"}`)
		}
		big := pad(1<<20 + 1)
		resp := srv.Do("POST", "/createReplicationSet", big)
		if resp.Status != http.StatusRequestEntityTooLarge || resp.ErrorType != "RequestEntityTooLargeException" {
			t.Fatalf("a %d-byte body: got %d %q %.200s, want 413 RequestEntityTooLargeException", len(big), resp.Status, resp.ErrorType, resp.Body)
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Error("no x-amzn-RequestId header")
		}
		errorMessage(t, resp)
		after := srv.Do("POST", "/listReplicationSets", []byte("{}"))
		if after.Status != before.Status || !bytes.Equal(after.Body, before.Body) {
			t.Fatalf("a refused body changed the replication sets: %s before, %s after", before.Body, after.Body)
		}

		// Exactly 1 MiB is within the limit.
		resp = srv.Do("POST", "/createReplicationSet", pad(1<<20))
		if resp.Status == http.StatusRequestEntityTooLarge {
			t.Fatalf("a body of exactly 1 MiB is refused as too large: %s", resp.Body)
		}
	})
}

// ---------------------------------------------------------------------------
// Fuzzing the decoder.

func FuzzDecodeRequest(f *testing.F) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc, err := service.New(ctx, store, service.Config{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	keys := map[string]restjson.Key{testserver.KeyA: {
		SecretAccessKey: testserver.SecretA,
		Account:         testserver.AccountA,
		Principal:       app.RootPrincipal(testserver.AccountA),
	}}
	h := restjson.New(svc, restjson.StaticKeys(keys), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)

	ops := []struct{ method, path string }{
		{"POST", "/updateIncidentRecord"},
		{"POST", "/createReplicationSet"},
		{"POST", "/createResponsePlan"},
		{"POST", "/updateResponsePlan"},
		{"POST", "/createTimelineEvent"},
		{"POST", "/listIncidentRecords"},
		{"POST", "/updateReplicationSet"},
		{"POST", "/startIncident"},
		{"POST", "/tags/" + url.PathEscape(sampleARN)},
		{"POST", "/listResponsePlans"},
	}
	const record = "arn:aws:ssm-incidents::111122223333:incident-record/p/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"
	for i, body := range []string{
		`{"arn":"` + record + `","title":"t","impact":2,"status":"RESOLVED","chatChannel":{"empty":{}}}`,
		`{"regions":{"us-east-1":{"sseKmsKeyId":"DefaultKey"}},"tags":{"team":"sre"}}`,
		`{"name":"plan-1","incidentTemplate":{"title":"t","impact":3,"incidentTags":{"a":"b"}},"chatChannel":{"chatbotSns":["arn:aws:sns:us-east-1:111122223333:t"]},` +
			`"actions":[{"ssmAutomation":{"documentName":"doc","roleArn":"arn:aws:iam::111122223333:role/r","parameters":{"p":["v"]},"dynamicParameters":{"d":{"variable":"INCIDENT_RECORD_ARN"}}}}]}`,
		`{"arn":"` + sampleARN + `","incidentTemplateTags":{},"chatChannel":{"empty":{}}}`,
		`{"incidentRecordArn":"` + record + `","eventTime":1700000000.123,"eventType":"Custom Event","eventData":"x","eventReferences":[{"resource":"` + sampleARN + `"}]}`,
		`{"filters":[{"key":"creationTime","condition":{"before":1700000000}},{"key":"impact","condition":{"equals":{"integerValues":[1,2]}}}],"maxResults":5}`,
		`{"arn":"` + sampleARN + `","actions":[{"addRegionAction":{"regionName":"us-west-2"}}]}`,
		`{"responsePlanArn":"` + sampleARN + `","relatedItems":[{"identifier":{"type":"OTHER","value":{"url":"https://example.com"}}}]}`,
		`{"tags":{"team":"sre","aws:x":"y"}}`,
		`{"maxResults":1,"nextToken":"x"}`,
		`{"arn":`, `[]`, `null`, `""`, `{"arn":5}`, `{"impact":"high"}`, `{"impact":1e400}`, `{"impact":99999999999}`,
		`{"eventTime":"2025-11-20T20:08:15Z"}`, `{"eventTime":1e300}`, `{"eventTime":-1e300}`, `{"arn":"\ud800"}`,
		`{"chatChannel":{"chatbotSns":[null,5]}}`, `{"regions":{"":null}}`, `{"filters":[{"condition":{"equals":{}}}]}`,
		``, `{}`, `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	} {
		f.Add(byte(i), []byte(body))
	}

	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testserver.KeyA, SecretAccessKey: testserver.SecretA}
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		op := ops[int(which)%len(ops)]
		req := httptest.NewRequest(op.method, "http://incidentd.test"+op.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), restjson.SigningName, testserver.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		got, _ := io.ReadAll(res.Body)
		// Whatever the body, no answer is a server fault.
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", op.method, op.path, body, res.StatusCode, got)
		}
		if res.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %s %q: no x-amzn-RequestId", op.method, op.path, body)
		}
		if res.StatusCode < 300 {
			return
		}
		if res.Header.Get("x-amzn-ErrorType") == "" {
			t.Fatalf("%s %s %q: error %d without x-amzn-ErrorType: %s", op.method, op.path, body, res.StatusCode, got)
		}
		var e map[string]any
		if err := json.Unmarshal(got, &e); err != nil {
			t.Fatalf("%s %s %q: error body %q is not a JSON object: %v", op.method, op.path, body, got, err)
		}
		if _, ok := e["message"].(string); !ok {
			t.Fatalf("%s %s %q: error body %s has no string message", op.method, op.path, body, got)
		}
	})
}
