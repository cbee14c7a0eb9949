package jwks

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/nilness"
)

// Metrics (names as the Prometheus exporter shows them):
//
//	bearerguard_jwks_fetches_total{result="ok|error"} (a failed discovery counts as an error)
//	bearerguard_jwks_keys           usable keys in the current set
//	bearerguard_jwks_age_seconds    time since the last good fetch
//
// and a span for every discovery and JWKS fetch (HTTP client semantic
// conventions; never a token).
const instrumentation = "github.com/bearerguard/bearerguard/jwks"

// WithMeterProvider records metrics with mp (default: the global provider,
// a no-op unless the application set one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(cfg *config) {
		if nilness.IsNil(mp) {
			cfg.errs = append(cfg.errs, errors.New("WithMeterProvider: nil provider"))
			return
		}
		cfg.meterProvider = mp
	}
}

// WithTracerProvider records a span for every discovery and fetch
// (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(cfg *config) {
		if nilness.IsNil(tp) {
			cfg.errs = append(cfg.errs, errors.New("WithTracerProvider: nil provider"))
			return
		}
		cfg.tracerProvider = tp
	}
}

type telemetry struct {
	fetches      metric.Int64Counter
	ok, failed   []metric.AddOption
	tracer       trace.Tracer
	registration metric.Registration
}

// newTelemetry creates the set's instruments; the gauges read s.
func newTelemetry(s *Set) (*telemetry, error) {
	mp, tp := s.cfg.meterProvider, s.cfg.tracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(instrumentation)
	t := &telemetry{tracer: tp.Tracer(instrumentation)}
	var err error
	if t.fetches, err = m.Int64Counter("bearerguard.jwks.fetches", metric.WithDescription("JWKS fetch attempts, by result.")); err != nil {
		return nil, err
	}
	t.ok = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "ok")))}
	t.failed = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "error")))}
	keys, err := m.Int64ObservableGauge("bearerguard.jwks.keys", metric.WithDescription("Usable keys in the current key set."))
	if err != nil {
		return nil, err
	}
	age, err := m.Float64ObservableGauge("bearerguard.jwks.age", metric.WithUnit("s"), metric.WithDescription("Time since the last good JWKS fetch."))
	if err != nil {
		return nil, err
	}
	source := s.issuer // bounded: one series per configured key set
	if source == "" {
		source = httpfetch.Redact(s.jwksURL)
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("source", source)))
	t.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Status()
		o.ObserveInt64(keys, int64(st.Keys), attrs)
		if !st.LastRefresh.IsZero() {
			o.ObserveFloat64(age, s.cfg.clock().Sub(st.LastRefresh).Seconds(), attrs)
		}
		return nil
	}, keys, age)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// span starts a client span for an HTTP GET of url.
func (t *telemetry) span(ctx context.Context, name, url string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.full", httpfetch.Redact(url))))
}

// end ends a span with err's outcome.
func end(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "fetch failed")
		span.SetAttributes(attribute.String("error.type", errorType(err)))
	}
	span.End()
}

func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrIssuerMismatch):
		return "issuer_mismatch"
	case errors.Is(err, errEmptySet):
		return "empty_set"
	}
	return "fetch_error"
}
