package notify

import (
	"fmt"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestBatchesBoundCountAndBytes: a publish holds deliveries of one
// destination, in the order claimed, at most MaxBatch of them and at most
// MaxBatchBytes of messages; a message larger than that goes alone.
func TestBatchesBoundCountAndBytes(t *testing.T) {
	var ds []*domain.Delivery
	add := func(topic string, n, size int) {
		for range n {
			ds = append(ds, &domain.Delivery{ID: fmt.Sprint(len(ds)), Topic: topic, Message: []byte(strings.Repeat("x", size)),
				Attributes: map[string]string{"status": "OPEN"}})
		}
	}
	add("a", 23, 100)    // 10, 10, 3
	add("b", 5, 60<<10)  // 3 of 60 KiB fit in 200 KiB: 3, 2
	add("c", 2, 300<<10) // each alone
	add("a", 1, 100)     // joins a's last batch
	var got []string
	for _, b := range batches(ds) {
		for _, d := range b {
			if d.Topic != b[0].Topic {
				t.Errorf("a batch of %s and %s", b[0].Topic, d.Topic)
			}
		}
		got = append(got, b[0].Topic+fmt.Sprint(len(b)))
	}
	want := []string{"a10", "a10", "a4", "b3", "b2", "c1", "c1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("batches %v, want %v", got, want)
	}
	// Each delivery once.
	seen := 0
	for _, b := range batches(ds) {
		seen += len(b)
	}
	if seen != len(ds) {
		t.Errorf("%d deliveries in the batches, want %d", seen, len(ds))
	}
}
