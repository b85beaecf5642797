package restjson_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/testserver"
)

// rawExchange writes request on a new connection and reads one answer.
func rawExchange(t *testing.T, addr, request string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// The server may answer and close before it read all of a large
	// request; the answer is what counts.
	go io.WriteString(c, request)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, b
}

// wantAWSError checks an answer in the AWS error model.
func wantAWSError(t *testing.T, resp *http.Response, body []byte, status int, code string) string {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("x-amzn-ErrorType") != code {
		t.Fatalf("answer %d %q %s, want %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body, status, code)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer lacks x-amzn-RequestId or a JSON Content-Type: %v", resp.Header)
	}
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Fatalf("body %q is not {\"message\": …}", body)
	}
	return e.Message
}

// TestRequestsNetHTTPRefusesGetAWSErrors sends requests that net/http
// refuses before any handler runs: each is answered in the AWS error model.
func TestRequestsNetHTTPRefusesGetAWSErrors(t *testing.T) {
	srv := testserver.Start(t)
	addr := srv.Main.Addr()
	t.Run("header section too large", func(t *testing.T) {
		req := "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
		resp, body := rawExchange(t, addr, req)
		msg := wantAWSError(t, resp, body, http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderSectionTooLarge")
		if !strings.Contains(msg, "65536 bytes") {
			t.Fatalf("message %q does not give the limit", msg)
		}
	})
	t.Run("header section just under the limit", func(t *testing.T) {
		req := "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Big: " + strings.Repeat("a", 60<<10) + "\r\n\r\n{}"
		resp, body := rawExchange(t, addr, req)
		// It reaches the handler, which wants a signature.
		wantAWSError(t, resp, body, http.StatusForbidden, "MissingAuthenticationTokenException")
	})
	t.Run("malformed request line", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "NOT A REQUEST\r\n\r\n")
		wantAWSError(t, resp, body, http.StatusBadRequest, "BadRequestException")
	})
	t.Run("missing Host", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "POST /listResponsePlans HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
		msg := wantAWSError(t, resp, body, http.StatusBadRequest, "BadRequestException")
		if !strings.Contains(msg, "Host") {
			t.Fatalf("message %q does not say what is wrong", msg)
		}
	})
	t.Run("unsupported Expect", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 2\r\n\r\n{}")
		wantAWSError(t, resp, body, http.StatusExpectationFailed, "ExpectationFailedException")
	})
	t.Run("unsupported HTTP version", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "POST /listResponsePlans HTTP/2.5\r\nHost: x\r\n\r\n")
		wantAWSError(t, resp, body, http.StatusHTTPVersionNotSupported, "HTTPVersionNotSupportedException")
	})
	for _, target := range []string{"CONNECT x:443", "OPTIONS *", "PRI *", "POST //listResponsePlans", "POST /a/../listResponsePlans", "POST /listResponsePlans/"} {
		t.Run("unrouted "+target, func(t *testing.T) {
			resp, body := rawExchange(t, addr, target+" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
			// Unsigned, it is refused before it is routed, as any
			// request the model has no operation for.
			wantAWSError(t, resp, body, http.StatusForbidden, "MissingAuthenticationTokenException")
		})
	}
	t.Run("unsupported transfer encoding", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zstd\r\n\r\n")
		wantAWSError(t, resp, body, http.StatusNotImplemented, "NotImplementedException")
	})
}

// TestSlowClientsAreCut sends headers, then a body, a byte at a time: the
// server closes the connection once the read timeouts pass instead of
// waiting on it, and answers a body that comes too slowly with 408.
func TestSlowClientsAreCut(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) {
		c.Server = restjson.ServerLimits{ReadHeaderTimeout: 500 * time.Millisecond, ReadTimeout: time.Second}
	})
	addr := srv.Main.Addr()

	// trickle sends s a byte every interval until the server closes the
	// connection, and returns what the server answered and how long it
	// kept the connection.
	trickle := func(prefix, s string) (string, time.Duration) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, prefix); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		answer := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(c)
			answer <- string(b)
		}()
		for i := 0; i < len(s); i++ {
			if _, err := c.Write([]byte{s[i]}); err != nil {
				break
			}
			select {
			case a := <-answer:
				return a, time.Since(start)
			case <-time.After(100 * time.Millisecond):
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("the server kept a slow connection for 10 s")
			}
		}
		select {
		case a := <-answer:
			return a, time.Since(start)
		case <-time.After(10 * time.Second):
			t.Fatal("the server kept a slow connection open")
		}
		return "", 0
	}

	_, held := trickle("", "POST /listResponsePlans HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"+strings.Repeat("X-Slow: a\r\n", 100))
	if held > 3*time.Second {
		t.Fatalf("slow headers held the connection for %v", held)
	}

	// A signed request, so that its body is read.
	body := []byte(strings.Repeat(" ", 998) + "{}")
	req, err := http.NewRequest(http.MethodPost, srv.Endpoint+"/listResponsePlans", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	srv.Sign(req, body, testserver.KeyA, testserver.SecretA, time.Now())
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(wire.String(), "\r\n\r\n")
	answer, held := trickle(head+"\r\n\r\n", rest)
	if held > 3*time.Second {
		t.Fatalf("a slow body held the connection for %v", held)
	}
	if !strings.HasPrefix(answer, "HTTP/1.1 408 ") || !strings.Contains(strings.ToLower(answer), "x-amzn-errortype: requesttimeoutexception") {
		t.Fatalf("a slow body was answered %q, want 408 RequestTimeoutException", answer)
	}

	// The server still serves.
	if r := srv.Do(http.MethodPost, "/listResponsePlans", []byte(`{}`)); r.Status != http.StatusOK {
		t.Fatalf("after slow clients: %d %s", r.Status, r.Body)
	}
}

