package testserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
)

// Write is one write of a Workload that the server acknowledged.
type Write struct {
	Op       string // StartIncident, UpdateIncidentRecord or CreateTimelineEvent
	Incident string // the incident record's ARN
	Title    string // the title the write gave the incident (StartIncident, UpdateIncidentRecord)
	EventID  string // the new event's id (CreateTimelineEvent)
}

func (w Write) String() string {
	if w.EventID != "" {
		return fmt.Sprintf("%s %s of %s", w.Op, w.EventID, w.Incident)
	}
	return fmt.Sprintf("%s %q of %s", w.Op, w.Title, w.Incident)
}

// Workload is several clients writing at once, each in a loop: it starts an
// incident, updates its title and adds a custom event to its timeline. It
// records every write the server acknowledged, in the order of the answers.
type Workload struct {
	t        testing.TB
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	ended    chan struct{} // closed once every writer has returned

	mu    sync.Mutex
	acked []Write
	more  chan struct{} // closed and replaced at each acknowledged write
}

// StartWorkload creates a replication set and a response plan with a
// client of newClient, then runs workers writers, each with its own client.
// A write that fails fails the test and ends its writer. Stop ends them.
func StartWorkload(t testing.TB, newClient func() *ssmincidents.Client, workers int) *Workload {
	t.Helper()
	ctx := context.Background()
	c := newClient()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{Region: {}}}); err != nil {
		t.Fatalf("CreateReplicationSet: %v", err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("workload"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("workload"), Impact: aws.Int32(3)},
	})
	if err != nil {
		t.Fatalf("CreateResponsePlan: %v", err)
	}
	w := &Workload{t: t, stop: make(chan struct{}), ended: make(chan struct{}), more: make(chan struct{})}
	for i := range workers {
		w.wg.Add(1)
		go w.run(newClient(), aws.ToString(plan.Arn), i)
	}
	go func() {
		w.wg.Wait()
		close(w.ended)
	}()
	t.Cleanup(w.Stop)
	return w
}

func (w *Workload) run(c *ssmincidents.Client, plan string, worker int) {
	defer w.wg.Done()
	ctx := context.Background()
	fail := func(op string, err error) { w.t.Errorf("workload writer %d: %s: %v", worker, op, err) }
	for i := 0; w.running(); i++ {
		name := fmt.Sprintf("w%d-%d", worker, i)
		start, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String(name)})
		if err != nil {
			fail("StartIncident", err)
			return
		}
		incident := aws.ToString(start.IncidentRecordArn)
		w.ack(Write{Op: "StartIncident", Incident: incident, Title: name})
		if !w.running() {
			return
		}
		title := name + " (updated)"
		if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(incident), Title: aws.String(title)}); err != nil {
			fail("UpdateIncidentRecord", err)
			return
		}
		w.ack(Write{Op: "UpdateIncidentRecord", Incident: incident, Title: title})
		if !w.running() {
			return
		}
		event, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
			IncidentRecordArn: aws.String(incident), EventTime: aws.Time(time.Now()),
			EventType: aws.String("Custom Event"), EventData: aws.String(`"` + name + `"`),
		})
		if err != nil {
			fail("CreateTimelineEvent", err)
			return
		}
		w.ack(Write{Op: "CreateTimelineEvent", Incident: incident, EventID: aws.ToString(event.EventId)})
	}
}

func (w *Workload) running() bool {
	select {
	case <-w.stop:
		return false
	default:
		return true
	}
}

func (w *Workload) ack(wr Write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked = append(w.acked, wr)
	close(w.more)
	w.more = make(chan struct{})
}

// Acked returns the writes acknowledged so far.
func (w *Workload) Acked() []Write {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Write(nil), w.acked...)
}

// WaitAcked waits until n writes in all have been acknowledged.
func (w *Workload) WaitAcked(n int) {
	w.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		w.mu.Lock()
		got, more := len(w.acked), w.more
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-w.ended:
			w.t.Fatalf("the writers stopped after %d writes, want %d", got, n)
		case <-deadline:
			w.t.Fatalf("only %d writes acknowledged in a minute, want %d", got, n)
		}
	}
}

