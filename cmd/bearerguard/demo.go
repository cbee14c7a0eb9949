package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/resourcemeta"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Scenario is one request of the demo and what came of it.
type Scenario struct {
	Title           string          `json:"title"`
	Method          string          `json:"method"`
	Path            string          `json:"path"`
	Credential      string          `json:"credential"`
	WantStatus      int             `json:"want_status"`
	Status          int             `json:"status"`
	WWWAuthenticate string          `json:"www_authenticate,omitempty"`
	Body            json.RawMessage `json:"body,omitempty"`
	OK              bool            `json:"ok"`
}

// Report is the whole demo run.
type Report struct {
	Issuer string `json:"issuer"`
	API    string `json:"api"`
	// DPoPKey is the RFC 7638 thumbprint of the caller's DPoP key.
	DPoPKey   string     `json:"dpop_jkt"`
	Scenarios []Scenario `json:"scenarios"`
	Passed    int        `json:"passed"`
	Total     int        `json:"total"`
	OK        bool       `json:"ok"`
	Elapsed   string     `json:"elapsed"`
	// Metrics are the bearerguard series the scenarios moved, with
	// --metrics.
	Metrics []Sample `json:"metrics,omitempty"`
}

func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bearerguard demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	metrics := fs.Bool("metrics", false, "then print the OpenTelemetry metrics the scenarios produced, named as Prometheus shows them")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: bearerguard demo [--json] [--metrics]\n\nStarts, all on loopback and in-process, an authorization server, an API protected by\nbearerguard, and a client using the client-credentials grant; then walks through\nwhat the API accepts and refuses. Exits 0 only if every scenario behaved as expected.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rep, err := runDemo(ctx, *metrics)
	if err != nil {
		fmt.Fprintf(stderr, "bearerguard demo: %v\n", err)
		return 2
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printTranscript(stdout, rep)
		if *metrics {
			printMetrics(stdout, rep.Metrics)
		}
	}
	if !rep.OK {
		return 1
	}
	return 0
}

const (
	apiAudience = "orders"
	apiClientID = "orders-api"
	apiSecret   = "orders-api-secret"
)

