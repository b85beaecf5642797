package conformance

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// synNode is a member of an API reference's Request or Response Syntax:
// "string", "number", "boolean", "object" (with Members), "map" (a
// "string" : value object, with Elem), "array" (with Elem) or "any" (the
// syntax's { ... }, an object whose members another page lists).
type synNode struct {
	Kind    string
	Members map[string]*synNode
	Elem    *synNode
}

// syntax is a parsed Request or Response Syntax.
type syntax struct {
	Method string   // request only
	Path   string   // request only: the path template, e.g. /tags/{{resourceArn}}
	Labels []string // request only: the path's labels
	Query  []string // request only: the query parameters' names
	Status int      // response only
	Body   *synNode // nil: no body
}

var reLabel = regexp.MustCompile(`\{\{?([A-Za-z]+)\}?\}`)

func parseRequestSyntax(lines []string) (*syntax, error) {
	text := strings.Join(lines, "\n")
	i := strings.Index(text, " HTTP/1.1")
	if i < 0 {
		return nil, fmt.Errorf("no request line")
	}
	line := strings.TrimSpace(text[:i])
	method, target, ok := strings.Cut(line, " ")
	if !ok {
		return nil, fmt.Errorf("request line %q", line)
	}
	s := &syntax{Method: method}
	p, q, _ := strings.Cut(target, "?")
	s.Path = p
	for _, m := range reLabel.FindAllStringSubmatch(p, -1) {
		s.Labels = append(s.Labels, m[1])
	}
	if q != "" {
		for _, kv := range strings.Split(q, "&") {
			k, _, _ := strings.Cut(kv, "=")
			s.Query = append(s.Query, k)
		}
	}
	rest := text[i+len(" HTTP/1.1"):]
	if j := strings.Index(rest, "{"); j >= 0 {
		body, err := parseSynBody(rest[j:])
		if err != nil {
			return nil, err
		}
		s.Body = body
	}
	return s, nil
}

func parseResponseSyntax(lines []string) (*syntax, error) {
	text := strings.Join(lines, "\n")
	f := strings.Fields(text)
	if len(f) < 2 || f[0] != "HTTP/1.1" {
		return nil, fmt.Errorf("no status line")
	}
	st, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, err
	}
	s := &syntax{Status: st}
	if j := strings.Index(text, "{"); j >= 0 {
		body, err := parseSynBody(text[j:])
		if err != nil {
			return nil, err
		}
		s.Body = body
	}
	return s, nil
}

// synTokens cuts the syntax's body into { } [ ] : , strings and words.
func synTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
		case strings.IndexByte("{}[]:,", c) >= 0:
			if c == '{' && strings.HasPrefix(s[i:], "{{") {
				j := strings.Index(s[i:], "}}")
				if j < 0 {
					return nil, fmt.Errorf("unterminated {{ at %d", i)
				}
				toks = append(toks, s[i:i+j+2])
				i += j + 2
				continue
			}
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \n\t\r{}[]:,\"", s[j]) < 0 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func parseSynBody(s string) (*synNode, error) {
	toks, err := synTokens(s)
	if err != nil {
		return nil, err
	}
	p := &synParser{toks: toks}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q after the body", p.toks[p.i])
	}
	return n, nil
}

type synParser struct {
	toks []string
	i    int
}

func (p *synParser) next() string {
	if p.i >= len(p.toks) {
		return ""
	}
	t := p.toks[p.i]
	p.i++
	return t
}

func (p *synParser) peek() string {
	if p.i >= len(p.toks) {
		return ""
	}
	return p.toks[p.i]
}

func unquote(t string) string {
	t = strings.Trim(t, `"`)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "{{"), "}}")
	return strings.TrimSpace(t)
}

