package jwks_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bearerguard/bearerguard/jwks"
)

func TestWaitReady(t *testing.T) {
	loadKeys()
	t.Run("loads", func(t *testing.T) {
		srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
		set := newSet(t, srv)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := set.WaitReady(ctx); err != nil || !set.Ready() {
			t.Fatalf("WaitReady = %v, Ready = %v", err, set.Ready())
		}
	})
	t.Run("issuer mismatch is a configuration error, at once", func(t *testing.T) {
		srv := issuerServer(t, "/.well-known/openid-configuration", "", func(base string) string { return base + "/" }, nil)
		set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err = set.WaitReady(ctx)
		if !errors.Is(err, jwks.ErrIssuerMismatch) || time.Since(start) > 4*time.Second {
			t.Fatalf("WaitReady = %v after %v, want ErrIssuerMismatch at once", err, time.Since(start))
		}
	})
	t.Run("unreachable, then up", func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		srv := issuerServer(t, "/.well-known/openid-configuration", "", same, &failing)
		set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := set.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last error") || set.Ready() {
			t.Fatalf("WaitReady while down = %v", err)
		}
		failing.Store(false)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- set.WaitReady(ctx)
		}()
		if err := set.Refresh(t.Context()); err != nil {
			t.Fatalf("Refresh after recovery: %v", err)
		}
		if err := <-done; err != nil || !set.Ready() {
			t.Fatalf("WaitReady after recovery = %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		srv := issuerServer(t, "/.well-known/openid-configuration", "", same, &failing)
		set, _ := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
		done := make(chan error, 1)
		go func() { done <- set.WaitReady(context.Background()) }()
		set.Close()
		if err := <-done; !errors.Is(err, jwks.ErrClosed) {
			t.Fatalf("WaitReady after Close = %v", err)
		}
	})
}

func TestMetricsAndSpans(t *testing.T) {
	loadKeys()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil)))
	set := newSet(t, srv, jwks.WithMeterProvider(mp), jwks.WithTracerProvider(tp))
	if err := set.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.set(500, nil, nil)
	_ = set.Refresh(t.Context())

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					v, _ := p.Attributes.Value("result")
					got[m.Name+"/"+v.AsString()] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				got[m.Name] = float64(d.DataPoints[0].Value)
			case metricdata.Gauge[float64]:
				got[m.Name] = d.DataPoints[0].Value
			}
		}
	}
	if got["bearerguard.jwks.fetches/ok"] != 1 || got["bearerguard.jwks.fetches/error"] != 1 || got["bearerguard.jwks.keys"] != 2 || got["bearerguard.jwks.age"] < 0 {
		t.Errorf("metrics %v", got)
	}
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "jwks.fetch" || spans[1].Status().Code != codes.Error {
		t.Fatalf("spans %v", spans)
	}
	for _, a := range spans[0].Attributes() {
		if a.Key == "url.full" && !strings.HasSuffix(a.Value.AsString(), "/jwks") {
			t.Errorf("url.full = %s", a.Value.AsString())
		}
	}
}
