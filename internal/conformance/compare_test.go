package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Kinds of difference.
const (
	kindMissing     = "missing"     // AWS shows the member (or map key), ours lacks it
	kindType        = "type"        // the JSON type differs
	kindValue       = "value"       // a value that must be equal is not (enum, error code, boolean, mapped id, input text)
	kindShape       = "shape"       // a string's shape differs (ARN service, region, resource type; UUID; 32 hex; related-item id; timestamp)
	kindPrecision   = "precision"   // one timestamp shows fractional seconds, the other not
	kindEmpty       = "empty"       // AWS's list has elements, ours has none
	kindOrder       = "order"       // the order of a list by a timestamp differs
	kindUnmatched   = "unmatched"   // an element AWS shows (one the example set up) is not in our list
	kindNotInModel  = "notInModel"  // ours has a member the model's shape does not have
	kindError       = "error"       // the command or request failed
	kindSetup       = "setup"       // what the example needs could not be set up as AWS shows it
	kindOutput      = "output"      // output where AWS shows none, or none where AWS shows some
	kindEffect      = "effect"      // a command without output did not do what it says
	kindStatus      = "status"      // the HTTP status differs from the Response Syntax
	kindBody        = "body"        // a body where the Response Syntax shows none, or the reverse
	kindNotInSyntax = "notInSyntax" // ours has a member the Response Syntax does not list
	kindSyntaxType  = "syntaxType"  // a member's type differs from the one the syntax shows
	kindRefused     = "refused"     // a request built from the Request Syntax was refused
	kindIgnored     = "ignored"     // a Request Syntax member of the wrong type was not refused: the server does not read it
)

type diff struct {
	Path, Kind string
	AWS, Ours  string
}

func (d diff) String() string {
	return fmt.Sprintf("%s at %q: AWS shows %s, incidentd %s", d.Kind, d.Path, d.AWS, d.Ours)
}

// comparer compares what AWS shows with what incidentd answered.
type comparer struct {
	// subst maps identifiers of AWS's example to the ones incidentd
	// generated for what the test set up in their place.
	subst map[string]string
	// inputs are strings (and numbers, as JSON text) that the example or
	// its set-up gave incidentd: they must come back as they are.
	inputs map[string]bool
	model  *svcModel
	// rawTimestamps: ours travels as epoch seconds (a raw HTTP answer);
	// where AWS shows the CLI's ISO text, ours is printed the same way.
	rawTimestamps bool

	diffs  []diff
	extras []string
	seen   map[string]bool
}

func newComparer(m *svcModel, subst map[string]string, inputs map[string]bool) *comparer {
	return &comparer{subst: subst, inputs: inputs, model: m, seen: map[string]bool{}}
}

func (c *comparer) add(d diff) {
	k := d.Path + "|" + d.Kind
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.diffs = append(c.diffs, d)
}

// decodeJSON reads JSON keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// mapAWS replaces AWS's identifiers in s by ours; ok says whether s held
// any (also one mapped to itself).
func (c *comparer) mapAWS(s string) (string, bool) {
	keys := make([]string, 0, len(c.subst))
	for k := range c.subst {
		if strings.Contains(s, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return s, false
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, c.subst[k])
	}
	return strings.NewReplacer(pairs...).Replace(s), true
}

