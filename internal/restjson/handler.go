// Package restjson is the HTTP transport of incidentd: the AWS rest-json
// protocol of ssm-incidents 2018-05-10. It routes each request by the model's
// method and path, verifies its SigV4 signature, decodes and validates the
// input against the model, calls the service, and writes the output or the
// error in the AWS error model.
package restjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sigv4"
	"golang.org/x/sync/singleflight"
)

func init() {
	// Request ids come from a pool of random bytes rather than one read of
	// the system's random source per request.
	uuid.EnableRandPool()
}

// MaxBodyBytes is the largest request body accepted; larger ones are refused
// before they are read whole.
const MaxBodyBytes = 1 << 20

// SigningName is the SigV4 service name clients sign with.
const SigningName = "ssm-incidents"

// Key is an access key and the identity it stands for.
type Key struct {
	SecretAccessKey string
	Account         string
	Principal       string // e.g. arn:aws:iam::111122223333:root
	// ActsAsRoot: the key is authorized as its account's root, whatever
	// Principal says (see domain.Caller).
	ActsAsRoot bool
}

// Keys finds the access keys that sign requests.
type Keys interface {
	// LookupKey returns the active key of that id; ok is false for an
	// unknown or inactive one. Its error (the keys cannot be read) fails
	// the request.
	LookupKey(ctx context.Context, id string) (k Key, ok bool, err error)
}

// StaticKeys are keys fixed at start.
type StaticKeys map[string]Key

// LookupKey implements Keys.
func (s StaticKeys) LookupKey(_ context.Context, id string) (Key, bool, error) {
	k, ok := s[id]
	return k, ok, nil
}

// Handler serves the API, incidentd's extensions (extension.go) and /healthz.
type Handler struct {
	mux      *http.ServeMux
	keys     Keys
	verifier *sigv4.Verifier
	log      *slog.Logger
	ops      map[string]opFunc
	throttle *throttle
	unknown  http.Handler // answers UnknownOperationException
	observer Observer     // nil: none

	health        func(context.Context) error // nil: always healthy
	healthTimeout time.Duration
	healthChecks  singleflight.Group // one check at a time, shared by the requests waiting for it
}

// HealthTimeout bounds the check of GET /healthz: a check that has not
// answered by then is a failure, so that /healthz never hangs.
const HealthTimeout = 2 * time.Second

// Observer is told of every request the handler answers, for metrics. It is
// called from the goroutines serving requests: its method must be safe for
// concurrent use and return quickly.
type Observer interface {
	// ObserveRequest reports a request of operation (the name of a model
	// operation or of an extension, or "unknown" when none matched)
	// answered with status after elapsed; code is the AWS error code of a
	// refused request, and "" for a success.
	ObserveRequest(operation string, status int, code string, elapsed time.Duration)
}

// New returns the handler for svc, accepting requests signed by keys.
// now may be nil (time.Now).
func New(svc *service.Service, keys Keys, log *slog.Logger, now func() time.Time) *Handler {
	h := newHandler(operations(svc), keys, log, now)
	h.mountExtensions(svc)
	return h
}

