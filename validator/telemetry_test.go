package validator_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

// series returns every data point of the int64 sums as "name{labels}" →
// value.
func series(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(attribute.DefaultEncoder())+"}"] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(attribute.DefaultEncoder())+"}"] = int64(p.Count)
				}
			}
		}
	}
	return out
}

type failingKeys struct{}

func (failingKeys) Key(context.Context, string, validator.Algorithm) (*validator.Key, error) {
	return nil, &validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: errors.New("down")}
}

func TestDecisionMetrics(t *testing.T) {
	loadKeys(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	v := newValidator(t, validator.WithMeterProvider(mp), validator.WithTokenCache(16, 5*time.Minute))
	down, err := validator.New(validator.WithIssuer(testIssuer, failingKeys{}), validator.WithAudience(testAud),
		validator.WithClock(func() time.Time { return testNow }), validator.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	good := rs256(baseClaims(nil))
	for range 3 { // miss (first sighting), miss (admitted), hit
		if _, err := v.Validate(ctx, good); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = v.Validate(ctx, rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 3600})))
	_, _ = v.Validate(ctx, good[:len(good)-4]+"AAAA")
	_, _ = v.Validate(ctx, "")
	_, _ = down.Validate(ctx, good)

	got := series(t, reader)
	want := map[string]int64{
		"bearerguard.decisions" + `{outcome=allow,reason=none,source=jwt}`:                   3,
		"bearerguard.decisions" + `{outcome=deny,reason=expired,source=jwt}`:                 1,
		"bearerguard.decisions" + `{outcome=deny,reason=signature,source=jwt}`:               1,
		"bearerguard.decisions" + `{outcome=deny,reason=no_token,source=none}`:               1,
		"bearerguard.decisions" + `{outcome=unavailable,reason=keys_unavailable,source=jwt}`: 1,
		"bearerguard.token_cache.events" + `{event=hit}`:                                     1,
		"bearerguard.token_cache.events" + `{event=miss}`:                                    5,
		"bearerguard.validation.duration" + `{outcome=allow,source=jwt}`:                     3,
		"bearerguard.validation.duration" + `{outcome=deny,source=jwt}`:                      2,
		"bearerguard.validation.duration" + `{outcome=deny,source=none}`:                     1,
		"bearerguard.validation.duration" + `{outcome=unavailable,source=jwt}`:               1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s = %d, want %d", k, got[k], n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %d", k, got[k])
		}
	}

	// Cardinality: 10,000 distinct bad tokens add no series.
	before := len(series(t, reader))
	for i := range 10_000 {
		bad := jwstest.Token(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer, "jti": fmt.Sprint(i), "aud": fmt.Sprint("api-", i)}),
			jwstest.HS(hmacSecret, crypto.SHA256))
		_, _ = v.Validate(ctx, bad)
	}
	if after := len(series(t, reader)); after != before+1 { // the deny/audience counter
		t.Errorf("%d series after 10,000 bad tokens, %d before", after, before)
	}

	// Evictions: a full cache evicts.
	small := newValidator(t, validator.WithMeterProvider(mp), validator.WithTokenCache(1, 5*time.Minute))
	for i := range 64 { // 16 shards of one entry each
		tok := jwstest.Token(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer, "jti": fmt.Sprint("e", i)}), jwstest.HS(hmacSecret, crypto.SHA256))
		for range 2 {
			if _, err := small.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := series(t, reader)["bearerguard.token_cache.events"+`{event=evict}`]; n < 1 {
		t.Errorf("evictions = %d", n)
	}
}

func TestDecisionSpanEvent(t *testing.T) {
	loadKeys(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	v := newValidator(t, validator.WithTracerProvider(tp))
	ctx, span := tp.Tracer("test").Start(t.Context(), "request")
	_, _ = v.Validate(ctx, rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 3600})))
	span.End()
	ended := rec.Ended()
	if len(ended) != 1 || len(ended[0].Events()) != 1 {
		t.Fatalf("spans %v", ended)
	}
	ev := ended[0].Events()[0]
	attrs := map[string]string{}
	for _, a := range ev.Attributes {
		attrs[string(a.Key)] = a.Value.AsString()
	}
	if ev.Name != "bearerguard.decision" || attrs["outcome"] != "deny" || attrs["reason"] != "expired" || attrs["source"] != "jwt" {
		t.Errorf("event %s %v", ev.Name, attrs)
	}
	for _, a := range ev.Attributes {
		if len(a.Value.AsString()) > 40 {
			t.Errorf("attribute %s looks like token material", a.Key)
		}
	}
}
