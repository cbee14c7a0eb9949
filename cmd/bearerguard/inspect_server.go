package main

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// The page's assets, built into the binary: nothing is loaded from
// anywhere else.
//
//go:embed inspect/index.html inspect/inspect.js inspect/inspect.css
var inspectAssets embed.FS

var inspectPage = template.Must(template.ParseFS(inspectAssets, "inspect/index.html"))

// Limits of the page's API.
const (
	// maxInspectBody bounds a request to the API: a token (at most
	// validator.DefaultMaxTokenSize), a proof (validator.MaxProofSize) and
	// the settings fit with room to spare.
	maxInspectBody = 64 << 10
	// maxConcurrentInspections bounds the inspections running at once (each
	// may fetch keys or introspect); more wait for a slot.
	maxConcurrentInspections = 4
)

// csrfHeader carries the anti-CSRF token on every API request.
const csrfHeader = "X-Bearerguard-CSRF"

// contentSecurityPolicy lets the page load its own script and style and
// talk to its own origin, nothing else: no inline script or style, no
// frames, no plugins, no form posts elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// inspectServer serves the page and its API. It holds no token: every
// inspection builds what it needs (key set, introspection client,
// validators) and closes it when done.
type inspectServer struct {
	flags  *validateFlags
	client *http.Client // nil: defaultClient
	// defaultClient is the libraries' own kind of client (timeouts, the
	// URL policy on redirects), shared by inspections for its connections.
	defaultClient *http.Client
	host          string // the Host requests must name: the bound address
	allowRemote   bool
	csrf          string // per process, random
	// key opens the page: it is in the URL the command prints, so that
	// another user of this machine, who can reach loopback too, cannot
	// use the page (and through it the introspection credentials).
	key   string
	slots chan struct{}
}

// newInspectServer returns the server for the address bound (host:port).
func newInspectServer(f *validateFlags, client *http.Client, bound string, allowRemote bool) (*inspectServer, error) {
	var b, k [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k[:]); err != nil {
		return nil, err
	}
	return &inspectServer{
		flags:         f,
		client:        client,
		defaultClient: httpfetch.NewClient(f.insecure),
		host:          bound,
		allowRemote:   allowRemote,
		csrf:          base64.RawURLEncoding.EncodeToString(b[:]),
		key:           base64.RawURLEncoding.EncodeToString(k[:]),
		slots:         make(chan struct{}, maxConcurrentInspections),
	}, nil
}

// url is the page's address.
func (s *inspectServer) url() string { return "http://" + s.host + "/?key=" + s.key }

// ServeHTTP checks the Host of every request, sets the security headers
// on every answer, and routes.
func (s *inspectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), clipboard-read=()")
	if !s.hostAllowed(r.Host) {
		// DNS rebinding: a page of another site, under a name that now
		// resolves to this address, is refused before anything is served.
		httpError(w, http.StatusMisdirectedRequest, "this server answers only to "+s.host)
		return
	}
	switch r.URL.Path {
	case "/":
		s.page(w, r)
	case "/inspect.js", "/inspect.css":
		s.asset(w, r)
	case "/api/inspect":
		s.inspect(w, r)
	case "/favicon.ico": // asked for by browsers: nothing to show
		w.WriteHeader(http.StatusNoContent)
	default:
		httpError(w, http.StatusNotFound, "not found")
	}
}

// hostAllowed reports whether a request's Host names this server: exactly
// the bound address, or with --allow-remote an IP literal with the bound
// port (never a name, which another site could make resolve here).
func (s *inspectServer) hostAllowed(host string) bool {
	if host == s.host {
		return true
	}
	if h, port, err := net.SplitHostPort(s.host); err == nil && port == "80" && (host == h || host == "["+h+"]") {
		return true // browsers leave out the default port
	}
	if !s.allowRemote {
		return false
	}
	h, port, err := net.SplitHostPort(host)
	_, boundPort, _ := net.SplitHostPort(s.host)
	return err == nil && port == boundPort && net.ParseIP(h) != nil
}

func (s *inspectServer) page(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if keys := r.URL.Query()["key"]; len(keys) != 1 || subtle.ConstantTimeCompare([]byte(keys[0]), []byte(s.key)) != 1 {
		httpError(w, http.StatusForbidden, "open the address bearerguard inspect printed, with its key")
		return
	}
	var buf bytes.Buffer
	if err := inspectPage.Execute(&buf, s.pageData()); err != nil {
		httpError(w, http.StatusInternalServerError, "the page could not be rendered")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(buf.Bytes())
	}
}

// pageData is what the page shows of the configuration: never a secret.
type pageData struct {
	CSRF                         string
	Provider                     string // --provider: the preset names issuers, keys and audiences
	Issuer, JWKSURL, Introspect  string
	ClientID                     string
	HasSecret, HasNonceKey, Cert bool
	Audience, Leeway, Scope      string
	RFC9068                      bool
	DPoP                         string
	Modes                        []string
}

func (s *inspectServer) pageData() pageData {
	f := s.flags
	return pageData{
		CSRF: s.csrf, Provider: f.provider.name, Issuer: f.issuer, JWKSURL: httpfetch.Redact(f.jwksURL), Introspect: httpfetch.Redact(f.introURL), ClientID: f.clientID,
		HasSecret: f.clientSecret != "", HasNonceKey: f.nonce != nil, Cert: f.cert != nil,
		Audience: f.audience, Leeway: f.leeway.String(), Scope: f.scope, RFC9068: f.rfc9068,
		DPoP: f.mode.String(), Modes: []string{"off", "allowed", "required"},
	}
}

func (s *inspectServer) asset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	b, err := inspectAssets.ReadFile("inspect/" + name)
	if err != nil {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	ct := "text/css; charset=utf-8"
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

// Refusals of the API, before anything is read or fetched.
var (
	errCSRF        = errors.New("missing or wrong anti-CSRF token: reload the page")
	errCrossOrigin = errors.New("cross-origin requests are refused")
)

// checkRequest admits only the page's own requests: POST, JSON, from this
// origin, with the process's anti-CSRF token (compared in constant time).
// It returns the status and message of a refusal, or 0.
func (s *inspectServer) checkRequest(r *http.Request) (int, string) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "method not allowed"
	}
	// The page's fetch always sends Origin with a POST; a request from
	// another origin, or one that hides where it comes from, is refused.
	if r.Header.Get("Origin") != "http://"+r.Host || len(r.Header.Values("Origin")) != 1 {
		return http.StatusForbidden, errCrossOrigin.Error()
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return http.StatusForbidden, errCrossOrigin.Error()
	}
	got := r.Header.Get(csrfHeader)
	if len(r.Header.Values(csrfHeader)) != 1 || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
		return http.StatusForbidden, errCSRF.Error()
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "the body must be application/json"
	}
	return 0, ""
}

func (s *inspectServer) inspect(w http.ResponseWriter, r *http.Request) {
	if status, msg := s.checkRequest(r); status != 0 {
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "POST")
		}
		httpError(w, status, msg)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInspectBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			httpError(w, http.StatusRequestEntityTooLarge, "the request is larger than "+strconv.Itoa(maxInspectBody)+" bytes")
			return
		}
		httpError(w, http.StatusBadRequest, "the request body could not be read")
		return
	}
	req, problems := parseInspectRequest(body, s.flags.provider.name != "")
	if len(problems) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"problems": problems})
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-r.Context().Done():
		return
	}
	rep := s.run(r.Context(), req)
	writeJSON(w, http.StatusOK, rep)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "the answer could not be encoded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// httpError answers with a JSON error whose text is fixed by the server:
// never anything the request sent.
func httpError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}
