// Package console is incidentd's web console, served under /console/ on
// the API listener: sign-in with a console password, the incidents of the
// signed-in user's account, an incident's page with its timeline, notes
// and related items, and the forms that change them. Pages are rendered on
// the server with html/template from assets embedded in the binary; they
// need no JavaScript and load nothing from another host.
//
// Every page and action runs as the signed-in user, an IAM-style principal
// of package iam, through the same service methods as the API: they are
// authorized, write the same timeline events and notifications, and are
// audited alike. A refusal shows AWS's AccessDenied message on the page.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/service"
)

// Path is where the console is served.
const Path = "/console/"

// SessionTTL is how long a session lasts after sign-in.
const SessionTTL = 12 * time.Hour

// Cookie names.
const (
	sessionCookie = "incidentd_session"
	loginCookie   = "incidentd_login" // the CSRF token of the sign-in form
)

//go:embed templates/*.html static/*
var assets embed.FS

// Console serves the web console.
type Console struct {
	svc    *service.Service
	store  domain.Store
	log    *slog.Logger
	now    func() time.Time
	region string
	pages  *template.Template
	mux    *http.ServeMux

	// logins bounds sign-in attempts per client address and per user.
	logins limiters

	// The live streams: how often they read their page, how many run,
	// and their end when the server stops.
	livePoll  time.Duration
	streams   counter
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns the console of svc, its sessions and passwords kept in
// store. now may be nil (time.Now).
func New(svc *service.Service, store domain.Store, log *slog.Logger, region string, now func() time.Time) *Console {
	if now == nil {
		now = time.Now
	}
	c := &Console{svc: svc, store: store, log: log, now: now, region: region, mux: http.NewServeMux(),
		livePoll: time.Second, streams: counter{n: make(chan struct{}, maxStreams)}, closing: make(chan struct{})}
	c.pages = template.Must(template.New("").Funcs(c.funcs()).ParseFS(assets, "templates/*.html"))
	// Five attempts at once, then one a minute, per address and per user.
	c.logins.limit = rate.Every(time.Minute)
	c.logins.burst = 5
	c.routes()
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	c.mux.Handle("GET "+Path+"static/", http.StripPrefix(Path, http.FileServerFS(assets)))
	c.mux.HandleFunc("GET "+Path+"login", c.loginPage)
	c.mux.HandleFunc("POST "+Path+"login", c.login)
	c.mux.Handle("POST "+Path+"logout", c.signedIn(c.logout))
	c.mux.Handle("GET "+Path+"{$}", c.signedIn(c.incidentsPage))
	c.mux.Handle("GET "+Path+"incident", c.signedIn(c.incidentPage))
	c.mux.Handle("POST "+Path+"incident/update", c.signedIn(c.updateIncident))
	c.mux.Handle("POST "+Path+"incident/note", c.signedIn(c.addNote))
	c.mux.Handle("POST "+Path+"incident/event/update", c.signedIn(c.updateEvent))
	c.mux.Handle("POST "+Path+"incident/event/delete", c.signedIn(c.deleteEvent))
	c.mux.Handle("POST "+Path+"incident/item/add", c.signedIn(c.addItem))
	c.mux.Handle("POST "+Path+"incident/item/remove", c.signedIn(c.removeItem))
	c.mux.Handle("GET "+Path+"live", c.signedIn(c.live))
	c.mux.Handle("POST "+Path+"start", c.signedIn(c.startIncident))
	c.planRoutes()
	c.insightRoutes()
	c.mux.Handle(Path, c.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.fail(w, r, s, http.StatusNotFound, "There is no such page.")
	}))
}

// session is a signed-in request's session and identity.
type session struct {
	*domain.ConsoleSession
	caller domain.Caller
}

type sessionKey struct{}

