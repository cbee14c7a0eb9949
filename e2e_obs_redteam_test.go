package bearerguard_test

// Red team of observability: what request and token content reaches logs,
// metric attributes and spans. Each test pins a finding since fixed
// (SECURITY.md 51-54; the comments say what the code did) or what held.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// series returns every metric data point as "name{k=v,...}".
func series(t *testing.T, r *sdkmetric.ManualReader) map[string]bool {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	add := func(name string, s attribute.Set) {
		var b strings.Builder
		b.WriteString(name + "{")
		for _, kv := range s.ToSlice() {
			fmt.Fprintf(&b, "%s=%q,", kv.Key, kv.Value.String())
		}
		out[b.String()+"}"] = true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes)
				}
			}
		}
	}
	return out
}

func spanText(rec *tracetest.SpanRecorder) string {
	var b strings.Builder
	for _, s := range rec.Ended() {
		fmt.Fprintf(&b, "span %q", s.Name())
		for _, a := range s.Attributes() {
			fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		}
		for _, e := range s.Events() {
			fmt.Fprintf(&b, " event %q", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
			}
		}
		fmt.Fprintf(&b, " status=%q\n", s.Status().Description)
	}
	return b.String()
}

// Every failed introspection request was logged at Warn, with no
// rate limit: an unauthenticated caller sending made-up opaque tokens while
// the authorization server fails (or rate-limits this flood) writes one
// Warn line per request, at the default production level. redisstore's
// outage log, by contrast, is once per outage and at most once a minute.
func TestRedteamObsIntrospectionFailureLogFlood(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	logger, buf := captureLogs()
	warnOnly := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn})) // production level
	_ = logger
	ic, err := introspect.New(srv.URL+"/introspect", introspect.ClientSecretBasic("rs", "rs-secret"),
		introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(warnOnly))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(validator.WithIntrospection("https://as.example.com", ic), validator.WithAudience(audience),
		validator.WithLogger(warnOnly))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	h := g.Require(scopes.Any(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	const n = 300
	for i := range n {
		req := httptest.NewRequest("GET", "/orders", nil)
		req.Header.Set("Authorization", fmt.Sprintf("Bearer made-up-token-%06d", i))
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		if rr.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rr.Code)
		}
	}
	lines := strings.Count(buf.String(), "\n")
	t.Logf("%d unauthenticated requests -> %d log lines, %d bytes at Warn; first: %s", n, lines, len(buf.String()), strings.SplitN(buf.String(), "\n", 2)[0])
	if lines > 5 {
		t.Errorf("%d unauthenticated requests wrote %d Warn lines: introspection failures are logged per request, not per outage", n, lines)
	}
}

