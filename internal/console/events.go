package console

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/incidentd/incidentd/internal/model"
)

// describe is what the timeline says of an event: the text of a note or
// custom event as it was written; for the events the service writes, a
// sentence made from their eventData (the JSON that AWS writes), or that
// JSON itself when it is not of the known shape.
func describe(e model.TimelineEvent) string {
	data := deref(e.EventData)
	switch deref(e.EventType) {
	case "SSM Incident Start":
		var d struct {
			IncidentTitle, IncidentSource, CreatedBy string
			Impact                                   int32
		}
		if json.Unmarshal([]byte(data), &d) != nil || d.CreatedBy == "" {
			return data
		}
		return fmt.Sprintf("Started by %s (%s) with impact %d: %s", d.CreatedBy, d.IncidentSource, d.Impact, d.IncidentTitle)
	case "SSM Incident Record Update":
		var d struct {
			ModifiedBy         string
			ModifiedAttributes []struct{ AttributeName, OldValue, NewValue string }
		}
		if json.Unmarshal([]byte(data), &d) != nil || d.ModifiedBy == "" {
			return data
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Changed by %s:", d.ModifiedBy)
		for _, a := range d.ModifiedAttributes {
			switch {
			case a.OldValue == "" && a.NewValue == "":
				fmt.Fprintf(&b, "\n%s", a.AttributeName)
			case a.OldValue == "":
				fmt.Fprintf(&b, "\n%s: %s", a.AttributeName, a.NewValue)
			default:
				fmt.Fprintf(&b, "\n%s: %s → %s", a.AttributeName, a.OldValue, a.NewValue)
			}
		}
		return b.String()
	}
	return data
}
