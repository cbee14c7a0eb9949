package validator

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bearerguard/bearerguard/internal/nilness"
)

// Metrics (names as the Prometheus exporter shows them). Labels are
// bounded: outcome, reason (a sentinel's name) and source; never a token,
// subject or client id.
//
//	bearerguard_decisions_total{outcome="allow|deny|unavailable",reason,source="jwt|introspection"}
//	bearerguard_validation_duration_seconds{outcome,source}
//	bearerguard_token_cache_events_total{event="hit|miss|evict"}
const meterName = "github.com/bearerguard/bearerguard/validator"

// WithMeterProvider records metrics with mp (default: the global provider,
// which is a no-op unless the application set one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if nilness.IsNil(mp) {
			c.errs = append(c.errs, errors.New("WithMeterProvider: nil provider"))
			return
		}
		c.meterProvider = mp
	}
}

// WithTracerProvider records each decision as an event on the request's
// span, when the request has a recording span (default: the global
// provider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if nilness.IsNil(tp) {
			c.errs = append(c.errs, errors.New("WithTracerProvider: nil provider"))
			return
		}
		c.tracerProvider = tp
	}
}

// reasonNames label decisions by the sentinel that decided them.
var reasonNames = map[*Error]string{
	ErrNoToken: "no_token", ErrInvalidRequest: "invalid_request", ErrInvalidToken: "invalid_token",
	ErrInsufficientScope: "insufficient_scope", ErrNoGrant: "no_grant", ErrUnavailable: "unavailable",
	ErrInsufficientUserAuthentication: "insufficient_user_authentication",
	ErrInvalidDPoPProof:               "invalid_dpop_proof", ErrUseDPoPNonce: "use_dpop_nonce",
	ErrMalformedHeader: "malformed_header", ErrMalformedCredentials: "malformed_credentials", ErrMultipleTokens: "multiple_tokens", ErrMethodNotAllowed: "method_not_allowed",
	ErrDPoPNotAccepted: "dpop_not_accepted", ErrTooLarge: "too_large", ErrMalformed: "malformed", ErrUnsupported: "unsupported",
	ErrAlgorithm: "algorithm", ErrType: "type", ErrUnknownKey: "unknown_key", ErrSignature: "signature", ErrIssuer: "issuer",
	ErrAudience: "audience", ErrExpired: "expired", ErrNotYetValid: "not_yet_valid", ErrTooOld: "too_old",
	ErrMissingClaim: "missing_claim", ErrInactive: "inactive", ErrClaimCheck: "claim_check", ErrBoundToken: "bound_token",
	ErrBindingMismatch: "binding_mismatch", ErrBearerNotAllowed: "bearer_not_allowed", ErrUnsupportedBinding: "unsupported_binding",
	ErrProofMissing: "proof_missing", ErrProofMalformed: "proof_malformed", ErrProofSignature: "proof_signature",
	ErrProofMismatch: "proof_mismatch", ErrProofTime: "proof_time", ErrProofReplayed: "proof_replayed",
	ErrKeysUnavailable: "keys_unavailable", ErrIntrospectionUnavailable: "introspection_unavailable",
	ErrReplayUnavailable: "replay_unavailable",
}

// telemetry holds the validator's instruments and the measurement options
// of every label combination, built once, so that recording a decision
// allocates nothing.
type telemetry struct {
	decisions metric.Int64Counter
	duration  metric.Float64Histogram
	cache     metric.Int64Counter
	tracer    trace.Tracer

	allow    [3][]metric.AddOption // by source
	deny     map[*Error]*[3][]metric.AddOption
	other    [3][]metric.AddOption // deny for an unknown reason
	durAllow [3][]metric.RecordOption
	durDeny  [3][]metric.RecordOption
	durUnav  [3][]metric.RecordOption
	hit      []metric.AddOption
	miss     []metric.AddOption
	evict    []metric.AddOption
}

// source indices of the option tables.
const (
	srcNone = iota // the decision came before the token's kind was known
	srcJWT
	srcIntrospection
)

