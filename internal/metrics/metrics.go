// Package metrics holds incidentd's Prometheus metrics in a registry of
// their own (not the process-wide default one) and serves them over HTTP,
// with the runtime profiles of net/http/pprof when asked to.
//
// A part of incidentd that reports metrics registers them in
// Metrics.Registry, named incidentd_<part>_<what>, and is handed what
// updates them; the parts define the interfaces they report to
// (restjson.Observer, sqlite.Observer), which this package implements.
package metrics

import (
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the registry of a server's metrics and the metrics of its
// requests.
type Metrics struct {
	// Registry holds every metric of the server; Handler serves it.
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	decisions *prometheus.CounterVec
}

// New returns a registry holding the Go runtime's and the process's metrics,
// go_build_info and incidentd_build_info (for version; empty reads the
// module version the binary was built with), and the request metrics.
func New(version string) *Metrics {
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidentd_requests_total",
			Help: "API requests answered, by operation (\"unknown\" when none matched), HTTP status and AWS error code (\"\" for a success).",
		}, []string{"operation", "status", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "incidentd_request_duration_seconds",
			Help:    "Time from the start of a request's handling to the end of its answer, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms to 16s
		}, []string{"operation"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidentd_authorization_decisions_total",
			Help: "Authorization decisions, by action (ssm-incidents:NAME), decision (allow or deny) and reason (root, identity-policy, resource-policy, cross-account, explicit-deny, implicit-deny).",
		}, []string{"action", "decision", "reason"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "incidentd_build_info",
		Help:        "Always 1; its labels name the version of incidentd and of Go it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		buildInfo,
		m.requests,
		m.duration,
		m.decisions,
	)
	return m
}

// ObserveRequest counts a request answered; it implements restjson.Observer.
func (m *Metrics) ObserveRequest(operation string, status int, code string, elapsed time.Duration) {
	m.requests.WithLabelValues(operation, strconv.Itoa(status), code).Inc()
	m.duration.WithLabelValues(operation).Observe(elapsed.Seconds())
}

// ObserveDecision counts an authorization decision.
func (m *Metrics) ObserveDecision(action string, allowed bool, reason string) {
	decision := "deny"
	if allowed {
		decision = "allow"
	}
	m.decisions.WithLabelValues(action, decision, reason).Inc()
}

// Storage is the metrics of the embedded storage engine; it implements
// sqlite.Observer.
type Storage struct {
	groups             prometheus.Counter
	groupSize          prometheus.Histogram
	pages              prometheus.Histogram
	commit             prometheus.Histogram
	fsync              prometheus.Histogram
	checkpoint         prometheus.Histogram
	checkpointFailures prometheus.Counter
	rolledBack         prometheus.Counter
	failed             prometheus.Counter
}

// latencyBuckets suit a disk: 0.1ms to about 3.3s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 16)

// Storage registers the metrics of the embedded storage engine, whose
// write-ahead log is the file wal (its size is read at each scrape), and
// returns what the engine reports to. Call it once.
func (m *Metrics) Storage(wal string) *Storage {
	s := &Storage{
		groups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_sqlite_commit_groups_total",
			Help: "Commit groups made durable: transactions committed together by one COMMIT and one fsync.",
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "incidentd_sqlite_commit_group_size",
			Help:    "Transactions per durable commit group.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 to 256, the most a group takes
		}),
		pages: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "incidentd_sqlite_commit_pages",
			Help:    "Pages the COMMIT of a durable commit group wrote to the write-ahead log.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12), // 1 to 2048
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "incidentd_sqlite_commit_duration_seconds",
			Help:    "Time the COMMIT of a durable commit group took, its fsync not included.",
			Buckets: latencyBuckets,
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "incidentd_sqlite_fsync_duration_seconds",
			Help:    "Time the fsync of the write-ahead log after a durable commit group took.",
			Buckets: latencyBuckets,
		}),
		checkpoint: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "incidentd_sqlite_checkpoint_duration_seconds",
			Help:    "Time a checkpoint of the write-ahead log into the database took, failed ones included.",
			Buckets: latencyBuckets,
		}),
		checkpointFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_sqlite_checkpoint_failures_total",
			Help: "Checkpoints of the write-ahead log into the database that failed.",
		}),
		rolledBack: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_sqlite_transactions_rolled_back_total",
			Help: "Transactions whose work returned an error (a refusal such as a duplicate or a missing resource among them) and was undone alone.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "incidentd_sqlite_transactions_failed_total",
			Help: "Transactions that failed in the store itself: their group was rolled back, its commit failed, or the log could not be synced.",
		}),
	}
	walBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "incidentd_sqlite_wal_bytes",
		Help: "Size of the write-ahead log file, read at each scrape (0 when there is none).",
	}, func() float64 {
		fi, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return float64(fi.Size())
	})
	m.Registry.MustRegister(s.groups, s.groupSize, s.pages, s.commit, s.fsync, s.checkpoint,
		s.checkpointFailures, s.rolledBack, s.failed, walBytes)
	return s
}