// holdConnections opens n connections to addr and serves each one request,
// so that each is surely accepted, then keeps them alive and idle.
func holdConnections(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var held []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		held = append(held, c)
	}
	return held
}

// TestConnectionsAreBounded holds MaxConnections idle connections open: a
// further client waits until one of them closes.
func TestConnectionsAreBounded(t *testing.T) {
	const bound = 3
	srv := testserver.Start(t, func(c *app.Config) { c.Server = restjson.ServerLimits{MaxConnections: bound} })
	addr := srv.Main.Addr()
	held := holdConnections(t, addr, bound)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 500 * time.Millisecond}
	if resp, err := client.Get(srv.Endpoint + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a connection beyond the bound of %d was served", bound)
	}
	held[0].Close()
	client.Timeout = 5 * time.Second
	resp, err := client.Get(srv.Endpoint + "/healthz")
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
	resp.Body.Close()
	for _, c := range held[1:] {
		c.Close()
	}
}

// TestBodiesInFlightAreBounded opens connections that announce a 1 MiB
// body under signed headers and send only its start: the server holds at
// most MaxBodyBytesInFlight of such bodies and refuses the next at once with
// ThrottlingException; an unsigned one is refused before its body is read.
func TestBodiesInFlightAreBounded(t *testing.T) {
	const bound = 4 << 20
	srv := testserver.Start(t, func(c *app.Config) {
		c.Limits = restjson.Limits{MaxBodyBytesInFlight: bound}
		c.Server = restjson.ServerLimits{ReadTimeout: 5 * time.Second}
	})
	addr := srv.Main.Addr()
	body := bytes.Repeat([]byte(" "), 1<<20)
	// stall sends the headers of a 1 MiB request and its first KiB.
	stall := func(signed bool) net.Conn {
		req, err := http.NewRequest(http.MethodPost, srv.Endpoint+"/listResponsePlans", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if signed {
			srv.Sign(req, body, testserver.KeyA, testserver.SecretA, time.Now())
		}
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		head, _, _ := bytes.Cut(wire.Bytes(), []byte("\r\n\r\n"))
		c.Write(append(head, "\r\n\r\n"...))
		c.Write(body[:1024])
		return c
	}
	answer := func(c net.Conn) *http.Response {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return resp
	}

	resp := answer(stall(false))
	if resp.StatusCode != http.StatusForbidden || !resp.Close {
		t.Fatalf("an unsigned body: %d, closing %v; want 403 and the connection closed", resp.StatusCode, resp.Close)
	}
	for range bound >> 20 {
		stall(true)
	}
	time.Sleep(200 * time.Millisecond) // let the server take them up
	start := time.Now()
	resp = answer(stall(true))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-amzn-ErrorType") != "ThrottlingException" {
		t.Fatalf("a body beyond the bound: %d %s, want 429 ThrottlingException", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refusal took %v", d)
	}
}

// TestConnectionsPerClientAreBounded holds MaxConnectionsPerClient
// connections from 127.0.0.1 open: a further one from there is answered 429
// ThrottlingException and closed; once one closes, it is served again.
func TestConnectionsPerClientAreBounded(t *testing.T) {
	const bound = 3
	srv := testserver.Start(t, func(c *app.Config) { c.Server = restjson.ServerLimits{MaxConnectionsPerClient: bound} })
	addr := srv.Main.Addr()
	held := holdConnections(t, addr, bound)
	resp, body := rawExchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	wantAWSError(t, resp, body, http.StatusTooManyRequests, "ThrottlingException")
	var e struct{ ServiceCode, QuotaCode string }
	if err := json.Unmarshal(body, &e); err != nil || e.ServiceCode != "ssm-incidents" || e.QuotaCode != restjson.QuotaConnectionsPerClient {
		t.Fatalf("body %s, want serviceCode ssm-incidents and quotaCode %s", body, restjson.QuotaConnectionsPerClient)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(srv.Endpoint + "/healthz")
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not served after a connection closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range held[1:] {
		c.Close()
	}
}
