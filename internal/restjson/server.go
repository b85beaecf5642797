package restjson

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"golang.org/x/net/netutil"
)

// ServerLimits bound what one connection may take of the server. Zero fields
// take the defaults below.
type ServerLimits struct {
	// MaxHeaderBytes bounds a request's header section; a larger one is
	// answered 431 RequestHeaderSectionTooLarge.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the time to send a request's headers;
	// ReadTimeout the time to send the whole request, body included.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections open at once; further ones wait
	// to be accepted until one closes.
	MaxConnections int
	// MaxConnectionsPerClient bounds the connections open at once from one
	// client address; a further one is answered 429 ThrottlingException
	// and closed.
	MaxConnectionsPerClient int
}

// Defaults of ServerLimits.
const (
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConnections    = 1024
	// DefaultMaxConnectionsPerClient leaves room for many clients behind
	// one proxy or NAT address while no single address takes them all.
	DefaultMaxConnectionsPerClient = 256
)

func (l ServerLimits) withDefaults() ServerLimits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	def(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&l.ReadTimeout, DefaultReadTimeout)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.MaxConnectionsPerClient <= 0 {
		l.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
	}
	return l
}

// NewServer returns the HTTP server of h with limits applied, and the
// listener to serve it on, made from ln. Requests that net/http refuses
// before any handler runs (a header section above the limit, a malformed
// request) are answered in the AWS error model too.
func NewServer(h http.Handler, ln net.Listener, limits ServerLimits) (*http.Server, net.Listener) {
	limits = limits.withDefaults()
	srv := &http.Server{
		Handler: h,
		// net/http allows 4 KiB beyond MaxHeaderBytes; the bound given is
		// the one that holds.
		MaxHeaderBytes:    max(1, limits.MaxHeaderBytes-4096),
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		// "OPTIONS *" is answered by the handler like any request
		// without an operation.
		DisableGeneralOptionsHandler: true,
	}
	ln = &clientLimitListener{Listener: ln, max: limits.MaxConnectionsPerClient, open: map[string]int{}, refusing: make(chan struct{}, maxRefusing)}
	ln = netutil.LimitListener(&awsErrorListener{Listener: ln, maxHeaderBytes: limits.MaxHeaderBytes}, limits.MaxConnections)
	return srv, ln
}

// clientLimitListener hands out at most max connections open at once from
// one client address; it refuses the others itself.
type clientLimitListener struct {
	net.Listener
	max      int
	mu       sync.Mutex
	open     map[string]int // connections open, by client address
	refusing chan struct{}  // a token per refusal being written
}

// maxRefusing bounds the refusals written at once; beyond it a connection
// over its client's bound is closed without an answer.
const maxRefusing = 64

func (l *clientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := c.RemoteAddr().String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		l.mu.Lock()
		if l.open[host] >= l.max {
			l.mu.Unlock()
			l.refuse(c)
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &clientConn{Conn: c, release: func() { l.release(host) }}, nil
	}
}

func (l *clientLimitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

// refuse answers c with a ThrottlingException and closes it, reading what
// the client sends for a moment so that the answer is not lost to a reset.
func (l *clientLimitListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write(awsAnswer(toWire(errTooManyConnections)))
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

var errTooManyConnections = &domain.ThrottlingError{
	Message:   "Too many connections from this client are open. Close one, or retry the request later.",
	QuotaCode: QuotaConnectionsPerClient,
}

// clientConn is a connection counted against its client's bound until it
// closes.
type clientConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *clientConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// awsErrorListener hands out connections whose answers from net/http
// itself are rewritten into AWS error answers.
type awsErrorListener struct {
	net.Listener
	maxHeaderBytes int
}

func (l *awsErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &awsErrorConn{Conn: c, maxHeaderBytes: l.maxHeaderBytes}, nil
}

// awsErrorConn rewrites the plain-text answers that net/http writes on its
// own when it cannot read a request (for instance "431 Request Header Fields
// Too Large"): each is one write of a status line, exactly netHTTPErrorHeaders
// and a text, after which net/http closes the connection. Answers of
// handlers always carry a Date header, so they never match.
type awsErrorConn struct {
	net.Conn
	maxHeaderBytes int
}

const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *awsErrorConn) Write(p []byte) (int, error) {
	if len(p) > 512 || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		return c.Conn.Write(p)
	}
	// net/http answers an Expect header other than 100-continue with 417
	// (and closes); a handler never does.
	if bytes.HasPrefix(p, []byte("HTTP/1.1 417 ")) {
		if _, err := c.Conn.Write(netHTTPErrorAnswer(http.StatusExpectationFailed, "", c.maxHeaderBytes)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	statusLine, text, ok := bytes.Cut(p, []byte(netHTTPErrorHeaders))
	if !ok || bytes.IndexByte(statusLine, '\n') >= 0 || len(statusLine) < len("HTTP/1.1 400") {
		return c.Conn.Write(p)
	}
	code, err := strconv.Atoi(string(statusLine[len("HTTP/1.1 ") : len("HTTP/1.1 ")+3]))
	if err != nil {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(netHTTPErrorAnswer(code, string(text), c.maxHeaderBytes)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// netHTTPErrorAnswer is the AWS error answer for an answer net/http wrote
// itself with status code and text.
func netHTTPErrorAnswer(code int, text string, maxHeaderBytes int) []byte {
	var e *protocolError
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		e = &protocolError{"RequestHeaderSectionTooLarge", "The request's header section is larger than " + strconv.Itoa(maxHeaderBytes) + " bytes."}
	case http.StatusNotImplemented:
		e = &protocolError{"NotImplementedException", "The request's transfer encoding is not supported."}
	case http.StatusExpectationFailed:
		e = &protocolError{"ExpectationFailedException", "The request's Expect header cannot be met: only 100-continue is supported."}
	case http.StatusHTTPVersionNotSupported:
		e = &protocolError{"HTTPVersionNotSupportedException", "The request's HTTP version is not supported: use HTTP/1.1."}
	default:
		// text is "400 Bad Request", possibly followed by ": why".
		e = &protocolError{"BadRequestException", "The request is not a valid HTTP/1.1 request."}
		if _, why, ok := strings.Cut(text, ": "); ok {
			e.message = "The request is not a valid HTTP/1.1 request: " + why + "."
		}
	}
	return awsAnswer(toWire(e))
}

// awsAnswer is a whole HTTP answer of the error e, with the status of its
// code, after which the connection closes.
func awsAnswer(e *wireError) []byte {
	body, _ := json.Marshal(e)
	code := e.status()
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	b.WriteString("Content-Type: application/json\r\n")
	b.WriteString("x-amzn-ErrorType: " + e.code + "\r\n")
	b.WriteString("x-amzn-RequestId: " + uuid.NewString() + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}
