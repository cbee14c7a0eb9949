package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Sample is one series of the demo's metrics, named as OpenTelemetry's
// Prometheus exporter names it (a histogram gives its _count and _sum).
type Sample struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// series is the sample as Prometheus writes it, without the value.
func (s Sample) series() string {
	if len(s.Labels) == 0 {
		return s.Name
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", k, strconv.Quote(s.Labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// collect reads reader's metrics and returns the bearerguard_* series,
// sorted.
func collect(ctx context.Context, reader *sdkmetric.ManualReader) ([]Sample, error) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return nil, fmt.Errorf("collecting metrics: %w", err)
	}
	namer := otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)
	var out []Sample
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(typ otlptranslator.MetricType, suffix string, attrs attribute.Set, v float64) {
				name, err := namer.Build(otlptranslator.Metric{Name: m.Name, Unit: m.Unit, Type: typ})
				if err != nil || !strings.HasPrefix(name, "bearerguard_") {
					return
				}
				labels := make(map[string]string, attrs.Len())
				for _, kv := range attrs.ToSlice() {
					labels[string(kv.Key)] = kv.Value.String()
				}
				out = append(out, Sample{Name: name + suffix, Labels: labels, Value: v})
			}
			counter := func(monotonic bool) otlptranslator.MetricType {
				if monotonic {
					return otlptranslator.MetricTypeMonotonicCounter
				}
				return otlptranslator.MetricTypeNonMonotonicCounter
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(counter(d.IsMonotonic), "", p.Attributes, float64(p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					add(counter(d.IsMonotonic), "", p.Attributes, p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(otlptranslator.MetricTypeGauge, "", p.Attributes, float64(p.Value))
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					add(otlptranslator.MetricTypeGauge, "", p.Attributes, p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(otlptranslator.MetricTypeHistogram, "_count", p.Attributes, float64(p.Count))
					add(otlptranslator.MetricTypeHistogram, "_sum", p.Attributes, p.Sum)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].series() < out[j].series() })
	return out, nil
}

// printMetrics prints samples as a table: series, value.
func printMetrics(w io.Writer, samples []Sample) {
	fmt.Fprintf(w, "\nMetrics the scenarios produced (OpenTelemetry, as its Prometheus exporter names them):\n\n")
	width := 0
	for _, s := range samples {
		width = max(width, len(s.series()))
	}
	for _, s := range samples {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.series(), formatValue(s.Value))
	}
}

// formatValue prints counts as integers and other values to three
// significant digits.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