// runDemo runs the scenarios; withMetrics records the metrics of the
// API's key set, introspection client and validator with an in-memory
// reader, and puts them in the report.
func runDemo(ctx context.Context, withMetrics bool) (Report, error) {
	var rep Report
	start := time.Now()
	var mp metric.MeterProvider // nil: the global one, a no-op
	var reader *sdkmetric.ManualReader
	if withMetrics {
		reader = sdkmetric.NewManualReader()
		sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = sdk.Shutdown(context.Background()) }()
		mp = sdk
	}

	// The authorization server, with three clients: a JWT-issuing caller,
	// an opaque-token caller, and the API itself (for introspection).
	iss, err := bearertest.Start()
	if err != nil {
		return rep, err
	}
	defer iss.Close()
	iss.AddClient(bearertest.ClientConfig{ID: "billing", Secret: "billing-secret", Scopes: []string{"read:data", "write:data"}, Audience: apiAudience})
	iss.AddClient(bearertest.ClientConfig{ID: "reports", Secret: "reports-secret", Scopes: []string{"read:data"}, Audience: apiAudience, Opaque: true})
	iss.AddClient(bearertest.ClientConfig{ID: apiClientID, Secret: apiSecret})

	// The protected API: the same contract as examples/nethttp.
	srv := httptest.NewUnstartedServer(nil) // listening: its URL names the resource
	base := "http://" + srv.Listener.Addr().String()
	api, closeAPI, err := demoAPI(iss, mp, base)
	if err != nil {
		srv.Close()
		return rep, err
	}
	defer closeAPI()
	srv.Config.Handler = api
	srv.Start()
	defer srv.Close()
	rep.Issuer, rep.API = iss.URL, srv.URL

	// The caller: golang.org/x/oauth2's client-credentials flow, client_secret_basic.
	octx := context.WithValue(ctx, oauth2.HTTPClient, iss.Client())
	token := func(id, secret string, scope ...string) (string, error) {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: iss.TokenURL(), Scopes: scope, AuthStyle: oauth2.AuthStyleInHeader}
		t, err := cfg.Token(octx)
		if err != nil {
			return "", fmt.Errorf("client credentials for %s: %w", id, err)
		}
		return t.AccessToken, nil
	}
	readJWT, err := token("billing", "billing-secret", "read:data")
	if err != nil {
		return rep, err
	}
	writeJWT, err := token("billing", "billing-secret", "write:data")
	if err != nil {
		return rep, err
	}
	opaque, err := token("reports", "reports-secret", "read:data")
	if err != nil {
		return rep, err
	}
	expired, err := iss.MintToken(bearertest.Claims{"aud": apiAudience, "scope": "read:data", "sub": "billing", "client_id": "billing"}, bearertest.ExpiresIn(-time.Minute))
	if err != nil {
		return rep, err
	}
	tampered := tamper(readJWT)

	// A DPoP client (RFC 9449): the same grant, with a proof of the
	// client's key on the token request, gives a token bound to that key;
	// each request to the API then carries a fresh proof for it.
	dpopKey, err := bearertest.NewDPoPKey(validator.ES256)
	if err != nil {
		return rep, err
	}
	rep.DPoPKey = dpopKey.Thumbprint()
	dpopJWT, err := dpopToken(ctx, iss, dpopKey, "billing", "billing-secret", "read:data")
	if err != nil {
		return rep, err
	}
	proof, err := dpopKey.Proof(http.MethodGet, srv.URL+"/data", dpopJWT)
	if err != nil {
		return rep, err
	}

	steps := []struct {
		s      Scenario
		header string
		proof  string // the DPoP header, if any
		before func() error
	}{
		{s: Scenario{Title: "An open route needs no token", Method: "GET", Path: "/healthz", Credential: "none", WantStatus: 200}},
		{s: Scenario{Title: "No token at all: a bare challenge", Method: "GET", Path: "/data", Credential: "none", WantStatus: 401}},
		{s: Scenario{Title: "JWT from the client-credentials grant, scope read:data", Method: "GET", Path: "/data", Credential: "JWT (billing, read:data)", WantStatus: 200}, header: "Bearer " + readJWT},
		{s: Scenario{Title: "The same JWT with its signature tampered with", Method: "GET", Path: "/data", Credential: "tampered JWT", WantStatus: 401}, header: "Bearer " + tampered},
		{s: Scenario{Title: "A read:data token cannot write", Method: "POST", Path: "/data", Credential: "JWT (billing, read:data)", WantStatus: 403}, header: "Bearer " + readJWT},
		{s: Scenario{Title: "A write:data token can", Method: "POST", Path: "/data", Credential: "JWT (billing, write:data)", WantStatus: 201}, header: "Bearer " + writeJWT},
		{s: Scenario{Title: "An expired JWT", Method: "GET", Path: "/data", Credential: "expired JWT", WantStatus: 401}, header: "Bearer " + expired},
		{s: Scenario{Title: "A malformed Authorization header", Method: "GET", Path: "/data", Credential: `"Bearer" with no token`, WantStatus: 400}, header: "Bearer"},
		{s: Scenario{Title: "An opaque token, checked by introspection", Method: "GET", Path: "/data", Credential: "opaque (reports, read:data)", WantStatus: 200}, header: "Bearer " + opaque},
		{s: Scenario{Title: "The opaque token after the client revoked it (RFC 7009)", Method: "GET", Path: "/data", Credential: "revoked opaque", WantStatus: 401}, header: "Bearer " + opaque,
			before: func() error { return revoke(ctx, iss, "reports", "reports-secret", opaque) }},
		{s: Scenario{Title: "A DPoP-bound JWT with a proof of its key (RFC 9449)", Method: "GET", Path: "/data", Credential: "DPoP-bound JWT (billing, read:data) + fresh proof", WantStatus: 200},
			header: "DPoP " + dpopJWT, proof: proof},
		{s: Scenario{Title: "The same proof replayed", Method: "GET", Path: "/data", Credential: "DPoP-bound JWT + the same proof again", WantStatus: 401},
			header: "DPoP " + dpopJWT, proof: proof},
		{s: Scenario{Title: "The DPoP-bound JWT sent as a Bearer token", Method: "GET", Path: "/data", Credential: "DPoP-bound JWT as Bearer, no proof", WantStatus: 401},
			header: "Bearer " + dpopJWT},
		{s: Scenario{Title: "A resource that publishes its metadata (RFC 9728): the 401 says where", Method: "GET", Path: "/reports", Credential: "none", WantStatus: 401}},
		{s: Scenario{Title: "The metadata document the challenge points to", Method: "GET", Path: resourcemeta.WellKnownPath + "/reports", Credential: "none", WantStatus: 200}},
	}
	for _, st := range steps {
		if st.before != nil {
			if err := st.before(); err != nil {
				return rep, err
			}
		}
		s, err := call(ctx, srv.URL, st.s, st.header, st.proof)
		if err != nil {
			return rep, err
		}
		rep.Scenarios = append(rep.Scenarios, s)
		if s.OK {
			rep.Passed++
		}
	}
	rep.Total = len(rep.Scenarios)
	rep.OK = rep.Passed == rep.Total
	rep.Elapsed = time.Since(start).Round(time.Millisecond).String()
	if reader != nil {
		if rep.Metrics, err = collect(ctx, reader); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// demoAPI is the protected API: GET /healthz open, GET /data needs
// read:data, POST /data needs write:data. Its metrics go to mp, when not
// nil.
func demoAPI(iss *bearertest.Issuer, mp metric.MeterProvider, base string) (http.Handler, func(), error) {
	kopts := []jwks.Option{jwks.WithHTTPClient(iss.Client())}
	// Revocation-sensitive: no reuse of active introspection answers.
	iopts := []introspect.Option{introspect.WithHTTPClient(iss.Client()), introspect.WithMaxTTL(0)}
	vopts := []validator.Option{validator.WithAudience(apiAudience)}
	if mp != nil {
		kopts = append(kopts, jwks.WithMeterProvider(mp))
		iopts = append(iopts, introspect.WithMeterProvider(mp))
		vopts = append(vopts, validator.WithMeterProvider(mp))
	}
	keys, err := jwks.Discover(iss.URL, kopts...)
	if err != nil {
		return nil, nil, err
	}
	ic, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(apiClientID, apiSecret), iopts...)
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	closeAll := func() { ic.Close(); keys.Close() }
	v, err := validator.New(append(vopts, validator.WithIssuer(iss.URL, keys), validator.WithIntrospection(iss.URL, ic))...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm(apiAudience))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	reply := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := validator.FromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"subject": tok.Subject, "client_id": tok.ClientID, "scopes": tok.Scopes.List(), "via": tok.Source.String()})
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.Handle("GET /data", guard.Require(scopes.All("read:data"), reply(http.StatusOK)))
	mux.Handle("POST /data", guard.Require(scopes.All("write:data"), reply(http.StatusCreated)))

	// A second resource on the same host that publishes its protected
	// resource metadata (RFC 9728) and points to it from every challenge,
	// as MCP servers must.
	md, err := resourcemeta.New(base+"/reports", resourcemeta.WithAuthorizationServers(iss.URL),
		resourcemeta.WithScopes("read:data"), resourcemeta.FromValidator(v), resourcemeta.WithResourceName("Reports"))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	reports, err := httpbearer.New(v, httpbearer.WithRealm("reports"), httpbearer.WithResourceMetadata(md.URL()))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	mux.Handle("GET /reports", reports.Require(scopes.All("read:data"), reply(http.StatusOK)))
	mux.Handle("GET "+md.Path(), md)
	return mux, closeAll, nil
}