func newHandler(ops map[string]opFunc, keys Keys, log *slog.Logger, now func() time.Time) *Handler {
	h := &Handler{mux: http.NewServeMux(), keys: keys, log: log, ops: ops, throttle: newThrottle(Limits{}), healthTimeout: HealthTimeout}
	h.verifier = &sigv4.Verifier{
		Service: SigningName,
		Now:     now,
		Lookup: func(ctx context.Context, id string) (string, bool, error) {
			k, ok, err := h.keys.LookupKey(ctx, id)
			return k.SecretAccessKey, ok, err
		},
	}
	for _, op := range model.Operations {
		run, ok := h.ops[op.Name]
		if !ok {
			panic("restjson: no handler for operation " + op.Name)
		}
		h.mux.Handle(op.Method+" "+op.Path, h.operation(op, run))
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.unknown = h.operation(model.Operation{Name: "unknown"}, nil)
	h.mux.Handle("/", h.unknown)
	return h
}

// SetLimits sets the rates and the bound of requests in flight; call it
// before the handler serves.
func (h *Handler) SetLimits(l Limits) { h.throttle = newThrottle(l) }

// SetHealth has GET /healthz run check, with a context that ends after
// HealthTimeout: it answers 200 "ok" when check returns nil, and 503 with
// the error's text (which must carry no secret: /healthz needs no
// signature) when it fails or does not return in time. Without a check
// (nil), /healthz answers 200 whenever the server answers. Call it before
// the handler serves.
func (h *Handler) SetHealth(check func(ctx context.Context) error) { h.health = check }

// SetObserver has the handler report every request it answers to o; call it
// before the handler serves.
func (h *Handler) SetObserver(o Observer) { h.observer = o }

// ServeHTTP implements http.Handler.
//
// Requests that http.ServeMux would answer itself, in plain text or with a
// redirect (CONNECT, the target "*", a path that is not clean), are answered
// as an unknown operation instead, in the AWS error model.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || r.RequestURI == "*" || !isCleanPath(r.URL.Path) {
		h.unknown.ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// isCleanPath reports whether http.ServeMux would serve p as it is rather
// than redirect to its cleaned form.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		return c+"/" == p
	}
	return c == p
}

// exchange is what the log line and the metrics of one request tell.
type exchange struct {
	op        string
	requestID string
	principal string // the key's principal, once the signature verified
	status    int
	code      string // the AWS error code of a refused request
	bytesIn   int    // bytes of the request body read
	// trace is the storage work of the request, gathered only when the
	// log line shows it (at debug level).
	trace *domain.StoreTrace
}

// operation returns the handler of op; run nil answers UnknownOperationException.
func (h *Handler) operation(op model.Operation, run opFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		x := exchange{op: op.Name, requestID: uuid.NewString()}
		w.Header().Set("x-amzn-RequestId", x.requestID)
		ctx := r.Context()
		if h.log.Enabled(ctx, slog.LevelDebug) {
			ctx, x.trace = domain.WithStoreTrace(ctx)
		}
		defer func() {
			// A panic is answered like any internal error, logged once
			// with its stack; the server goes on serving.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				x.status, x.code = writeError(w, r, h.log, x.requestID, &panicError{value: v, stack: debug.Stack()})
			}
			elapsed := time.Since(start)
			if h.observer != nil {
				h.observer.ObserveRequest(x.op, x.status, x.code, elapsed)
			}
			h.logRequest(w, r, &x, elapsed)
		}()
		if err := h.serve(ctx, w, r, op, run, &x); err != nil {
			x.status, x.code = writeError(w, r, h.log, x.requestID, err)
		}
	})
}

// maxLoggedKeyID bounds the access key id a refused request's log line
// repeats: AWS's are at most 128 characters, and the header is the client's.
const maxLoggedKeyID = 128