var sourceNames = [3]string{"none", "jwt", "introspection"}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(meterName)
	t := &telemetry{tracer: tp.Tracer(meterName), deny: make(map[*Error]*[3][]metric.AddOption, len(reasonNames))}
	var errs []error
	var err error
	t.decisions, err = m.Int64Counter("bearerguard.decisions", metric.WithDescription("Token decisions, by outcome, reason and source."))
	errs = append(errs, err)
	t.duration, err = m.Float64Histogram("bearerguard.validation.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to decide on a token."),
		metric.WithExplicitBucketBoundaries(1e-6, 5e-6, 25e-6, 1e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5))
	errs = append(errs, err)
	t.cache, err = m.Int64Counter("bearerguard.token_cache.events", metric.WithDescription("Validated-token cache hits, misses and evictions."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for s, src := range sourceNames {
		set := func(outcome, reason string) attribute.Set {
			return attribute.NewSet(attribute.String("outcome", outcome), attribute.String("reason", reason), attribute.String("source", src))
		}
		t.allow[s] = []metric.AddOption{metric.WithAttributeSet(set("allow", "none"))}
		t.other[s] = []metric.AddOption{metric.WithAttributeSet(set("deny", "other"))}
		for e, name := range reasonNames {
			outcome := "deny"
			if c, _ := classOf(e); c == ErrUnavailable {
				outcome = "unavailable"
			}
			if t.deny[e] == nil {
				t.deny[e] = new([3][]metric.AddOption)
			}
			t.deny[e][s] = []metric.AddOption{metric.WithAttributeSet(set(outcome, name))}
		}
		dur := func(outcome string) []metric.RecordOption {
			return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome), attribute.String("source", src)))}
		}
		t.durAllow[s], t.durDeny[s], t.durUnav[s] = dur("allow"), dur("deny"), dur("unavailable")
	}
	ev := func(name string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("event", name)))}
	}
	t.hit, t.miss, t.evict = ev("hit"), ev("miss"), ev("evict")
	return t, nil
}

// start returns the start of a decision, or the zero time when nobody
// records durations (no clock read then).
func (t *telemetry) start(ctx context.Context) time.Time {
	if t.duration.Enabled(ctx) {
		return time.Now()
	}
	return time.Time{}
}

// record counts a decision, its duration when started, and adds it as an
// event to the request's span when that span records.
func (t *telemetry) record(ctx context.Context, start time.Time, source Source, err error) {
	src := int(source) // 0: none, SourceJWT = 1, SourceIntrospection = 2
	if src > srcIntrospection {
		src = srcNone
	}
	var class *Error
	switch {
	case err == nil:
		t.decisions.Add(ctx, 1, t.allow[src]...)
	default:
		var reason *Error
		class, reason = classOf(err)
		if opts := t.deny[reason]; opts != nil {
			t.decisions.Add(ctx, 1, opts[src]...)
		} else {
			t.decisions.Add(ctx, 1, t.other[src]...)
		}
	}
	if !start.IsZero() {
		d := time.Since(start).Seconds()
		switch {
		case err == nil:
			t.duration.Record(ctx, d, t.durAllow[src]...)
		case class == ErrUnavailable:
			t.duration.Record(ctx, d, t.durUnav[src]...)
		default:
			t.duration.Record(ctx, d, t.durDeny[src]...)
		}
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		outcome, reason := "allow", "none"
		if err != nil {
			_, r := classOf(err)
			outcome, reason = "deny", reasonNames[r]
			if class == ErrUnavailable {
				outcome = "unavailable"
			}
		}
		span.AddEvent("bearerguard.decision", trace.WithAttributes(attribute.String("outcome", outcome),
			attribute.String("reason", reason), attribute.String("source", sourceNames[src])))
	}
}

// cacheEvent counts a validated-token cache event.
func (t *telemetry) cacheEvent(ctx context.Context, opts []metric.AddOption) {
	t.cache.Add(ctx, 1, opts...)
}