// signedIn serves h to requests of a live session, with the ctx of its
// user as caller; other requests go to the sign-in page. A POST must
// carry the session's CSRF token.
func (c *Console) signedIn(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.fail(w, r, nil, http.StatusInternalServerError, "The session could not be read.")
			c.log.Error("console session", "error", err)
			return
		}
		if s == nil {
			if r.URL.Path == Path+"live" {
				// A live page's script reloads the page on this.
				http.Error(w, "Your session has ended: sign in again.", http.StatusUnauthorized)
				return
			}
			if r.Method != http.MethodGet {
				c.fail(w, r, nil, http.StatusForbidden, "Your session has ended: sign in again.")
				return
			}
			http.Redirect(w, r, Path+"login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.CSRF)) != 1 {
			c.fail(w, r, s, http.StatusForbidden, "The form is not of this session (its CSRF token does not match): reload the page and send it again.")
			return
		}
		h(w, r.WithContext(domain.WithCaller(r.Context(), s.caller)), s)
	})
}

// session returns the live session of r's cookie, or nil.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	cs, err := c.store.ConsoleSession(r.Context(), tokenID(ck.Value))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !c.now().Before(cs.ExpiresTime) {
		return nil, nil
	}
	return &session{ConsoleSession: cs, caller: domain.Caller{Account: cs.Account, Principal: iam.UserPrincipal(cs.Account, cs.User),
		Region: c.region, SourceIP: remoteIP(r), UserAgent: r.UserAgent(), RequestID: uuid.NewString(), SecureTransport: r.TLS != nil}}, nil
}

// tokenID is what the store keeps of a session token: its SHA-256.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cookie is a cookie of the console: HttpOnly, SameSite=Strict, on the
// console's path, and Secure when the request came over TLS or to a
// loopback address (which browsers treat as secure).
func cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Path, Expires: expires, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || isLoopback(r.Host)}
}

func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiters are token buckets by key, made on first use.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// maxLimiters bounds the buckets kept. Past it, the buckets that have
// filled up again, which a new one would equal, are dropped; when none
// has, a new key is refused until one has: a flood of addresses or names
// slows sign-in, and never resets the bucket of a user under attack.
const maxLimiters = 10000

