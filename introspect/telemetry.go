package introspect

import (
	"context"
	"errors"
	"time"

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
//	bearerguard_introspection_requests_total{result="active|inactive|error"}
//	bearerguard_introspection_duration_seconds{result}
//	bearerguard_introspection_cache_events_total{event="hit|miss"}
//	bearerguard_introspection_skipped_total{reason="breaker|retry_after"}
//
// The requests include the circuit breaker's probes ([ProbeToken]).
//
// and a client span for every introspection request (never the token).
const instrumentation = "github.com/bearerguard/bearerguard/introspect"

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

// WithTracerProvider records a span for every introspection request and
// discovery (default: the global provider).
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
	requests  metric.Int64Counter
	duration  metric.Float64Histogram
	cache     metric.Int64Counter
	skipped   metric.Int64Counter
	tracer    trace.Tracer
	results   map[string][]metric.AddOption
	durations map[string][]metric.RecordOption
	hit, miss []metric.AddOption
	// answers given without a request, by why: the breaker open, or the
	// endpoint's Retry-After running
	byBreaker, byRetryAfter []metric.AddOption
}

func newTelemetry(cfg config) (*telemetry, error) {
	mp, tp := cfg.meterProvider, cfg.tracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(instrumentation)
	t := &telemetry{tracer: tp.Tracer(instrumentation), results: map[string][]metric.AddOption{}, durations: map[string][]metric.RecordOption{}}
	var errs []error
	var err error
	t.requests, err = m.Int64Counter("bearerguard.introspection.requests", metric.WithDescription("Introspection requests, by result."))
	errs = append(errs, err)
	t.duration, err = m.Float64Histogram("bearerguard.introspection.duration", metric.WithUnit("s"),
		metric.WithDescription("Time of an introspection request."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	errs = append(errs, err)
	t.cache, err = m.Int64Counter("bearerguard.introspection_cache.events", metric.WithDescription("Introspection cache hits and misses."))
	errs = append(errs, err)
	t.skipped, err = m.Int64Counter("bearerguard.introspection.skipped",
		metric.WithDescription("Uncached tokens answered unavailable without a request: the circuit breaker open, or the endpoint's Retry-After running."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, r := range []string{"active", "inactive", "error"} {
		set := attribute.NewSet(attribute.String("result", r))
		t.results[r] = []metric.AddOption{metric.WithAttributeSet(set)}
		t.durations[r] = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	t.hit = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("event", "hit")))}
	t.miss = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("event", "miss")))}
	t.byBreaker = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "breaker")))}
	t.byRetryAfter = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "retry_after")))}
	return t, nil
}

// request records one introspection request's result and duration.
func (t *telemetry) request(ctx context.Context, start time.Time, active bool, err error) {
	r := "active"
	switch {
	case err != nil:
		r = "error"
	case !active:
		r = "inactive"
	}
	t.requests.Add(ctx, 1, t.results[r]...)
	t.duration.Record(ctx, time.Since(start).Seconds(), t.durations[r]...)
}

// span starts a client span for a request to url.
func (t *telemetry) span(ctx context.Context, name, method, url string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("url.full", httpfetch.Redact(url))))
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "introspection failed")
	}
	span.End()
}