func (p *synParser) value() (*synNode, error) {
	t := p.next()
	switch {
	case t == "{":
		if p.peek() == "..." {
			p.next()
			if p.next() != "}" {
				return nil, fmt.Errorf("{ ... not closed")
			}
			return &synNode{Kind: "any"}, nil
		}
		n := &synNode{Kind: "object", Members: map[string]*synNode{}}
		for p.peek() != "}" {
			key := p.next()
			if !strings.HasPrefix(key, `"`) {
				return nil, fmt.Errorf("member name %q", key)
			}
			if p.next() != ":" {
				return nil, fmt.Errorf("no : after %s", key)
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if unquote(key) == "string" {
				n = &synNode{Kind: "map", Elem: v}
			} else {
				n.Members[unquote(key)] = v
			}
			if p.peek() == "," {
				p.next()
			}
			if p.peek() == "" {
				return nil, fmt.Errorf("object not closed")
			}
		}
		p.next()
		return n, nil
	case t == "[":
		if p.peek() == "]" {
			p.next()
			return &synNode{Kind: "array"}, nil
		}
		e, err := p.value()
		if err != nil {
			return nil, err
		}
		if p.next() != "]" {
			return nil, fmt.Errorf("array not closed")
		}
		return &synNode{Kind: "array", Elem: e}, nil
	case strings.HasPrefix(t, `"`):
		return &synNode{Kind: "string"}, nil
	default:
		switch unquote(t) {
		case "number":
			return &synNode{Kind: "number"}, nil
		case "boolean":
			return &synNode{Kind: "boolean"}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q", t)
}

// kindFits says whether a syntax member of kind k may be a shape s.
func kindFits(k string, s *shape) bool {
	switch k {
	case "any":
		return s.Type == "structure" || s.Type == "map"
	case "object":
		return s.Type == "structure"
	case "map":
		return s.Type == "map"
	case "array":
		return s.Type == "list"
	}
	return s.jsonKind() == k
}

// checkSyntaxShape compares a syntax body with the model's shape: each
// member the syntax shows is one of the shape, of a fitting type.
func checkSyntaxShape(m *svcModel, path string, n *synNode, s *shape, add func(diff)) {
	if n == nil || s == nil {
		return
	}
	if !kindFits(n.Kind, s) {
		add(diff{path, kindSyntaxType, n.Kind, "the model's " + s.Type})
		return
	}
	switch n.Kind {
	case "object":
		for _, name := range sortedSyn(n.Members) {
			mem, ok := s.Members[name]
			if !ok || mem.Location != "" {
				add(diff{joinPath(path, name), kindNotInModel, "a body member", "the model has no such body member"})
				continue
			}
			checkSyntaxShape(m, joinPath(path, name), n.Members[name], m.shape(mem.Shape), add)
		}
	case "array":
		checkSyntaxShape(m, path+"[]", n.Elem, m.child(s, "[]"), add)
	case "map":
		checkSyntaxShape(m, path+"{}", n.Elem, m.child(s, "{}"), add)
	}
}

func sortedSyn(m map[string]*synNode) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkAgainstSyntax checks our raw JSON answer against the Response
// Syntax: each member ours has is one the syntax lists, of its type.
func checkAgainstSyntax(path string, v any, n *synNode, add func(diff)) {
	if n == nil {
		return
	}
	want := n.Kind
	switch want {
	case "any", "map":
		want = "object"
	}
	if got := jsonType(v); got != want {
		add(diff{path, kindSyntaxType, n.Kind, got + " " + short(v)})
		return
	}
	switch n.Kind {
	case "object":
		obj := v.(map[string]any)
		for _, k := range sortedKeys(obj) {
			child, ok := n.Members[k]
			if !ok {
				add(diff{joinPath(path, k), kindNotInSyntax, "no such member", short(obj[k])})
				continue
			}
			checkAgainstSyntax(joinPath(path, k), obj[k], child, add)
		}
	case "map":
		obj := v.(map[string]any)
		for _, k := range sortedKeys(obj) {
			checkAgainstSyntax(path+"{}", obj[k], n.Elem, add)
		}
	case "array":
		for _, e := range v.([]any) {
			checkAgainstSyntax(path+"[]", e, n.Elem, add)
		}
	}
}

// TestAPIReferenceSyntaxAgreesWithTheModel reads every Request and
// Response Syntax and checks it against the official model: the method,
// path, query parameters, path labels and status, and each member with its
// type. It keeps the fixtures honest (a mistyped member fails here) and
// shows where AWS's pages and model disagree.
func TestAPIReferenceSyntaxAgreesWithTheModel(t *testing.T) {
	m := loadModel(t)
	fixtures := loadAPIRefFixtures(t)
	if len(fixtures) != len(m.Operations) {
		t.Errorf("%d API reference fixtures for %d operations", len(fixtures), len(m.Operations))
	}
	for _, f := range fixtures {
		t.Run(f.Operation, func(t *testing.T) {
			op, ok := m.Operations[f.Operation]
			if !ok {
				t.Fatalf("%s: no operation %s in the model", f.file, f.Operation)
			}
			if want := "https://docs.aws.amazon.com/incident-manager/latest/APIReference/API_" + f.Operation + ".html"; f.Source != want {
				t.Errorf("%s: source %q, want %q", f.file, f.Source, want)
			}
			var reqDiffs, respDiffs []diff
			addReq := func(d diff) { reqDiffs = append(reqDiffs, d) }
			addResp := func(d diff) { respDiffs = append(respDiffs, d) }
			req, err := parseRequestSyntax(f.RequestSyntax)
			if err != nil {
				t.Fatalf("%s: request syntax: %v", f.file, err)
			}
			in := m.inputShape(f.Operation)
			modelPath, _, _ := strings.Cut(op.HTTP.RequestURI, "?")
			if req.Method != op.HTTP.Method || reLabel.ReplaceAllString(req.Path, "{$1}") != modelPath {
				addReq(diff{"", kindNotInModel, req.Method + " " + req.Path, op.HTTP.Method + " " + op.HTTP.RequestURI})
			}
			located := func(loc, name string) bool {
				for _, mem := range in.Members {
					if mem.Location == loc && mem.LocationName == name {
						return true
					}
				}
				return false
			}
			for _, q := range req.Query {
				if !located("querystring", q) {
					addReq(diff{"?" + q, kindNotInModel, "a query parameter", "the model has no such query parameter"})
				}
			}
			for _, l := range req.Labels {
				if !located("uri", l) {
					addReq(diff{"{" + l + "}", kindNotInModel, "a path label", "the model has no such label"})
				}
			}
			checkSyntaxShape(m, "", req.Body, in, addReq)
			resp, err := parseResponseSyntax(f.ResponseSyntax)
			if err != nil {
				t.Fatalf("%s: response syntax: %v", f.file, err)
			}
			if want := op.HTTP.ResponseCode; want != 0 && resp.Status != want {
				addResp(diff{"", kindStatus, strconv.Itoa(resp.Status), "the model's " + strconv.Itoa(want)})
			}
			checkSyntaxShape(m, "", resp.Body, m.outputShape(f.Operation), addResp)
			for _, ex := range f.Examples {
				if _, err := parseSample(ex.Request); err != nil {
					t.Errorf("%s: sample request: %v", f.file, err)
				}
			}
			for _, d := range append(reqDiffs, respDiffs...) {
				t.Errorf("%s: the syntax disagrees with the model: %v", f.file, d)
			}
		})
	}
}

// sample is a parsed Sample Request.
type sample struct {
	Method, Target string // Target: the path and query as written
	Body           string // "" for none
}

func parseSample(lines []string) (*sample, error) {
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty sample request")
	}
	f := strings.Fields(lines[0])
	if len(f) != 3 || f[2] != "HTTP/1.1" {
		return nil, fmt.Errorf("request line %q", lines[0])
	}
	s := &sample{Method: f[0], Target: f[1]}
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			s.Body = strings.Join(lines[i+1:], "\n")
			break
		}
	}
	if _, err := url.Parse(s.Target); err != nil {
		return nil, err
	}
	return s, nil
}

// bodyJSON is the sample's response as JSON, or an error.
func sampleJSON(lines []string) (any, error) {
	return decodeJSON([]byte(strings.Join(lines, "\n")))
}
