package jwks_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/jwks"
)

// Finding 92 redacted jwks.Status().URL and gave *introspect.Client and
// *redisstore.Store Format methods, because fmt prints the unexported
// fields of a pointer to struct. *jwks.Set has none: %v, %+v and slog's
// text handler print its jwksURL field whole, query values included (a
// signed JWKS URL's signature, an API key).
func TestSetPrintingHidesURLQuery(t *testing.T) {
	set, err := jwks.New("https://keys.example.com/jwks?sig=JWKS-SIG-s3cr3t", jwks.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("keys", "set", set)
	for name, out := range map[string]string{
		"%v":          fmt.Sprintf("%v", set),
		"%+v":         fmt.Sprintf("%+v", set),
		"slog (text)": buf.String(),
	} {
		if strings.Contains(out, "JWKS-SIG-s3cr3t") {
			t.Errorf("%s of a *jwks.Set shows the URL's query value: …%s…", name, around(out, "JWKS-SIG-s3cr3t"))
		}
	}
	if u := set.Status().URL; strings.Contains(u, "JWKS-SIG-s3cr3t") {
		t.Errorf("Status().URL: %s", u) // the part finding 92 fixed
	}
}

func around(s, sub string) string {
	i := strings.Index(s, sub)
	return s[max(i-60, 0):min(i+len(sub)+10, len(s))]
}
