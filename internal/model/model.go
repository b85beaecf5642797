// Package model holds the wire shapes of the ssm-incidents 2018-05-10 API, the
// constraint checks of every input, and the table of operations (method, path,
// status code), all generated from the official service model.
//
// The generated code lives in zz_generated.go; this file is the small runtime
// it relies on: paths, violation messages, timestamps.
package model

//go:generate go run ./gen -in service-2.json.gz -out zz_generated.go

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Operation describes one operation of the model.
type Operation struct {
	Name       string
	Method     string
	Path       string // the model's requestUri, e.g. /tags/{resourceArn}
	Status     int    // HTTP status of a success
	Idempotent bool
	InputBody  bool     // some input member travels in the JSON body
	OutputBody bool     // the output has members
	Errors     []string // modelled error shapes
	NewInput   func() Input
}

// Input is implemented by every operation's input shape.
type Input interface {
	// Validate reports every broken constraint as a *ValidationError.
	Validate() error
	// BindHTTP fills the members bound to URI labels and query parameters.
	BindHTTP(label func(string) string, q url.Values)
	// BoundParameters returns the members bound to URI labels and query
	// parameters, by member name (the JSON body holds the others).
	BoundParameters() map[string]any
}

// OperationByName returns the operation with that name.
func OperationByName(name string) (Operation, bool) {
	for _, op := range Operations {
		if op.Name == name {
			return op, true
		}
	}
	return Operation{}, false
}

// Timestamp is a point in time that travels as epoch seconds (a JSON number,
// fractional part allowed), as rest-json requires.
type Timestamp time.Time

// NewTimestamp returns a pointer to t as a Timestamp.
func NewTimestamp(t time.Time) *Timestamp { ts := Timestamp(t); return &ts }

// Time returns t as a time.Time.
func (t Timestamp) Time() time.Time { return time.Time(t) }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds. Anything else is a
// *json.UnmarshalTypeError, which encoding/json completes with the member's
// path.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxEpochSeconds {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[Timestamp]()}
	}
	sec := int64(f)
	nsec := int64((f - float64(sec)) * 1e9)
	// Round to the microsecond to undo float noise.
	nsec = (nsec + 500) / 1000 * 1000
	*t = Timestamp(time.Unix(sec, nsec).UTC())
	return nil
}

// maxEpochSeconds bounds timestamps to years 0001–9999 and keeps the float
// conversion exact enough.
const maxEpochSeconds = 253402300799

func jsonValueKind(b []byte) string {
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	default:
		return "number " + string(b)
	}
}

// StringRule holds the constraints of one string shape.
type StringRule struct {
	Min       int64
	Max       int64
	HasMax    bool
	Pattern   string // as the model writes it
	re        *regexp.Regexp
	notPrefix string // the model's (?!X) look-ahead, which Go's regexp lacks
	Enum      []string
}

const (
	minNone = -1 << 62
	maxNone = 1 << 62
)

// Path is the location of a member inside an input, rendered the AWS way:
// dots between members, lists as `name.N.member` (1-based).
type Path struct {
	parent *Path
	name   string
	index  int  // list element (1-based) when > 0
	mapKey bool // the keys of the map at parent
}

func (p *Path) String() string {
	if p == nil {
		return ""
	}
	if p.mapKey {
		return p.parent.String()
	}
	prefix := p.parent.String()
	var seg string
	if p.index > 0 {
		seg = strconv.Itoa(p.index) + ".member"
	} else {
		seg = p.name
	}
	if prefix == "" {
		return seg
	}
	return prefix + "." + seg
}

// Violations collects the broken constraints of one input.
type Violations struct{ msgs []string }

// ValidationError lists every broken constraint, in AWS's wording.
type ValidationError struct{ Messages []string }

func (e *ValidationError) Error() string {
	noun := "errors"
	if len(e.Messages) == 1 {
		noun = "error"
	}
	return strconv.Itoa(len(e.Messages)) + " validation " + noun + " detected: " + strings.Join(e.Messages, "; ")
}