func call(ctx context.Context, base string, s Scenario, authorization, proof string) (Scenario, error) {
	req, err := http.NewRequestWithContext(ctx, s.Method, base+s.Path, nil)
	if err != nil {
		return s, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	s.Status = resp.StatusCode
	s.WWWAuthenticate = resp.Header.Get("WWW-Authenticate")
	if json.Valid(body) {
		s.Body = json.RawMessage(strings.TrimSpace(string(body)))
	}
	s.OK = s.Status == s.WantStatus
	return s, nil
}

// dpopToken gets a token bound to key from the issuer's token endpoint:
// the client-credentials grant of golang.org/x/oauth2, its request
// carrying a DPoP proof of key (RFC 9449 §5).
func dpopToken(ctx context.Context, iss *bearertest.Issuer, key *bearertest.DPoPKey, id, secret string, scope ...string) (string, error) {
	client := &http.Client{Transport: dpopTransport{base: iss.Client().Transport, key: key}}
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: iss.TokenURL(), Scopes: scope, AuthStyle: oauth2.AuthStyleInHeader}
	t, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err != nil {
		return "", fmt.Errorf("client credentials with DPoP for %s: %w", id, err)
	}
	if t.Type() != "DPoP" {
		return "", fmt.Errorf("client credentials with DPoP for %s: token_type %q, want DPoP", id, t.TokenType)
	}
	return t.AccessToken, nil
}

