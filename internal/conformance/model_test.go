package conformance

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"sync"
	"testing"
)

// The official service model (botocore's service-2.json, kept in
// internal/model), read for the shapes of inputs and outputs.
type svcModel struct {
	Operations map[string]struct {
		HTTP struct {
			Method       string `json:"method"`
			RequestURI   string `json:"requestUri"`
			ResponseCode int    `json:"responseCode"`
		} `json:"http"`
		Input  *struct{ Shape string } `json:"input"`
		Output *struct{ Shape string } `json:"output"`
	} `json:"operations"`
	Shapes map[string]*shape `json:"shapes"`
}

type shape struct {
	Type     string            `json:"type"`
	Members  map[string]member `json:"members"`
	Member   *member           `json:"member"`
	Key      *member           `json:"key"`
	Value    *member           `json:"value"`
	Enum     []string          `json:"enum"`
	Union    bool              `json:"union"`
	Required []string          `json:"required"`
}

type member struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

var (
	modelOnce sync.Once
	theModel  *svcModel
	modelErr  error
)

func loadModel(t testing.TB) *svcModel {
	t.Helper()
	modelOnce.Do(func() {
		f, err := os.Open("../model/service-2.json.gz")
		if err != nil {
			modelErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			modelErr = err
			return
		}
		m := &svcModel{}
		modelErr = json.NewDecoder(z).Decode(m)
		theModel = m
	})
	if modelErr != nil {
		t.Fatalf("read the service model: %v", modelErr)
	}
	return theModel
}

func (m *svcModel) shape(name string) *shape { return m.Shapes[name] }

// inputShape and outputShape are the operation's shapes (nil for none).
func (m *svcModel) inputShape(op string) *shape {
	o, ok := m.Operations[op]
	if !ok || o.Input == nil {
		return nil
	}
	return m.shape(o.Input.Shape)
}

func (m *svcModel) outputShape(op string) *shape {
	o, ok := m.Operations[op]
	if !ok || o.Output == nil {
		return nil
	}
	return m.shape(o.Output.Shape)
}

// jsonKind is the JSON type a shape travels as in rest-json.
func (s *shape) jsonKind() string {
	switch s.Type {
	case "structure", "map":
		return "object"
	case "list":
		return "array"
	case "integer", "long", "double", "float", "timestamp":
		return "number"
	case "boolean":
		return "boolean"
	default:
		return "string"
	}
}

// child returns the shape of member name of structure s, of the elements
// of list s ("[]"), or of the values of map s (any name).
func (m *svcModel) child(s *shape, name string) *shape {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "structure":
		mem, ok := s.Members[name]
		if !ok {
			return nil
		}
		return m.shape(mem.Shape)
	case "list":
		if s.Member == nil {
			return nil
		}
		return m.shape(s.Member.Shape)
	case "map":
		if s.Value == nil {
			return nil
		}
		return m.shape(s.Value.Shape)
	}
	return nil
}
