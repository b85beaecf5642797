package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// The live pages. An incident's page and the incidents list carry the
// version of what they show (the data-live attribute of <main>); the
// browser opens /console/live?page=…&v=VERSION as an EventSource, and the
// stream reads what the page shows again every livePoll, as the signed-in
// user, through the service, and sends a change event once it differs.
// It reads the database, not this process's memory, so a change made
// through any node, by the API, chat or another browser, shows. Where
// Server-Sent Events do not get through (a proxy that buffers them, too
// many streams), the page asks /console/live?…&format=json every 2 s
// instead.

// Live streams' bounds.
const (
	// liveLife is how long a stream lasts; the browser then opens another.
	liveLife = 10 * time.Minute
	// liveHeartbeat is how often a quiet stream sends a comment, so that
	// proxies keep it and the browser knows it lives.
	liveHeartbeat = 15 * time.Second
	// maxStreams bounds the streams a process serves at once; past it, the
	// browser polls.
	maxStreams = 256
)

// liveReader returns the function that reads the version of the page that
// q names, or nil when q names no page.
func (c *Console) liveReader(q url.Values) func(ctx context.Context) string {
	switch q.Get("page") {
	case "incident":
		arn, events := q.Get("arn"), q.Get("events")
		return func(ctx context.Context) string {
			st, err := c.incidentState(ctx, arn, events)
			if err != nil {
				_, msg := c.errorMessage(err)
				return version("error: " + msg)
			}
			return version(st)
		}
	case "incidents":
		open, resolved, bad := readIncidentsQuery(q).inputs()
		if bad != "" {
			return nil
		}
		return func(ctx context.Context) string { return version(c.incidentsState(ctx, open, resolved)) }
	}
	return nil
}

// live serves a page's live stream, or its version as JSON
// (format=json): {"version": "…"}.
func (c *Console) live(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	// Its reads repeat the page's, which were audited.
	caller, _ := domain.CallerFrom(r.Context())
	caller.Refresh = true
	ctx := domain.WithCaller(r.Context(), caller)
	read := c.liveReader(q)
	if read == nil || !versionRE.MatchString(q.Get("v")) {
		http.Error(w, "No such live page.", http.StatusBadRequest)
		return
	}
	if q.Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": read(ctx)})
		return
	}
	if !c.streams.acquire() {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Too many live pages: this page asks for changes instead.", http.StatusServiceUnavailable)
		return
	}
	defer c.streams.release()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		// The listener's write timeout would end the stream: each write
		// has a deadline of its own.
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	seen := q.Get("v")
	if !send("retry: 2000\nevent: ready\ndata: " + seen + "\n\n") {
		return
	}
	tick := time.NewTicker(c.livePoll)
	defer tick.Stop()
	end := time.NewTimer(liveLife)
	defer end.Stop()
	quiet := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case <-end.C:
			return
		case <-tick.C:
		}
		// A session that ended (signed out, expired, its password changed)
		// ends its streams.
		if cur, err := c.session(r); err != nil || cur == nil || cur.ID != s.ID {
			send("event: signed-out\ndata: \n\n")
			return
		}
		if v := read(ctx); v != seen {
			seen = v
			if !send("event: change\ndata: " + v + "\n\n") {
				return
			}
			quiet = time.Now()
		} else if time.Since(quiet) >= liveHeartbeat {
			if !send(": still here\n\n") {
				return
			}
			quiet = time.Now()
		}
	}
}

// versionRE is a version as version writes it.
var versionRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// counter bounds how many of something run at once.
type counter struct{ n chan struct{} }

func (k *counter) acquire() bool {
	select {
	case k.n <- struct{}{}:
		return true
	default:
		return false
	}
}

func (k *counter) release() { <-k.n }

// Close ends the live streams, so that the server's shutdown does not wait
// for them; their browsers open them again on another node, or poll.
func (c *Console) Close() {
	c.closeOnce.Do(func() { close(c.closing) })
}
