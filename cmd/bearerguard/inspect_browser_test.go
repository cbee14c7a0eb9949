package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bearerguard/bearerguard/bearertest"
)

// updateScreenshot rewrites docs/inspect.png, which README.md shows:
//
//	go test ./cmd/bearerguard -run TestInspectBrowser -screenshot
var updateScreenshot = flag.Bool("screenshot", false, "write the inspect page's screenshot to docs/inspect.png")

// chromiumPath finds a Chromium to drive. Without one the browser test is
// skipped, except in CI (CI=true), where .ci/run installs Debian's
// chromium and its absence is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); set CI=true to make this a failure")
	return ""
}

// browserLog records, from the browser, every request the page makes and
// every console message or exception it causes.
type browserLog struct {
	mu       sync.Mutex
	requests []*network.Request
	messages []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request)
	case *cdplog.EventEntryAdded:
		b.messages = append(b.messages, string(e.Entry.Level)+": "+e.Entry.Text+" "+e.Entry.URL)
	case *runtime.EventExceptionThrown:
		b.messages = append(b.messages, "exception: "+e.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		b.messages = append(b.messages, "console."+string(e.Type))
	}
}

// TestInspectBrowser drives the page in headless Chromium as a person
// would, with the keyboard only: paste a token, submit, read the verdicts.
// It checks that every request the page makes goes to its own origin, that
// the token never appears in a URL, and that the page runs under its CSP
// without a violation or an error.
func TestInspectBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders", "--scope", "read:orders",
		"--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
	}
	// One bound for the whole browser session: whatever hangs (a browser
	// that does not start, a page that does not answer), the test ends and
	// Chromium is stopped.
	bound, cancelBound := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelBound()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bound, opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	var bl browserLog
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, bl.listen); err != nil {
		t.Fatal(err)
	}
	step, cancelStep := context.WithTimeout(ctx, 60*time.Second)
	defer cancelStep()
	if err := chromedp.Do(step, chromedp.Navigate(p.base+p.page), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}

	// Every control has a label, and Tab walks them in order, ending on
	// the Inspect button.
	unlabelled, err := chromedp.Run(step, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input, textarea, select, button")].filter(e => e.tagName !== "BUTTON" ? e.labels.length === 0 : e.innerText.trim() === "").map(e => e.id || e.name || e.tagName)`))
	if err != nil || len(unlabelled) > 0 {
		t.Errorf("controls without a label: %v (%v)", unlabelled, err)
	}
	wantOrder := []string{"token", "method", "url", "dpop_proof", "scopes", "audience", "leeway", "dpop", "rfc9068", "reveal", "submit"}
	var order []string
	if err := chromedp.Do(step, chromedp.Focus(chromedp.ID("token"))); err != nil {
		t.Fatal(err)
	}
	for range wantOrder {
		id, err := chromedp.Run(step, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, id)
		if err := chromedp.Do(step, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
		t.Errorf("Tab order %v, want %v", order, wantOrder)
	}

	good := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:orders", "sub": "alice"})
	wrongAud := iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:orders", "sub": "alice"})
	expired := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:orders"}, bearertest.ExpiresIn(-5*time.Minute))
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:orders", "email": "alice@example.com"})
	tokens := []string{good, wrongAud, expired, opaque}

	type row struct {
		Check, Verdict, Reason string
		Shown                  bool // the verdict is on screen, inside its table
	}
	tests := []struct {
		name     string
		token    string
		decision string
		rows     map[string]string // check id -> the verdict's words as rendered
		text     []string          // also on the page
	}{
		{"valid", good, "✓ VALID", map[string]string{rowSignature: "✓ PASS", rowAudience: "✓ PASS", rowScopes: "✓ PASS", rowNotBefore: "– NOT CHECKED"},
			[]string{"200 OK", "Claims (verified)", "[redacted]"}},
		{"expired", expired, "✗ INVALID", map[string]string{rowExpiry: "✗ FAIL", rowSignature: "✓ PASS"},
			[]string{`error_description="The access token expired"`, "expired 5 min"}},
		{"opaque", opaque, "✓ VALID", map[string]string{rowIntrospection: "✓ PASS", rowAudience: "✓ PASS"},
			[]string{"Introspection answer", "redacted"}},
		// Last: the screenshot shows it.
		{"wrong audience", wrongAud, "✗ INVALID", map[string]string{rowAudience: "✗ FAIL", rowSignature: "✓ PASS", rowExpiry: "✓ PASS"},
			[]string{"401 Unauthorized", `WWW-Authenticate: Bearer realm="orders", error="invalid_token", error_description="The access token is not meant for this resource"`, `meant for "payments", not for this API ("orders")`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			// Keyboard only: the token goes in as a paste would put it, and
			// Enter on the focused Inspect button submits.
			err := chromedp.Do(step,
				chromedp.SetValue(chromedp.ID("token"), tt.token),
				chromedp.SetJavascriptAttribute(chromedp.ID("status"), "textContent", ""),
				chromedp.Focus(chromedp.ID("submit")),
				chromedp.KeyEvent("\r"),
			)
			if err == nil {
				_, err = chromedp.Run(step, chromedp.Poll[bool](`document.getElementById("status").textContent.startsWith("Inspected")`, chromedp.WithPollingTimeout(20*time.Second)))
			}
			if err != nil {
				t.Fatalf("inspecting: %v", err)
			}
			decision, err := chromedp.Run(step, chromedp.Text(chromedp.ID("decision")))
			if err != nil || !strings.HasPrefix(decision, tt.decision) {
				t.Fatalf("decision %q (%v), want %q", decision, err, tt.decision)
			}
			rows, err := chromedp.Run(step, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#checks tbody tr")].map(tr => {
				const t = tr.closest("table").getBoundingClientRect(), v = tr.cells[1].getBoundingClientRect();
				return {Check: tr.dataset.check, Verdict: tr.cells[1].innerText, Reason: tr.cells[2].innerText,
					Shown: v.width > 0 && v.height > 0 && v.left >= t.left && v.right <= t.right && getComputedStyle(tr.cells[1]).visibility === "visible"};
			})`))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rows {
				got[r.Check] = r.Verdict
				if !r.Shown {
					t.Errorf("row %s: the verdict %q is not on screen", r.Check, r.Verdict)
				}
			}
			for id, v := range tt.rows {
				if got[id] != v {
					t.Errorf("row %s: %q, want %q (rows %+v)", id, got[id], v, rows)
				}
			}
			body, err := chromedp.Run(step, chromedp.Text(chromedp.ID("report")))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.text {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, tt.token) || strings.Contains(body, "api-secret") {
				t.Errorf("the rendered report shows the token or the client secret")
			}
			if i == len(tests)-1 {
				shot, err := chromedp.Run(step, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(t.TempDir(), "inspect.png")
				if *updateScreenshot {
					name = filepath.Join("..", "..", "docs", "inspect.png")
				}
				if err := os.WriteFile(name, shot, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("screenshot: %s, %d bytes", name, len(shot))

				// Space on the focused checkbox shows personal data: the page
				// asks again, and the subject appears.
				err = chromedp.Do(step,
					chromedp.SetJavascriptAttribute(chromedp.ID("status"), "textContent", ""),
					chromedp.Focus(chromedp.ID("reveal")),
					chromedp.KeyEvent(" "),
				)
				if err == nil {
					_, err = chromedp.Run(step, chromedp.Poll[bool](`document.getElementById("status").textContent.startsWith("Inspected")`, chromedp.WithPollingTimeout(20*time.Second)))
				}
				if err != nil {
					t.Fatalf("revealing: %v", err)
				}
				claims, err := chromedp.Run(step, chromedp.Text(chromedp.ID("claims")))
				if err != nil || !strings.Contains(claims, `"alice"`) || strings.Contains(claims, "[redacted]") {
					t.Errorf("after Show personal data, claims %q (%v)", claims, err)
				}
			}
		})
	}

	// Nothing kept in the browser: no storage, no cookie, the address as
	// it was loaded.
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[localStorage.length, sessionStorage.length, document.cookie, location.href].join("|")`))
	if want := "0|0||" + p.base + p.page; err != nil || kept != want {
		t.Errorf("storage, cookie, address: %q (%v), want %q", kept, err, want)
	}

	// Every request the page made went to its own origin, none with a
	// token in its URL, and the token went out only in POST bodies to the
	// API.
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if len(bl.requests) < 3+len(tests) {
		t.Errorf("recorded %d requests, want the page, its script and style, and one POST per inspection", len(bl.requests))
	}
	posts := 0
	for _, r := range bl.requests {
		if !strings.HasPrefix(r.URL, p.base+"/") {
			t.Errorf("the page requested %s %s, not its own origin %s", r.Method, r.URL, p.base)
		}
		for _, tok := range tokens {
			if strings.Contains(r.URL+r.URLFragment, tok) {
				t.Errorf("a token in the URL of %s", r.Method)
			}
		}
		if r.Method == "POST" {
			posts++
			if r.URL != p.base+"/api/inspect" {
				t.Errorf("POST to %s", r.URL)
			}
		}
	}
	if posts != len(tests)+1 { // and the reveal
		t.Errorf("%d POST requests, want %d", posts, len(tests))
	}
	for _, m := range bl.messages {
		// A CSP violation, a script error or a console call: the page must
		// run without any.
		t.Errorf("browser message: %s", m)
	}
}