// Committed implements sqlite.Observer.
func (s *Storage) Committed(n, pages int, commit, sync time.Duration) {
	s.groups.Inc()
	s.groupSize.Observe(float64(n))
	s.pages.Observe(float64(pages))
	s.commit.Observe(commit.Seconds())
	s.fsync.Observe(sync.Seconds())
}

// RolledBack implements sqlite.Observer.
func (s *Storage) RolledBack() { s.rolledBack.Inc() }

// Failed implements sqlite.Observer.
func (s *Storage) Failed(n int) { s.failed.Add(float64(n)) }

// Checkpointed implements sqlite.Observer.
func (s *Storage) Checkpointed(d time.Duration, err error) {
	s.checkpoint.Observe(d.Seconds())
	if err != nil {
		s.checkpointFailures.Inc()
	}
}

// Handler serves GET /metrics from g in the Prometheus exposition formats
// and, with profiles, the runtime profiles of net/http/pprof under
// /debug/pprof/. Every other path is answered 404, and another method on
// /metrics 405.
func Handler(g prometheus.Gatherer, profiles bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	if profiles {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Timeouts of the metrics server: a scrape is quick, but a CPU profile or an
// execution trace takes the seconds it asks for (30 by default), and must
// end within writeTimeout.
const (
	readTimeout  = 10 * time.Second
	writeTimeout = 65 * time.Second
	idleTimeout  = 2 * time.Minute
)

// NewServer returns the HTTP server of h (a Handler) with timeouts that
// bound slow clients yet leave a profile of up to a minute the time it takes.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
	}
}

// Deliveries registers the metrics of notification deliveries and returns
// what the dispatcher reports to; backlog tells, at each scrape, how many
// deliveries are pending and when the oldest was created. Call it once.
func (m *Metrics) Deliveries(backlog func() (int64, time.Time, error)) *Deliveries {
	d := &Deliveries{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidentd_notification_attempts_total",
			Help: "Attempts to publish a notification, by destination (sns: an SNS topic; eventbridge: an event bus) and outcome: sent, retried (failed, to be tried again) or parked (failed for the last time).",
		}, []string{"destination", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "incidentd_notification_publish_duration_seconds",
			Help:    "Time a publish to a destination (sns, eventbridge) took, failed ones included.",
			Buckets: latencyBuckets,
		}, []string{"destination"}),
	}
	for _, dest := range []string{"sns", "eventbridge"} {
		for _, o := range []string{"sent", "retried", "parked"} {
			d.attempts.WithLabelValues(dest, o)
		}
	}
	// One read of the backlog serves both gauges of a scrape.
	var (
		mu      sync.Mutex
		at      time.Time
		pending int64
		oldest  time.Time
	)
	read := func() (int64, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) > time.Second {
			if n, o, err := backlog(); err == nil {
				pending, oldest, at = n, o, time.Now()
			}
		}
		return pending, oldest
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "incidentd_notification_queue_depth",
		Help: "Notification deliveries pending (not yet accepted by their topic, nor parked), read at each scrape.",
	}, func() float64 { n, _ := read(); return float64(n) })
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "incidentd_notification_oldest_pending_age_seconds",
		Help: "Age of the oldest pending notification delivery (0 when none is pending), read at each scrape.",
	}, func() float64 {
		_, o := read()
		if o.IsZero() {
			return 0
		}
		return time.Since(o).Seconds()
	})
	m.Registry.MustRegister(d.attempts, d.latency, depth, age)
	return d
}

// Deliveries are the metrics of notification deliveries.
type Deliveries struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// Attempted implements notify.Observer.
func (d *Deliveries) Attempted(destination, outcome string, took time.Duration) {
	d.attempts.WithLabelValues(destination, outcome).Inc()
	d.latency.WithLabelValues(destination).Observe(took.Seconds())
}
