package forwardauth

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/bearerguard/bearerguard/forwardauth"

// frontend is the gateway protocol a decision was asked through.
type frontend uint8

const (
	feAPI frontend = iota
	feNginx
	feTraefik
	feEnvoyHTTP
	feEnvoyGRPC
	numFrontends
)

var frontendNames = [numFrontends]string{"api", "nginx", "traefik", "envoy_http", "envoy_grpc"}

func (f frontend) String() string { return frontendNames[f] }

// statuses are the answers a decision can have; anything else counts as
// "other".
var statuses = [...]int{200, 400, 401, 403, 503}

// telemetry records bearerguard.forwardauth.decisions (by frontend and
// status: a small, fixed label set) and the decision duration. The
// validator records its own token metrics.
type telemetry struct {
	decisions metric.Int64Counter
	duration  metric.Float64Histogram
	add       [numFrontends][len(statuses) + 1][]metric.AddOption
	rec       [numFrontends][len(statuses) + 1][]metric.RecordOption
}

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	t := &telemetry{}
	var err1, err2 error
	t.decisions, err1 = m.Int64Counter("bearerguard.forwardauth.decisions",
		metric.WithDescription("Forward-auth decisions, by gateway front end and the status answered (200 allowed)."))
	t.duration, err2 = m.Float64Histogram("bearerguard.forwardauth.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to decide on a forwarded request."),
		metric.WithExplicitBucketBoundaries(1e-6, 5e-6, 25e-6, 1e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	for f := range numFrontends {
		for i := range len(statuses) + 1 {
			status := "other"
			if i < len(statuses) {
				status = itoa(statuses[i])
			}
			set := attribute.NewSet(attribute.String("frontend", f.String()), attribute.String("status", status))
			t.add[f][i] = []metric.AddOption{metric.WithAttributeSet(set)}
			t.rec[f][i] = []metric.RecordOption{metric.WithAttributeSet(set)}
		}
	}
	return t, nil
}

func itoa(n int) string {
	b := []byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}
	return string(b)
}

func (t *telemetry) start(ctx context.Context) time.Time {
	if t.duration.Enabled(ctx) {
		return time.Now()
	}
	return time.Time{}
}

func (t *telemetry) record(ctx context.Context, start time.Time, f frontend, status int) {
	i := len(statuses)
	for j, s := range statuses {
		if s == status {
			i = j
			break
		}
	}
	t.decisions.Add(ctx, 1, t.add[f][i]...)
	if !start.IsZero() {
		t.duration.Record(ctx, time.Since(start).Seconds(), t.rec[f][i]...)
	}
}