// dpopTransport adds a DPoP proof of key, for the request's method and
// URL, to every request.
type dpopTransport struct {
	base http.RoundTripper
	key  *bearertest.DPoPKey
}

func (t dpopTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	proof, err := t.key.Proof(r.Method, r.URL.String(), "")
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("DPoP", proof)
	return t.base.RoundTrip(r)
}

// revoke revokes token at the issuer's RFC 7009 endpoint.
func revoke(ctx context.Context, iss *bearertest.Issuer, id, secret, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iss.RevocationURL(), strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := iss.Client().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation: status %d", resp.StatusCode)
	}
	return nil
}

// tamper flips a character of the signature.
func tamper(jwt string) string {
	i := len(jwt) - 10
	c := byte('A')
	if jwt[i] == 'A' {
		c = 'B'
	}
	return jwt[:i] + string(c) + jwt[i+1:]
}

func printTranscript(w io.Writer, rep Report) {
	fmt.Fprintf(w, "bearerguard demo: the client-credentials flow, all on loopback\n\n")
	fmt.Fprintf(w, "  authorization server  %s  (token, JWKS, introspection, revocation)\n", rep.Issuer)
	fmt.Fprintf(w, "  protected API         %s  (net/http + httpbearer; audience %q)\n", rep.API, apiAudience)
	fmt.Fprintf(w, "  caller                golang.org/x/oauth2/clientcredentials, client_secret_basic\n")
	fmt.Fprintf(w, "  caller's DPoP key     ES256, thumbprint %s (RFC 9449)\n\n", rep.DPoPKey)
	for i, s := range rep.Scenarios {
		mark := "ok"
		if !s.OK {
			mark = fmt.Sprintf("UNEXPECTED (want %d)", s.WantStatus)
		}
		fmt.Fprintf(w, "%2d. %s\n", i+1, s.Title)
		fmt.Fprintf(w, "    %-4s %-8s  token: %s\n", s.Method, s.Path, s.Credential)
		fmt.Fprintf(w, "    → %d %s  [%s]\n", s.Status, http.StatusText(s.Status), mark)
		if s.WWWAuthenticate != "" {
			fmt.Fprintf(w, "      WWW-Authenticate: %s\n", s.WWWAuthenticate)
		}
		if len(s.Body) > 0 && s.Status < 300 {
			fmt.Fprintf(w, "      %s\n", s.Body)
		}
	}
	fmt.Fprintf(w, "\n%d/%d scenarios behaved as expected in %s\n", rep.Passed, rep.Total, rep.Elapsed)
}
