package restjson

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// minGzipBytes is the size from which a JSON answer is gzip-compressed for a
// client that accepts it; smaller answers gain too little to be worth it.
const minGzipBytes = 1 << 10

// gzipLevel trades a little size for speed: JSON pages still shrink to a
// fraction of their size.
const gzipLevel = gzip.BestSpeed

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzipLevel)
	return w
}}

// buffers holds the buffers of request bodies and compressed answers for
// reuse.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer bounds the buffers kept for reuse, so that a few large
// requests do not pin their memory.
const maxPooledBuffer = 64 << 10

// getBuffer returns an empty buffer; give it back with putBuffer.
func getBuffer() *bytes.Buffer {
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBuffer keeps b for reuse unless it has grown past maxPooledBuffer.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		buffers.Put(b)
	}
}

// writeBody writes a JSON answer with its status, always with
// Content-Length, gzip-compressed when it is large enough and the request
// accepts gzip. Once the status line is out, a failed write (the client went
// away) is only logged: no second answer can follow.
func writeBody(w http.ResponseWriter, r *http.Request, status int, b []byte, log *slog.Logger, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(b) >= minGzipBytes && acceptsGzip(r) {
		buf := getBuffer()
		defer putBuffer(buf)
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(buf)
		zw.Write(b)
		zw.Close()
		gzipWriters.Put(zw)
		b = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		log.Debug("writing the answer", "request_id", requestID, "err", err)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip:
// it names gzip with a weight above 0, or names * so and not gzip.
func acceptsGzip(r *http.Request) bool {
	if r == nil {
		return false
	}
	gzipQ, starQ := -1.0, -1.0 // -1: not named
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			q := 1.0
			if w, ok := strings.CutPrefix(strings.ToLower(strings.ReplaceAll(params, " ", "")), "q="); ok {
				if f, err := strconv.ParseFloat(w, 64); err == nil {
					q = f
				}
			}
			switch {
			case strings.EqualFold(coding, "gzip"):
				gzipQ = q
			case coding == "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