// The JWKS URL (and the introspection endpoint) were put whole into
// span attributes (url.full), log attributes (jwks_url), error strings (Go's
// *url.Error) and, for a key set configured by URL, the "source" label of
// bearerguard_jwks_keys on /metrics. A URL's userinfo is refused, but its
// query is not: a signed URL (Azure SAS "sig", S3 "X-Amz-Signature",
// GCS "X-Goog-Signature") leaks. OTel semconv asks url.full to redact
// those query values.
func TestRedteamObsJWKSURLQuerySecret(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	const secret = "SAS-SIGNATURE-SECRET"
	logger, buf := captureLogs()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	// Good fetch: spans and metrics.
	set, err := jwks.New(iss.JWKSURL()+"?sv=2022-11-02&sig="+secret, jwks.WithHTTPClient(iss.Client()),
		jwks.WithLogger(logger), jwks.WithTracerProvider(tp), jwks.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := set.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// Failing fetch: logs and errors.
	bad, err := jwks.New("https://127.0.0.1:1/jwks?sig="+secret, jwks.WithLogger(logger), jwks.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	werr := bad.WaitReady(ctx2)
	if werr != nil {
		buf.add("error: " + werr.Error())
	}
	if st := bad.Status(); st.LastError != nil {
		buf.add("status: " + st.LastError.Error())
	}
	where := map[string]string{"log/error": buf.String(), "span": spanText(rec)}
	var m strings.Builder
	for s := range series(t, reader) {
		m.WriteString(s + "\n")
	}
	where["metric"] = m.String()
	for k, s := range where {
		if strings.Contains(s, secret) {
			t.Errorf("%s carries the URL's signature:\n%s", k, s)
		}
	}
}

// Same for the introspection endpoint: url.full on the client span, the
// endpoint on the Warn line.
func TestRedteamObsIntrospectionURLQuerySecret(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "rs", Secret: "rs-secret"})
	const secret = "SAS-SIGNATURE-SECRET"
	logger, buf := captureLogs()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ic, err := introspect.New(iss.IntrospectionURL()+"?sig="+secret, introspect.ClientSecretBasic("rs", "rs-secret"),
		introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(logger), introspect.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	_, _ = ic.Introspect(context.Background(), iss.Opaque(t, bearertest.Claims{"aud": audience}))
	if s := spanText(rec); strings.Contains(s, secret) {
		t.Errorf("introspection span carries the endpoint's query secret:\n%s", s)
	}
	_ = buf
}

// Held: no request- or token-derived value becomes a metric attribute, a
// span name, or a log field, across a flood of hostile tokens and requests
// through httpbearer and forwardauth.
func TestRedteamObsCardinalityAndInjection(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	logger, buf := captureLogs()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	v := newStack(t, iss, validator.WithLogger(logger), validator.WithMeterProvider(mp), validator.WithTracerProvider(tp))
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := forwardauth.ParseRules([]byte("routes:\n  - path: /healthz\n    open: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rules, forwardauth.WithLogger(logger), forwardauth.WithMeterProvider(mp),
		forwardauth.WithTrustedProxies("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	traefik := d.TraefikHandler()
	api := g.Require(scopes.Any(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tracer := tp.Tracer("app")
	const marker = "INJ\n\x1b[31mlevel=ERROR msg=\"forged\""
	for i := range 200 {
		tok := iss.Mint(t, bearertest.Claims{"sub": fmt.Sprintf("%s-%d", marker, i), "scope": fmt.Sprintf("s%d", i),
			"iss": fmt.Sprintf("https://evil%d.example/%s", i%3, marker)}, bearertest.WithKeyID(fmt.Sprintf("kid-%d-%s", i, marker)),
			bearertest.WithHeader("typ", fmt.Sprintf("typ-%d", i)))
		if i%2 == 0 {
			tok = iss.Mint(t, bearertest.Claims{"sub": fmt.Sprintf("%s-%d", marker, i), "aud": audience})
		}
		method := fmt.Sprintf("FOO%d", i)
		path := fmt.Sprintf("/orders/%d/%s", i, marker)
		req := httptest.NewRequest("GET", "/auth", nil)
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", fmt.Sprintf("/orders/%d", i))
		req.Header.Set("X-Forwarded-Host", fmt.Sprintf("h%d.example", i))
		req.Header.Set("Authorization", "Bearer "+tok)
		traefik.ServeHTTP(httptest.NewRecorder(), req)

		ctx, span := tracer.Start(context.Background(), "req")
		r2 := httptest.NewRequestWithContext(ctx, "GET", "/x", nil)
		r2.URL.Path = path
		r2.Header.Set("Authorization", "Bearer "+tok)
		r2.Header.Set("Host", fmt.Sprintf("h%d.example", i))
		api.ServeHTTP(httptest.NewRecorder(), r2)
		span.End()
	}
	s := series(t, reader)
	t.Logf("%d series after 400 hostile requests", len(s))
	if len(s) > 20 {
		t.Errorf("%d series: unbounded labels", len(s))
	}
	for k := range s {
		if strings.Contains(k, "INJ") || strings.Contains(k, "evil") || strings.Contains(k, "FOO") || strings.Contains(k, "orders") {
			t.Errorf("request content in a series: %s", k)
		}
	}
	all := buf.String() + spanText(rec)
	for _, bad := range []string{"INJ", "\x1b", "evil", "kid-", "FOO", "forged"} {
		if strings.Contains(all, bad) {
			t.Errorf("%q reached logs or spans", bad)
		}
	}
	if bytes.Count([]byte(buf.String()), []byte("\n")) == 0 {
		t.Errorf("expected Debug rejection lines")
	}
}

// A validated Token logged by the application (slog.Any, or
// fmt's %+v) prints its unexported fields, among them the JWT's whole
// payload segment (a cache hit keeps it encoded). The payload is not a
// credential (no signature), but TestNoSecretsLeak's leakParts counts any
// 24+ character segment as secret material, and it is all of the token's
// claims (PII included), not the fields the app chose.
func TestRedteamObsTokenLogValue(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v := newStack(t, iss)
	good := iss.Mint(t, bearertest.Claims{"aud": audience, "email": "alice@example.com"})
	var tok *validator.Token
	for range 3 { // second sighting admits, third hits
		var err error
		if tok, err = v.Validate(context.Background(), good); err != nil {
			t.Fatal(err)
		}
	}
	logger, buf := captureLogs()
	logger.Info("request", "token", tok)
	logger.Info("request", "token", *tok)
	fmt.Fprintf(buf, "%v %+v %#v %s\n", tok, *tok, tok, tok)
	payload := strings.Split(good, ".")[1]
	if out := buf.String(); strings.Contains(out, payload) || strings.Contains(out, "alice@example.com") {
		t.Errorf("a logged Token prints the JWT's payload segment or undecoded claims:\n%s", out)
	}
	// A context carrying the token prints its type, not whom it names
	// (finding 23): Token is not a fmt.Stringer.
	if printed := fmt.Sprint(validator.NewContext(context.Background(), tok)); strings.Contains(printed, tok.Subject) {
		t.Errorf("a context carrying a token prints it: %s", printed)
	}
}