func (l *limiters) allow(now time.Time, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
			for k, b := range l.m {
				if b.TokensAt(now) >= float64(l.burst) {
					delete(l.m, k)
				}
			}
			if len(l.m) >= maxLimiters {
				return false
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	return lim.AllowN(now, 1)
}

// notices are the notices a page shows when the redirect of an action asks
// for one (done=…): only these, so that a link cannot make a page say
// something of its own.
var notices = map[string]bool{
	"Incident started.": true, "Incident updated.": true, "Nothing to change.": true, "Note added.": true,
	"Event changed.": true, "Event deleted.": true, "Related item added.": true, "Related item removed.": true,
	"Response plan created.": true, "Response plan updated.": true, "Response plan deleted.": true,
}

// notice is the notice r asks for, if it is one of notices.
func notice(r *http.Request) string {
	if d := r.URL.Query().Get("done"); notices[d] {
		return d
	}
	return ""
}

// view is what every page template gets.
type view struct {
	Title   string
	Session *session
	CSRF    string
	Error   string // a refusal or failure to show above the page
	Notice  string
	Live    string // the address of the page's live stream, if it has one
	// Page is the address of the page as a GET, which the script fetches
	// for a live page: a page shown for a refused form is at the form's
	// address.
	Page string
	Data any
}

// render writes page with status.
func (c *Console) render(w http.ResponseWriter, status int, page string, v *view) {
	if v.Session != nil {
		v.CSRF = v.Session.CSRF
	}
	var b strings.Builder
	if err := c.pages.ExecuteTemplate(&b, page, v); err != nil {
		c.log.Error("console page", "page", page, "error", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// fail renders a page that says what went wrong.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, status, "error.html", &view{Title: "Error", Session: s, Error: msg})
}

// failWith renders the page of a service error.
func (c *Console) failWith(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := c.errorMessage(err)
	c.fail(w, r, s, status, msg)
}

// errorMessage is what a page says of a service error: the message of a
// typed error (AccessDenied in AWS's words), a fixed one otherwise.
func (c *Console) errorMessage(err error) (int, string) {
	var (
		denied   *domain.AccessDeniedError
		invalid  *domain.ValidationError
		notFound *domain.NotFoundError
		conflict *domain.ConflictError
	)
	switch {
	case errors.As(err, &denied):
		return http.StatusForbidden, denied.Message
	case errors.As(err, &invalid):
		return http.StatusBadRequest, invalid.Message
	case errors.As(err, &notFound):
		return http.StatusNotFound, notFound.Message
	case errors.As(err, &conflict):
		return http.StatusConflict, conflict.Message
	case errors.Is(err, context.Canceled):
		// The browser went away (a page left, a stream closed): no one
		// reads the answer, and it is no fault of the server's.
		return http.StatusServiceUnavailable, "The request was cancelled."
	}
	c.log.Error("console", "error", err)
	return http.StatusInternalServerError, "Something went wrong on the server; it is logged."
}

// loginPage shows the sign-in form, with a fresh CSRF token in a cookie.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomToken()
	http.SetCookie(w, cookie(r, loginCookie, token, c.now().Add(time.Hour)))
	c.render(w, status, "login.html", &view{Title: "Sign in", CSRF: token, Error: msg})
}

// login signs a user in with the account id, user name and console
// password of the form.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.showLogin(w, r, http.StatusForbidden, "The sign-in form had expired: send it again.")
		return
	}
	account, user, password := strings.TrimSpace(r.PostFormValue("account")), strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	if now := c.now(); !c.logins.allow(now, "ip "+remoteIP(r)) || !c.logins.allow(now, "user "+account+" "+user) {
		c.showLogin(w, r, http.StatusTooManyRequests, "Too many sign-in attempts: wait a minute and try again.")
		return
	}
	hash, err := c.store.ConsolePassword(r.Context(), account, user)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		c.log.Error("console sign-in", "error", err)
		c.showLogin(w, r, http.StatusInternalServerError, "The sign-in could not be checked.")
		return
	}
	if err != nil {
		// The same work as for a wrong password: the answer's time does
		// not tell which users exist.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		c.showLogin(w, r, http.StatusUnauthorized, "The account, user name or password is wrong.")
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		c.showLogin(w, r, http.StatusUnauthorized, "The account, user name or password is wrong.")
		return
	}
	token, now := randomToken(), c.now()
	s := &domain.ConsoleSession{ID: tokenID(token), Account: account, User: user, CSRF: randomToken(), CreatedTime: now, ExpiresTime: now.Add(SessionTTL)}
	if err := c.store.CreateConsoleSession(r.Context(), s); err != nil {
		c.log.Error("console sign-in", "error", err)
		c.showLogin(w, r, http.StatusInternalServerError, "The session could not be made.")
		return
	}
	http.SetCookie(w, cookie(r, sessionCookie, token, s.ExpiresTime))
	http.SetCookie(w, cookie(r, loginCookie, "", time.Unix(1, 0)))
	c.log.Info("console sign-in", "principal", iam.UserPrincipal(account, user), "source_ip", remoteIP(r))
	http.Redirect(w, r, Path, http.StatusSeeOther)
}

// dummyHash is compared against when a user has no password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("incidentd: no such user"), bcrypt.DefaultCost)

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.store.DeleteConsoleSession(r.Context(), s.ID); err != nil {
		c.failWith(w, r, s, err)
		return
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", time.Unix(1, 0)))
	http.Redirect(w, r, Path+"login", http.StatusSeeOther)
}

// PurgeSessions deletes expired sessions.
func (c *Console) PurgeSessions(ctx context.Context) (int64, error) {
	return c.store.PurgeConsoleSessions(ctx, c.now())
}