// Stop ends the writers and waits for them.
func (w *Workload) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// MissingWrites returns those of writes whose effect c is not served:
// an incident that is not there, a title that is not the one the update
// set, an event that is not on the timeline. Each incident is updated once
// only, so its title is the update's once the update is there.
func MissingWrites(t testing.TB, c *ssmincidents.Client, writes []Write) []Write {
	t.Helper()
	ctx := context.Background()
	titles := map[string]string{}          // incident → its title, "" if not found
	events := map[string]map[string]bool{} // incident → its events' ids
	var missing []Write
	for _, w := range writes {
		title, ok := titles[w.Incident]
		if !ok {
			r, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(w.Incident)})
			var notFound *types.ResourceNotFoundException
			switch {
			case errors.As(err, &notFound):
			case err != nil:
				t.Fatalf("GetIncidentRecord %s: %v", w.Incident, err)
			default:
				title = aws.ToString(r.IncidentRecord.Title)
				ids := map[string]bool{}
				pg := ssmincidents.NewListTimelineEventsPaginator(c, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(w.Incident)})
				for pg.HasMorePages() {
					page, err := pg.NextPage(ctx)
					if err != nil {
						t.Fatalf("ListTimelineEvents %s: %v", w.Incident, err)
					}
					for _, e := range page.EventSummaries {
						ids[aws.ToString(e.EventId)] = true
					}
				}
				events[w.Incident] = ids
			}
			titles[w.Incident] = title
		}
		switch {
		case title == "":
			missing = append(missing, w)
		case w.Op == "UpdateIncidentRecord" && title != w.Title:
			missing = append(missing, w)
		case w.Op == "CreateTimelineEvent" && !events[w.Incident][w.EventID]:
			missing = append(missing, w)
		}
	}
	return missing
}

// PinSnapshot checkpoints the write-ahead log of the SQLite database at
// path, which a server is running on, then opens a read transaction on it
// and holds it until the returned function is called. While it is held, no
// transaction committed after it began is checkpointed from the log into
// the database file: a copy of that file alone holds what was committed
// before the pin (as far as the checkpoint got) and lacks what was
// committed after.
func PinSnapshot(t testing.TB, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		db.Close()
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM incident_records`).Scan(&n); err != nil {
		tx.Rollback()
		db.Close()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// CopyFile copies the file at path to the new file to, mode 0600, as cp
// would, once it has stayed the same for a while: with a snapshot pinned
// (PinSnapshot), the server's checkpoints stop changing the database file
// once they have copied what was committed before the pin.
func CopyFile(t testing.TB, path, to string) {
	t.Helper()
	prev, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(300 * time.Millisecond)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(b, prev) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still changing", path)
		}
		prev = b
	}
	if err := os.WriteFile(to, prev, 0o600); err != nil {
		t.Fatal(err)
	}
}

// RunReadmeBlock runs with bash (-euo pipefail), with env added to the
// environment, the first sh block after the heading of the README at readme.
func RunReadmeBlock(t testing.TB, readme, heading string, env ...string) ([]byte, error) {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no %q section", readme, heading)
	}
	block := text[i:]
	start := strings.Index(block, "\n```sh\n")
	if start < 0 {
		t.Fatalf("%s: section %q has no sh block", readme, heading)
	}
	block = block[start+len("\n```sh\n"):]
	end := strings.Index(block, "\n```")
	if end < 0 {
		t.Fatalf("%s: the sh block of %q does not end", readme, heading)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block[:end+1])
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// RestoreAsReadme restores the backup file to the data directory data by
// running the README's restore steps ("### Restoring a backup").
func RestoreAsReadme(t testing.TB, readme, data, backup string) {
	t.Helper()
	RequireTool(t, "bash", "install bash")
	out, err := RunReadmeBlock(t, readme, "### Restoring a backup", "DATA="+data, "BACKUP="+backup)
	if err != nil {
		t.Fatalf("the README's restore steps failed: %v\n%s", err, out)
	}
}

// PlainCopyShortfall says how the database file at path, a plain copy of a
// running server's incidentd.db, falls short of a backup of writes: it is
// damaged (its pages come from different moments, which a copy taken while
// a checkpoint writes the file can be), or it lacks some of them. It returns
// "" when the copy is whole and holds every write.
func PlainCopyShortfall(t testing.TB, path string, writes []Write) string {
	t.Helper()
	// immutable: read the file as it is, with no log and no locks.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		return fmt.Sprintf("it is damaged (integrity check: %q, %v)", check, err)
	}
	missing := 0
	for _, w := range writes {
		var doc string
		err := db.QueryRow(`SELECT doc FROM incident_records WHERE arn = ?`, w.Incident).Scan(&doc)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			missing++
		case err != nil:
			return fmt.Sprintf("it cannot be read (%v)", err)
		case w.Op == "UpdateIncidentRecord" && !strings.Contains(doc, fmt.Sprintf("%q", w.Title)):
			missing++
		case w.Op == "CreateTimelineEvent":
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM timeline_events WHERE event_id = ?`, w.EventID).Scan(&n); err != nil {
				return fmt.Sprintf("it cannot be read (%v)", err)
			}
			if n == 0 {
				missing++
			}
		}
	}
	if missing == 0 {
		return ""
	}
	return fmt.Sprintf("it lacks %d of %d writes", missing, len(writes))
}
