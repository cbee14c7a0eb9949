package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/exampletest"
	"github.com/bearerguard/bearerguard/examples/gin/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

func TestContract(t *testing.T) { exampletest.Run(t, api.New) }

func TestResourceMetadata(t *testing.T) { exampletest.Metadata(t, api.New) }

func TestIntrospectionOnly(t *testing.T) { exampletest.IntrospectionOnly(t, api.New) }

// A handler that panics is answered 500 and logged by method and path:
// the request line, whose query holds the token with --allow-query-token,
// is written nowhere (gin.Recovery would write it to gin.DefaultErrorWriter).
func TestPanicLogsNoQuery(t *testing.T) {
	var logs bytes.Buffer
	prevLog, prevErr := slog.Default(), gin.DefaultErrorWriter
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	gin.DefaultErrorWriter = &logs
	t.Cleanup(func() { slog.SetDefault(prevLog); gin.DefaultErrorWriter = prevErr })

	iss := bearertest.NewIssuer(t)
	h, closeFn, err := api.New(setup.Config{Issuer: iss.URL, Audience: "orders", AllowQueryToken: true}, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	h.(*gin.Engine).GET("/panics", func(*gin.Context) { panic("handler bug") })
	const secret = "c2VjcmV0LXRva2VuLWluLXRoZS1xdWVyeQ"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panics?access_token="+secret, nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("panicking handler: %d, want 500", rec.Code)
	}
	if out := logs.String(); strings.Contains(out, secret) || !strings.Contains(out, "handler panicked") || !strings.Contains(out, "path=/panics") {
		t.Errorf("log of a panic: %s\nwant method and path, never the query", out)
	}
}