var (
	reISOTime     = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$`)
	reARN         = regexp.MustCompile(`^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-*]*):(\d{12})?:(.+)$`)
	reUUIDish     = regexp.MustCompile(`^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$`)
	reHex32       = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	reRelatedItem = regexp.MustCompile(`^related-item/([A-Z_]+)/[0-9A-Za-z]{32}$`)
	reEnum        = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	reErrorCode   = regexp.MustCompile(`^[A-Z][A-Za-z]+Exception$`)
)

// class is the shape of a string: what the comparison of two strings that
// need not be equal looks at.
func class(s string) string {
	switch {
	case reISOTime.MatchString(s):
		if strings.Contains(s, ".") {
			return "timestamp with fractional seconds"
		}
		return "timestamp in whole seconds"
	case reARN.MatchString(s):
		m := reARN.FindStringSubmatch(s)
		region := "empty region"
		if m[3] != "" {
			region = "a region"
		}
		res := m[5]
		if i := strings.IndexAny(res, "/:"); i >= 0 {
			res = res[:i]
		}
		return fmt.Sprintf("ARN of %s with %s, resource type %s", m[2], region, res)
	case reRelatedItem.MatchString(s):
		return "related-item/" + reRelatedItem.FindStringSubmatch(s)[1] + "/<32 hex>"
	case reUUIDish.MatchString(s):
		return "UUID"
	case reHex32.MatchString(s):
		return "32 hex digits"
	case isJSONText(s):
		return "JSON text"
	}
	return "text"
}

func isJSONText(s string) bool {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return false
	}
	_, err := decodeJSON([]byte(t))
	return err == nil
}

// isoLikeCLI prints epoch seconds as the aws CLI prints a timestamp
// (Python's isoformat of an aware UTC datetime).
func isoLikeCLI(n json.Number) (string, bool) {
	f, err := n.Float64()
	if err != nil {
		return "", false
	}
	sec := int64(f)
	usec := int64((f-float64(sec))*1e6 + 0.5)
	t := time.Unix(sec, usec*1000).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05") + "+00:00", true
	}
	return t.Format("2006-01-02T15:04:05.000000") + "+00:00", true
}

func numberHasFraction(n json.Number) bool {
	f, err := n.Float64()
	return err == nil && f != float64(int64(f))
}

// compare compares AWS's value with ours at path; s is the model's shape
// of the value, when known.
func (c *comparer) compare(path string, aws, ours any, s *shape) {
	if aws == nil {
		return // AWS shows null: a member that is not set
	}
	if ours == nil {
		c.add(diff{path, kindType, jsonType(aws) + " " + short(aws), "null"})
		return
	}
	if s != nil && s.Type == "timestamp" && c.rawTimestamps {
		if n, ok := ours.(json.Number); ok {
			if _, isStr := aws.(string); isStr {
				if iso, ok := isoLikeCLI(n); ok {
					ours = iso
				}
			}
		}
	}
	if jsonType(aws) != jsonType(ours) {
		c.add(diff{path, kindType, jsonType(aws) + " " + short(aws), jsonType(ours) + " " + short(ours)})
		return
	}
	switch a := aws.(type) {
	case string:
		c.compareString(path, a, ours.(string), s)
	case json.Number:
		o := ours.(json.Number)
		if c.inputs[a.String()] && a.String() != o.String() {
			c.add(diff{path, kindValue, a.String(), o.String()})
		}
		if s != nil && s.Type == "timestamp" && numberHasFraction(a) != numberHasFraction(o) {
			c.add(diff{path, kindPrecision, a.String(), o.String()})
		}
	case bool:
		if a != ours.(bool) {
			c.add(diff{path, kindValue, short(a), short(ours)})
		}
	case map[string]any:
		c.compareObject(path, a, ours.(map[string]any), s)
	case []any:
		c.compareList(path, a, ours.([]any), s)
	}
}

func (c *comparer) compareString(path, a, o string, s *shape) {
	if mapped, ok := c.mapAWS(a); ok {
		if o != mapped {
			c.add(diff{path, kindValue, fmt.Sprintf("%q (ours: %q)", a, mapped), fmt.Sprintf("%q", o)})
		} else if whole, isKey := c.subst[a]; isKey && whole == o && class(a) != class(o) {
			c.add(diff{path, kindShape, fmt.Sprintf("%q (%s)", a, class(a)), fmt.Sprintf("%q (%s)", o, class(o))})
		}
		return
	}
	if c.inputs[a] {
		if o != a {
			c.add(diff{path, kindValue, fmt.Sprintf("%q", a), fmt.Sprintf("%q", o)})
		}
		return
	}
	if (s != nil && len(s.Enum) > 0) || reEnum.MatchString(a) || reErrorCode.MatchString(a) {
		if o != a {
			c.add(diff{path, kindValue, fmt.Sprintf("%q", a), fmt.Sprintf("%q", o)})
		}
		return
	}
	ca, co := class(a), class(o)
	if ca == "JSON text" {
		if co != "JSON text" {
			c.add(diff{path, kindShape, fmt.Sprintf("%q (%s)", a, ca), fmt.Sprintf("%q (%s)", o, co)})
			return
		}
		av, _ := decodeJSON([]byte(a))
		ov, _ := decodeJSON([]byte(o))
		c.compare(path+"<json>", av, ov, nil)
		return
	}
	if strings.HasPrefix(ca, "timestamp") && strings.HasPrefix(co, "timestamp") {
		if ca != co {
			c.add(diff{path, kindPrecision, fmt.Sprintf("%q", a), fmt.Sprintf("%q", o)})
		}
		return
	}
	if ca == "text" {
		return
	}
	if ca != co {
		c.add(diff{path, kindShape, fmt.Sprintf("%q (%s)", a, ca), fmt.Sprintf("%q (%s)", o, co)})
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (c *comparer) compareObject(path string, a, o map[string]any, s *shape) {
	isMap := s != nil && s.Type == "map"
	for _, k := range sortedKeys(a) {
		ok := k
		if isMap {
			ok, _ = c.mapAWS(k)
		}
		var child *shape
		if c.model != nil {
			child = c.model.child(s, k)
		}
		ov, has := o[ok]
		if !has {
			if a[k] != nil {
				c.add(diff{joinPath(path, k), kindMissing, short(a[k]), "nothing"})
			}
			continue
		}
		c.compare(joinPath(path, k), a[k], ov, child)
	}
	for _, k := range sortedKeys(o) {
		if _, has := a[k]; has {
			continue
		}
		if isMap {
			continue
		}
		if s != nil && s.Type == "structure" {
			if _, inModel := s.Members[k]; !inModel {
				c.add(diff{joinPath(path, k), kindNotInModel, "nothing (the model has no such member)", short(o[k])})
				continue
			}
		}
		c.extras = append(c.extras, joinPath(path, k))
	}
}

// score says how well our element o fits AWS's element a: 10 for each
// value that must be equal and is, 1 for each value of the same shape.
func (c *comparer) score(a, o any) int {
	switch av := a.(type) {
	case string:
		os, ok := o.(string)
		if !ok {
			return 0
		}
		if mapped, isMapped := c.mapAWS(av); isMapped {
			if mapped == os {
				return 10
			}
			return 0
		}
		if av == os {
			return 10
		}
		if class(av) == class(os) {
			return 1
		}
	case map[string]any:
		om, ok := o.(map[string]any)
		if !ok {
			return 0
		}
		n := 0
		for k, v := range av {
			if ov, has := om[k]; has {
				n += c.score(v, ov)
			}
		}
		return n
	case []any:
		ol, ok := o.([]any)
		if !ok {
			return 0
		}
		n := 0
		for _, e := range av {
			best := 0
			for _, f := range ol {
				best = max(best, c.score(e, f))
			}
			n += best
		}
		return n
	default:
		if jsonType(a) == jsonType(o) {
			return 1
		}
	}
	return 0
}

// anchors are the values of AWS's element that identify it: identifiers
// the test mapped and text the example gave.
func (c *comparer) anchors(a any) int {
	switch v := a.(type) {
	case string:
		if _, ok := c.mapAWS(v); ok || c.inputs[v] {
			return 1
		}
	case map[string]any:
		n := 0
		for _, e := range v {
			n += c.anchors(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range v {
			n += c.anchors(e)
		}
		return n
	}
	return 0
}

func (c *comparer) anchorScore(a, o any) int {
	switch v := a.(type) {
	case string:
		os, _ := o.(string)
		if mapped, ok := c.mapAWS(v); ok {
			if mapped == os {
				return 1
			}
		} else if c.inputs[v] && v == os {
			return 1
		}
	case map[string]any:
		om, _ := o.(map[string]any)
		n := 0
		for k, e := range v {
			n += c.anchorScore(e, om[k])
		}
		return n
	case []any:
		ol, _ := o.([]any)
		n := 0
		for _, e := range v {
			best := 0
			for _, f := range ol {
				best = max(best, c.anchorScore(e, f))
			}
			n += best
		}
		return n
	}
	return 0
}

func (c *comparer) compareList(path string, a, o []any, s *shape) {
	var elem *shape
	if c.model != nil {
		elem = c.model.child(s, "[]")
	}
	p := path + "[]"
	if len(a) == 0 {
		return
	}
	if len(o) == 0 {
		c.add(diff{path, kindEmpty, fmt.Sprintf("%d elements", len(a)), "[]"})
		return
	}
	// Every element of ours is compared with the AWS element it fits best.
	for _, oe := range o {
		best, bi := -1, 0
		for i, ae := range a {
			if sc := c.score(ae, oe); sc > best {
				best, bi = sc, i
			}
		}
		if best == 0 && jsonType(oe) == "object" {
			// Nothing in common with any element AWS shows (another member
			// of a union): an element AWS's example has none of.
			c.extras = append(c.extras, p+" "+short(oe))
			continue
		}
		c.compare(p, a[bi], oe, elem)
	}
	// Every element AWS shows that the example set up is in ours.
	for _, ae := range a {
		n := c.anchors(ae)
		if n == 0 {
			continue
		}
		found := false
		for _, oe := range o {
			if c.anchorScore(ae, oe) == n {
				found = true
				break
			}
		}
		if !found {
			c.add(diff{p, kindUnmatched, short(ae), "no such element"})
		}
	}
	c.compareOrder(path, a, o)
}

// compareOrder: where AWS's elements are strictly ordered by a timestamp
// member, ours must be ordered the same way.
func (c *comparer) compareOrder(path string, a, o []any) {
	if len(a) < 2 || len(o) < 2 {
		return
	}
	first, _ := a[0].(map[string]any)
	for _, k := range sortedKeys(first) {
		ad := direction(a, k, true)
		if ad == 0 {
			continue
		}
		od := direction(o, k, false)
		if od != ad && od != 2 {
			name := map[int]string{1: "ascending", -1: "descending", 0: "unordered"}
			c.add(diff{path, kindOrder, name[ad] + " by " + k, name[od] + " by " + k})
		}
	}
}

// direction is 1 when the elements' member k rises, -1 when it falls, 0
// when neither (or k is not a timestamp of each), 2 when all are equal
// (only when not strict).
func direction(l []any, k string, strict bool) int {
	var ts []time.Time
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return 0
		}
		var t time.Time
		switch v := m[k].(type) {
		case string:
			if !reISOTime.MatchString(v) {
				return 0
			}
			var err error
			if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return 0
			}
		case json.Number:
			f, err := v.Float64()
			if err != nil || !strings.HasSuffix(k, "Time") {
				return 0
			}
			t = time.UnixMilli(int64(f * 1000))
		default:
			return 0
		}
		ts = append(ts, t)
	}
	up, down, same := true, true, true
	for i := 1; i < len(ts); i++ {
		d := ts[i].Compare(ts[i-1])
		if d != 0 {
			same = false
		}
		if d < 0 || (strict && d == 0) {
			up = false
		}
		if d > 0 || (strict && d == 0) {
			down = false
		}
	}
	switch {
	case same && !strict:
		return 2
	case up:
		return 1
	case down:
		return -1
	}
	return 0
}

// matchKnown checks found differences against the listed ones: it returns
// the found ones that are not listed and the listed ones that no longer
// show.
func matchKnown(in string, found []diff, known []KnownDifference) (unlisted []diff, gone []KnownDifference) {
	listed := map[string]bool{}
	for _, k := range known {
		if k.In == in {
			listed[k.key()] = true
		}
	}
	shown := map[string]bool{}
	for _, d := range found {
		key := in + "|" + d.Path + "|" + d.Kind
		shown[key] = true
		if !listed[key] {
			unlisted = append(unlisted, d)
		}
	}
	for _, k := range known {
		if k.In == in && !shown[k.key()] {
			gone = append(gone, k)
		}
	}
	return unlisted, gone
}

// suggest prints a knownDifferences entry for d, to paste into a fixture.
func suggest(in string, d diff) string {
	b, _ := json.Marshal(KnownDifference{In: in, Path: d.Path, Kind: d.Kind, AWS: d.AWS, Incidentd: d.Ours, Why: "TODO"})
	return string(b)
}