// Err returns nil when nothing was broken, else a *ValidationError.
func (v *Violations) Err() error {
	if len(v.msgs) == 0 {
		return nil
	}
	return &ValidationError{Messages: v.msgs}
}

// maxValueLen is where values are cut in messages; longer ones end in "...".
const maxValueLen = 256

func quote(s string) string {
	if utf8.RuneCountInString(s) > maxValueLen {
		r := []rune(s)
		s = string(r[:maxValueLen]) + "..."
	}
	return "'" + s + "'"
}

func (v *Violations) add(value string, p *Path, constraint string) {
	if p != nil && p.mapKey {
		constraint = "Map keys must satisfy constraint: [" + constraint + "]"
	}
	v.msgs = append(v.msgs, "Value "+value+" at '"+p.String()+"' failed to satisfy constraint: "+constraint)
}

func (v *Violations) null(p *Path) {
	v.add("null", p, "Member must not be null")
}

func (v *Violations) str(p *Path, s string, r *StringRule) {
	if r.Min > 0 || r.HasMax {
		n := int64(utf8.RuneCountInString(s))
		if n < r.Min {
			v.add(quote(s), p, "Member must have length greater than or equal to "+strconv.FormatInt(r.Min, 10))
		}
		if r.HasMax && n > r.Max {
			v.add(quote(s), p, "Member must have length less than or equal to "+strconv.FormatInt(r.Max, 10))
		}
	}
	if r.re != nil && (!r.re.MatchString(s) || (r.notPrefix != "" && strings.HasPrefix(s, r.notPrefix))) {
		v.add(quote(s), p, "Member must satisfy regular expression pattern: "+r.Pattern)
	}
	if r.Enum != nil {
		for _, e := range r.Enum {
			if s == e {
				return
			}
		}
		v.add(quote(s), p, "Member must satisfy enum value set: ["+strings.Join(r.Enum, ", ")+"]")
	}
}

func (v *Violations) num(p *Path, n, lo, hi int64) {
	if n < lo {
		v.add(quote(strconv.FormatInt(n, 10)), p, "Member must have value greater than or equal to "+strconv.FormatInt(lo, 10))
	}
	if n > hi {
		v.add(quote(strconv.FormatInt(n, 10)), p, "Member must have value less than or equal to "+strconv.FormatInt(hi, 10))
	}
}

func (v *Violations) size(p *Path, n int, lo, hi int64, value func() string) {
	if int64(n) < lo {
		v.add(quote(value()), p, "Member must have length greater than or equal to "+strconv.FormatInt(lo, 10))
	}
	if int64(n) > hi {
		v.add(quote(value()), p, "Member must have length less than or equal to "+strconv.FormatInt(hi, 10))
	}
}

// union reports a union that does not have exactly one member set.
func (v *Violations) union(p *Path, set ...bool) {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	if n != 1 {
		v.add("'"+strconv.Itoa(n)+" members set'", p, "Member must have exactly one member set")
	}
}

func boundLabel(label func(string) string, name string) (string, bool) {
	if label == nil {
		return "", false
	}
	x := label(name)
	return x, x != ""
}

// render writes a list, map or structure value the way AWS messages show it:
// lists as [a, b], maps as {k=v}.
func render(x any) string {
	var b strings.Builder
	renderValue(&b, reflect.ValueOf(x))
	return b.String()
}

func renderValue(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		renderValue(b, v.Elem())
	case reflect.Slice:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			renderValue(b, v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k.String())
			b.WriteByte('=')
			renderValue(b, v.MapIndex(k))
		}
		b.WriteByte('}')
	case reflect.Struct:
		if ts, ok := v.Interface().(Timestamp); ok {
			b.WriteString(ts.Time().UTC().Format(time.RFC3339))
			return
		}
		t := v.Type()
		b.WriteByte('{')
		first := true
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if (f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice || f.Kind() == reflect.Map) && f.IsNil() {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			name := t.Field(i).Name
			b.WriteString(strings.ToLower(name[:1]) + name[1:])
			b.WriteByte('=')
			renderValue(b, f)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v.Interface())
	}
}
