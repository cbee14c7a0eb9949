package introspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
)

func TestWaitReady(t *testing.T) {
	iss := newIssuer(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Ready() {
		t.Fatal("ready before discovery")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil || !c.Ready() {
		t.Fatalf("WaitReady = %v", err)
	}

	// A discovery document naming another issuer: a configuration error at once.
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/other", "introspection_endpoint": srv.URL + "/introspect"})
	}))
	defer srv.Close()
	bad, err := introspect.Discover(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.WaitReady(ctx); !errors.Is(err, introspect.ErrIssuerMismatch) {
		t.Fatalf("WaitReady with a mismatched issuer = %v", err)
	}
	bad.Close()
	if err := bad.WaitReady(ctx); !errors.Is(err, introspect.ErrClosed) {
		t.Fatalf("WaitReady after Close = %v", err)
	}
}

func TestIntrospectionMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	iss := newIssuer(t)
	c := newClient(t, iss, introspect.WithMeterProvider(mp))
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience})
	for range 2 {
		if _, err := c.Introspect(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = c.Introspect(t.Context(), "never-issued")
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					for _, a := range p.Attributes.ToSlice() {
						got[m.Name+"/"+a.Value.AsString()] = p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					for _, a := range p.Attributes.ToSlice() {
						got[m.Name+"/"+a.Value.AsString()] = int64(p.Count)
					}
				}
			}
		}
	}
	want := map[string]int64{
		"bearerguard.introspection.requests/active": 1, "bearerguard.introspection.requests/inactive": 1,
		"bearerguard.introspection.duration/active": 1, "bearerguard.introspection_cache.events/hit": 1,
		"bearerguard.introspection_cache.events/miss": 2,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