// logRequest writes the log line of the request x, answered after elapsed.
// It carries the error code of a refused request and, for one that did not
// authenticate, the access key id it named (in its Authorization header or
// a presigned query), if any. With a trace (at debug level) it also tells the
// bytes of the request and answer bodies and what the storage took; never a
// secret, a signature, a query string or a body.
func (h *Handler) logRequest(w http.ResponseWriter, r *http.Request, x *exchange, elapsed time.Duration) {
	ctx := r.Context()
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("op", x.op), slog.Int("status", x.status),
		slog.Duration("latency", elapsed), slog.String("request_id", x.requestID),
		slog.String("principal", x.principal))
	if x.code != "" {
		attrs = append(attrs, slog.String("error_code", x.code))
		if authenticationCodes[x.code] {
			a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				// A presigned request names its key in the query.
				a, err = sigv4.ParseQuery(r.URL.RawQuery)
			}
			if err == nil {
				id := a.AccessKeyID
				if len(id) > maxLoggedKeyID {
					id = id[:maxLoggedKeyID] + "..."
				}
				attrs = append(attrs, slog.String("access_key_id", id))
			}
		}
	}
	if x.trace != nil {
		// Every answer has a Content-Length but a 204's (writeBody).
		out, _ := strconv.Atoi(w.Header().Get("Content-Length"))
		st := x.trace.Totals()
		attrs = append(attrs, slog.Int("bytes_in", x.bytesIn), slog.Int("bytes_out", out),
			slog.Group("store",
				slog.Duration("time", st.Time()),
				slog.Int("reads", st.Reads), slog.Duration("read_time", st.ReadTime),
				slog.Int("writes", st.Writes), slog.Duration("queue", st.Queue),
				slog.Duration("run", st.Run), slog.Duration("sync", st.Sync),
				slog.Int("group_size", st.MaxGroup)))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

// panicError is a recovered panic with the stack of the goroutine that
// panicked.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.value, e.stack) }

// serve runs one request with ctx, records in x what it finds out and
// writes its success answer; it returns the error to write otherwise.
func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, op model.Operation, run opFunc, x *exchange) error {
	// What can be checked without the body is checked first, so that a
	// request that cannot verify holds no buffer.
	signed, err := h.verifier.CheckHeaders(r)
	if err != nil {
		return err
	}
	if r.ContentLength > MaxBodyBytes {
		return errBodyTooLarge
	}
	// The bodies being read share a bound of bytes: a body of unknown
	// length is charged the most it may take.
	charge := r.ContentLength
	if charge < 0 {
		charge = MaxBodyBytes
	}
	if err := h.throttle.bodies.take(charge); err != nil {
		return err
	}
	defer h.throttle.bodies.give(charge)
	buf := getBuffer()
	defer putBuffer(buf)
	if r.ContentLength > 0 {
		// Room for the whole body and the final empty read, so that the
		// buffer is never grown by doubling.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		return bodyReadError(err)
	}
	body := buf.Bytes()
	x.bytesIn = len(body)

	// Past the bound of requests in flight, answer at once: work queued
	// without limit only makes every answer late.
	if err := h.throttle.inFlight.take(1); err != nil {
		return err
	}
	defer h.throttle.inFlight.give(1)

	cred, err := h.verifier.VerifyBody(r, signed, body)
	if err != nil {
		return err
	}
	// The key verified a moment ago: this lookup is answered from the
	// cache that answered that one.
	key, ok, err := h.keys.LookupKey(ctx, cred.AccessKeyID)
	if err != nil {
		return err
	}
	if !ok {
		return &sigv4.Error{Code: sigv4.CodeUnrecognizedClient, Message: "The security token included in the request is invalid."}
	}
	x.principal = key.Principal
	if err := h.throttle.allow(key.Account, op.Name); err != nil {
		return err
	}
	if run == nil {
		return &protocolError{"UnknownOperationException", "No operation of ssm-incidents matches " + r.Method + " " + r.URL.Path + "."}
	}

	in := op.NewInput()
	if op.InputBody && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, in); err != nil {
			return serializationError(err)
		}
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	in.BindHTTP(r.PathValue, query)
	if err := in.Validate(); err != nil {
		return err
	}

	ctx = domain.WithCaller(ctx, domain.Caller{Account: key.Account, Principal: key.Principal, Region: cred.Region, ActsAsRoot: key.ActsAsRoot,
		AccessKeyID: cred.AccessKeyID, SourceIP: remoteIP(r), SecureTransport: r.TLS != nil, UserAgent: r.UserAgent(), RequestID: x.requestID})
	out, err := run(ctx, in)
	if err != nil {
		return err
	}
	x.status = op.Status
	return writeOutput(w, r, op, out, h.log, x.requestID)
}

