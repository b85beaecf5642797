package app

import (
	"net/http"
	"strings"

	"github.com/incidentd/incidentd/internal/console"
)

// withConsole serves the web console under console.Path beside the API
// handler api, and sends a browser that asks for / to it. Everything else,
// the API's paths and their SigV4 rules, goes to api unchanged.
func withConsole(api http.Handler, c *console.Console) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, console.Path):
			c.ServeHTTP(w, r)
		case r.URL.Path == "/" && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" &&
			strings.Contains(r.Header.Get("Accept"), "text/html"):
			http.Redirect(w, r, console.Path, http.StatusFound)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