var errBodyTooLarge = &protocolError{"RequestEntityTooLargeException", fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes)}

// bodyReadError words a failure to read the request body.
func bodyReadError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &protocolError{"RequestTimeoutException", "The request was not read within the time allowed; send it again."}
	}
	return &protocolError{"SerializationException", "The request body could not be read: " + err.Error()}
}

// writeOutput writes the success answer. Once the status line is out, a
// failed write (the client went away) is only logged: no second answer
// can follow.
func writeOutput(w http.ResponseWriter, r *http.Request, op model.Operation, out any, log *slog.Logger, requestID string) error {
	if op.Status == http.StatusNoContent {
		// A 204 has no body and, as RFC 9110 requires (and net/http
		// enforces), no Content-Length.
		w.WriteHeader(op.Status)
		return nil
	}
	// An output without members has an empty body, as the API reference
	// says of DeleteResourcePolicy: "the service sends back an HTTP 200
	// response with an empty HTTP body".
	var b []byte
	if op.OutputBody {
		var err error
		if b, err = json.Marshal(out); err != nil {
			return err
		}
	}
	writeBody(w, r, op.Status, b, log, requestID)
	return nil
}

// serializationError words a JSON decoding failure for the caller.
func serializationError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the request body"
		}
		msg = fmt.Sprintf("Cannot deserialize %s: expected %s, got JSON %s.", quoteField(field), jsonKind(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		msg = fmt.Sprintf("The request body is not valid JSON: %s (at byte %d).", syntaxErr.Error(), syntaxErr.Offset)
	}
	return &protocolError{"SerializationException", msg}
}

func quoteField(f string) string {
	if f == "the request body" {
		return f
	}
	return "'" + f + "'"
}

// jsonKind names the JSON type that a Go type is decoded from.
func jsonKind(goType string) string {
	switch {
	case goType == "model.Timestamp":
		return "a timestamp in epoch seconds (a JSON number)"
	case strings.HasPrefix(goType, "[]"):
		return "a JSON array"
	case strings.HasPrefix(goType, "map["):
		return "a JSON object"
	case goType == "string":
		return "a JSON string"
	case goType == "bool":
		return "a JSON boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a JSON integer"
	case strings.HasPrefix(goType, "float"):
		return "a JSON number"
	default:
		return "a JSON object"
	}
}

// healthz answers GET /healthz: 200 "ok" when the health check passes,
// 503 and the reason, in one line of plain text, when it does not. It
// needs no signature, and is neither rate-limited nor observed: load
// balancers and orchestrators poll it. Requests that arrive while a check runs wait for
// that check rather than start another, so that polling a store that does
// not answer piles up no work on it.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.checkHealth(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, strings.Join(strings.Fields(err.Error()), " ")+"\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// checkHealth runs the health check, or joins the one running, and returns
// its error; a check that ignores its context is given up on a little after
// healthTimeout.
func (h *Handler) checkHealth(ctx context.Context) error {
	if h.health == nil {
		return nil
	}
	timeout := h.healthTimeout
	results := h.healthChecks.DoChan("", func() (_ any, err error) {
		// The check is shared: it runs on a context of its own rather
		// than on that of the request that started it, which may go away.
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		// singleflight would re-panic where nothing recovers, ending the
		// server: a panicking check is a failing one.
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("health check panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = errors.New("the health check failed")
			}
		}()
		return nil, h.health(ctx)
	})
	// A check that keeps to its context has answered by then, with its
	// own reason; one that does not is given up on.
	t := time.NewTimer(timeout + timeout/10)
	defer t.Stop()
	select {
	case res := <-results:
		return res.Err
	case <-t.C:
		// The next request runs a check of its own rather than wait for
		// this one again.
		h.healthChecks.Forget("")
		return fmt.Errorf("the health check did not answer within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// remoteIP is the address of the peer that sent r, without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
